"""Refusals a person reads: an English template and its values, kept apart so that the place
that shows the refusal can put it in its reader's language.

The domain (incidents, accounts, schedules, the conversation) refuses in English: `str(refusal)`
is the English text the API, the CLI and the logs give. The dashboard looks the template up in
its message catalogue and fills in the same values (`hotline.dashboard.i18n.refused`).
`scripts/translations.sh` extracts every template written as a literal first argument of a
`Refusal` subclass, or marked with `words(...)`."""

from __future__ import annotations


def words(template: str) -> str:
    """Marks an English text for the dashboard's catalogues and returns it unchanged (for texts
    the domain returns rather than raises, such as why a reporter cannot be texted)."""
    return template


class Refusal(ValueError):
    """A refusal with a translatable template: `Refusal("into: no incident %(code)s",
    code="7Q4K")`; `str()` is the English text with the values filled in."""

    def __init__(self, template: str, /, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(template % params if params else template)
