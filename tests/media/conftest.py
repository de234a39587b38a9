"""Photos as phones send them (with or without EXIF GPS), and signed MMS carrying them."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from PIL import ExifTags, Image

CAMERA_MARK = "CameraSerial-7Q4K-unique"  # in the EXIF: must never be readable in a dump
# Pilsen, Chicago (18th St and Blue Island), and Santa Ana, CA
PILSEN = (41.857800, -87.660400)
SANTA_ANA = (33.745500, -117.867800)


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return float(degrees), float(minutes), seconds


def jpeg(gps: tuple[float, float] | None = None, taken: datetime | None = None,
         size: tuple[int, int] = (96, 64), colour: tuple[int, int, int] = (200, 30, 30),
         noise: bool = False) -> bytes:
    """A JPEG with a camera serial in its EXIF and, when given, GPS and the time taken."""
    image = Image.new("RGB", size, colour)
    if noise:
        image = Image.effect_noise(size, 80).convert("RGB")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone"
    exif[ExifTags.Base.BodySerialNumber] = CAMERA_MARK
    if gps is not None:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[1], info[2] = ("N" if gps[0] >= 0 else "S"), _dms(gps[0])
        info[3], info[4] = ("E" if gps[1] >= 0 else "W"), _dms(gps[1])
    stamp = (taken or datetime.now(UTC)).strftime("%Y:%m:%d %H:%M:%S")
    exif.get_ifd(ExifTags.IFD.Exif)[36867] = stamp
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (40, 40), (0, 0, 255, 128)).save(out, "PNG")
    return out.getvalue()


def mms(twilio: Any, standin: Any, body: str, items: list[tuple[str, bytes]],
        **kwargs: Any) -> dict[str, str]:
    """A signed MMS form whose media the stand-in serves (declared type, bytes)."""
    extra: dict[str, str] = {"NumMedia": str(len(items))}
    form = twilio.sms(body, **kwargs)
    message_sid = "MM" + form["MessageSid"][2:]
    form["MessageSid"] = form["SmsSid"] = message_sid
    for n, (content_type, data) in enumerate(items):
        extra[f"MediaUrl{n}"] = standin.add_media(content_type, data, message_sid)
        extra[f"MediaContentType{n}"] = content_type
    form.update(extra)
    return form


def post(client: Any, twilio: Any, form: dict[str, str]) -> Any:
    return client.post("/twilio/sms", data=form, headers=twilio.headers("/twilio/sms", form))
