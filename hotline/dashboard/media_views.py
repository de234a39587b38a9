"""Media kept as evidence, served through Hotline (never linked at Twilio): what people look
at (a photo's copy without EXIF, the audio or video as received), a photo's thumbnail, and the
evidence bytes as received for admins, with their SHA-256 for the chain of custody.

Only those who may read report texts, and whose scope holds the report, see them; to anyone
else a media item does not exist (404). Every view is audited."""

from __future__ import annotations

import hashlib
import logging

from flask import Response, abort, g, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import defer

from hotline.accounts.audit import audit
from hotline.core.extensions import db
from hotline.dashboard.blueprint import bp
from hotline.dashboard.board_views import current_scope, report_in_scope_or_404
from hotline.dashboard.security import client_ip, login_required, vault
from hotline.models import Incident, MediaItem, Message, Report
from hotline.privacy.vault import DecryptionError
from hotline.triage.photos import ALLOWED

logger = logging.getLogger(__name__)

ORIGINAL_ROLES = ("admin",)  # the evidence as received (a photo with its EXIF, its GPS)
# file name extensions of the allowed types (`hotline.triage.photos.ALLOWED`)
EXTENSIONS = {
    "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
    "audio/mpeg": "mp3", "audio/ogg": "ogg", "audio/amr": "amr", "audio/aac": "aac",
    "audio/mp4": "m4a", "audio/wav": "wav",
    "video/mp4": "mp4", "video/3gpp": "3gp", "video/quicktime": "mov",
}
# what a media answer may do if a browser opens it as a page: nothing
SANDBOX = "default-src 'none'; sandbox"


def _item_or_404(media_id: int) -> tuple[MediaItem, Report, Incident | None]:
    """A media item of a report in the user's scope (as its incident page is), for users who
    may read report texts; else 404, whether or not it exists. The sealed bytes are loaded
    only when read."""
    if not current_scope().pii:
        abort(404)
    item = db.session.scalars(select(MediaItem).where(MediaItem.id == media_id).options(
        defer(MediaItem.data_enc), defer(MediaItem.display_enc), defer(MediaItem.thumb_enc),
        defer(MediaItem.meta_enc))).one_or_none()
    if item is None:
        abort(404)
    report, incident = report_in_scope_or_404(db.session.scalar(
        select(Message.report_id).where(Message.id == item.message_id)))
    return item, report, incident


def _plain(text: str, status: int) -> Response:
    response = Response(text + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def _display_type(data: bytes) -> str:
    """What a photo's display copy is: PNG when it kept transparency, else JPEG."""
    return "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"


def _serve(media_id: int, variant: str) -> Response:
    """One variant of a media item ("display", "thumb" or "original"), audited."""
    if variant == "original" and g.user.role not in ORIGINAL_ROLES:
        abort(404)
    item, report, incident = _item_or_404(media_id)
    if item.status == "purged" or item.purged_at is not None:
        return _plain(_("This media was deleted at the end of its retention period; its size "
                        "and SHA-256 are kept for the chain of custody."), 410)
    if item.status != "stored" or item.content_type not in ALLOWED:
        abort(404)
    if variant == "thumb":
        blob = item.thumb_enc if item.kind == "image" else None
        content_type = "image/jpeg"
    elif variant == "display" and item.kind == "image":
        blob, content_type = item.display_enc, ""  # sniffed once opened
    else:
        blob, content_type = item.data_enc, item.content_type
    if blob is None:
        abort(404)
    details = {"incident": incident.code if incident else None, "report": report.id,
               "variant": variant}
    try:
        data = vault().open_bytes(blob, "media.data")
    except DecryptionError as exc:
        audit(db.session, "dashboard.media.view", str(item.id), user_id=g.user.id,
              ip=client_ip(), readable=False, **details)
        db.session.commit()
        logger.warning("media %s cannot be opened: %s", item.id, exc)
        return _plain(_("This media can no longer be decrypted (its day's key was destroyed, "
                        "or it was altered)."), 410)
    if variant == "original" and hashlib.sha256(data).hexdigest() != item.sha256:
        audit(db.session, "dashboard.media.view", str(item.id), user_id=g.user.id,
              ip=client_ip(), hash_matches=False, **details)
        db.session.commit()
        logger.error("media %s does not match its recorded SHA-256", item.id)
        return _plain(_("This media does not match its recorded SHA-256; it is not served."),
                      409)
    content_type = content_type or _display_type(data)
    audit(db.session, "dashboard.media.view", str(item.id), user_id=g.user.id, ip=client_ip(),
          **details)
    db.session.commit()
    response = Response(data, mimetype=content_type)
    disposition = "attachment" if variant == "original" else "inline"
    response.headers["Content-Disposition"] = \
        f'{disposition}; filename="media-{item.id}.{EXTENSIONS.get(content_type, "bin")}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = SANDBOX
    if variant == "original":
        response.headers["X-Content-SHA256"] = item.sha256 or ""
    # audio and video players ask for ranges to seek
    return response.make_conditional(request, accept_ranges=True, complete_length=len(data))


@bp.get("/media/<int:media_id>")
@login_required()
def media(media_id: int) -> Response:
    """What people look at: a photo re-encoded without its EXIF (no GPS, no camera serial),
    or the audio or video as received."""
    return _serve(media_id, "display")


@bp.get("/media/<int:media_id>/thumb")
@login_required()
def media_thumb(media_id: int) -> Response:
    """A photo's small JPEG (without EXIF); 404 for audio and video."""
    return _serve(media_id, "thumb")


@bp.get("/media/<int:media_id>/original")
@login_required()
def media_original(media_id: int) -> Response:
    """The evidence exactly as received, for admins only, as a download, with its SHA-256 in
    `X-Content-SHA256` to check the chain of custody."""
    return _serve(media_id, "original")
