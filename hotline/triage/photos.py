"""Media as evidence, without the network: what a file really is (by its bytes, not by what the
sender's phone or Twilio declared), what a photo says about where and when it was taken (EXIF
GPS and time), and a copy of it that says nothing more (re-encoded without EXIF) for people to
look at.

Pure functions over bytes; Pillow reads and writes the images.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

# What Hotline keeps: the photos, voice notes and videos phones send by MMS and WhatsApp
# (https://www.twilio.com/docs/messaging/guides/accepted-mime-types,
# https://www.twilio.com/docs/whatsapp/guidance-whatsapp-media-messages). Documents, contact
# cards and anything else are refused.
ALLOWED = {
    "image/jpeg": "image", "image/png": "image", "image/gif": "image", "image/webp": "image",
    "audio/mpeg": "audio", "audio/ogg": "audio", "audio/amr": "audio", "audio/aac": "audio",
    "audio/mp4": "audio", "audio/wav": "audio",
    "video/mp4": "video", "video/3gpp": "video", "video/quicktime": "video",
}
# declared names of the same types
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "audio/mp3": "audio/mpeg",
            "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/x-m4a": "audio/mp4",
            "audio/m4a": "audio/mp4", "audio/opus": "audio/ogg", "audio/3gpp": "video/3gpp",
            "video/3gp": "video/3gpp"}
MAX_PIXELS = 60_000_000  # a 60-megapixel photo; more is a decompression bomb, not evidence
THUMBNAIL = (320, 320)


class RefusedMedia(ValueError):
    """A file Hotline does not keep: its type is not allowed, or its bytes are not what was
    declared, or it cannot be read."""


def normal_type(declared: str) -> str:
    """A declared content type in the allow-list's spelling ("image/jpg" is image/jpeg)."""
    value = (declared or "").split(";")[0].strip().lower()
    return _ALIASES.get(value, value)


def sniff(data: bytes) -> str | None:
    """The allowed content type the bytes are, or None."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
                                   and head[1] & 0x06 != 0):
        return "audio/mpeg"  # an ID3 tag, or an MPEG audio frame (layer set)
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "audio/aac"  # ADTS
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith(b"3g"):
            return "video/3gpp"
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand in (b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
                     b"M4V ", b"dash", b"MSNV"):
            return "video/mp4"
    return None


def check(data: bytes, declared: str) -> tuple[str, str]:
    """(content type, kind) of an allowed file whose bytes agree with what was declared (the
    same kind: a ".jpg" that is a PNG is still a photo); RefusedMedia otherwise."""
    found = sniff(data)
    said = normal_type(declared)
    if found is None and said in ALLOWED:
        raise RefusedMedia(f"declared {said}, but the bytes are no allowed type")
    if found is None:
        raise RefusedMedia(f"not an allowed type ({said[:60] or 'no type'})")
    if said and ALLOWED.get(said) != ALLOWED[found]:
        raise RefusedMedia(f"declared {said[:60]}, but the bytes are {found}")
    return found, ALLOWED[found]


@dataclass(frozen=True)
class PhotoFacts:
    """What a photo's EXIF says: where (WGS84 degrees) and when it was taken, and its size."""

    width: int
    height: int
    lat: float | None = None
    lon: float | None = None
    taken_at: datetime | None = None  # the camera's clock, read as UTC (EXIF has no zone)

    def public(self) -> dict[str, Any]:
        """JSON of the facts (sealed before it is stored: a photo's place is a person's)."""
        return {"width": self.width, "height": self.height, "lat": self.lat, "lon": self.lon,
                "taken_at": self.taken_at.isoformat() if self.taken_at else None}


def _open(data: bytes) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise RefusedMedia(f"unreadable image ({type(exc).__name__})") from None
    return image


def _degrees(value: Any, ref: Any) -> float | None:  # noqa: ANN401 - EXIF rationals
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    if str(ref or "").strip().upper() in ("S", "W"):
        degrees = -degrees
    return round(degrees, 6)


def _taken_at(exif: Image.Exif) -> datetime | None:
    raw = exif.get_ifd(0x8769).get(36867) or exif.get(306)  # DateTimeOriginal, DateTime
    try:
        return datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def facts(data: bytes) -> PhotoFacts:
    """Where and when a photo was taken, from its EXIF (nothing when it has none)."""
    image = _open(data)
    exif = image.getexif()
    gps = exif.get_ifd(0x8825)
    lat, lon = _degrees(gps.get(2), gps.get(1)), _degrees(gps.get(4), gps.get(3))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or \
            (lat == 0 and lon == 0):
        lat = lon = None  # a phone without a fix writes zeros
    return PhotoFacts(image.width, image.height, lat, lon, _taken_at(exif))


def _pixels(data: bytes) -> Image.Image:
    """The photo upright (the EXIF orientation applied), in a mode JPEG or PNG can write."""
    image = _open(data)
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)  # an animated GIF shows its first frame
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda value: value / 256).convert("L")  # 16 bits to 8, not clipped
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGBA" if "A" in image.getbands() or
                              "transparency" in image.info else "RGB")
    return image


def _encode(image: Image.Image) -> tuple[bytes, str]:
    image.info = {}  # no ICC profile, comment or text chunk carried over
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, "PNG", icc_profile=None)
        return out.getvalue(), "image/png"
    image.save(out, "JPEG", quality=88, icc_profile=None)
    return out.getvalue(), "image/jpeg"


def without_metadata(data: bytes) -> tuple[bytes, str]:
    """(bytes, content type) of the photo re-encoded from its pixels alone: no EXIF (GPS,
    camera serial, time), no XMP, no comments. What the dashboard shows."""
    return _encode(_pixels(data))


def thumbnail(data: bytes) -> bytes:
    """A small JPEG of the photo, without metadata, for lists."""
    image = _pixels(data)
    image.thumbnail(THUMBNAIL)
    if image.mode != "RGB":
        image = image.convert("RGB")
    image.info = {}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, icc_profile=None)
    return out.getvalue()
