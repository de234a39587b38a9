"""Per-jurisdiction policy: clustering, verification, expiry and abuse settings, with defaults.

`config/jurisdictions.yaml` may set any of these under a jurisdiction's `policy:`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol


class HasPolicy(Protocol):
    """What a policy is read from: a jurisdiction (its `policy:` mapping from the config)."""

    policy: dict[str, Any] | None


@dataclass(frozen=True)
class Policy:
    """The effective policy of one jurisdiction (or of the out-of-area queue)."""

    cluster_radius_m: int = 800
    cluster_window_min: int = 120
    verifiers_per_round: int = 1
    verify_deadline_min: int = 10
    max_verifiers: int = 4
    false_alarm_after_no: int = 2  # this many verifiers' NO make a false alarm (one: contested)
    unconfirmed_after_min: int = 90
    # auto-verification is off unless configured
    auto_verify_reporters: int = 0  # N independent reporters in the window verify it
    auto_verify_trusted_verifier: bool = False  # a trusted verifier's own report verifies it
    rate_limit_messages: int = 8  # per reporter ...
    rate_limit_minutes: int = 10  # ... in this many minutes
    flood_new_numbers: int = 8  # this many first-time numbers ...
    flood_minutes: int = 10  # ... in this many minutes flags the jurisdiction's new incidents
    follow_up_window_min: int = 30
    broadcast_radius_m: int = 1500  # community alerts reach subscribers' areas this close
    broadcast_approvals: int = 1  # dispatchers who approve an alert before it is sent

    @classmethod
    def of(cls, jurisdiction: HasPolicy | None) -> Policy:
        """Defaults overlaid with the jurisdiction's configured policy."""
        configured: dict[str, Any] = dict(jurisdiction.policy or {}) if jurisdiction else {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in configured.items() if k in known})
