"""The header of a PMTiles v3 archive (the local basemap): enough to refuse a wrong file at start.

The layout is the specification's (github.com/protomaps/PMTiles, spec/v3/spec.md, 3.1): 127
bytes, little-endian; the magic number, the version, offsets and counts, then one byte each for
clustering, internal compression, tile compression and tile type, the zooms, and the bounds and
centre as longitude/latitude times 10^7.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

HEADER_LENGTH = 127
MAGIC = b"PMTiles"
TILE_TYPES = {0: "unknown", 1: "mvt", 2: "png", 3: "jpeg", 4: "webp", 5: "avif", 6: "mlt"}
RASTER = frozenset({"png", "jpeg", "webp", "avif"})


class PmtilesError(ValueError):
    """Not a PMTiles v3 archive Hotline can draw; the message says why, in plain words."""


@dataclass(frozen=True)
class Header:
    """What the dashboard needs to know of an archive."""

    tile_type: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]  # west, south, east, north

    @property
    def raster(self) -> bool:
        """True for image tiles (what Leaflet draws without a vector renderer)."""
        return self.tile_type in RASTER


def read_header(path: Path) -> Header:
    """The archive's header; PmtilesError when the file is no PMTiles v3 archive."""
    with path.open("rb") as handle:
        raw = handle.read(HEADER_LENGTH)
    if len(raw) < HEADER_LENGTH or raw[:7] != MAGIC:
        raise PmtilesError("is not a PMTiles archive (no PMTiles header)")
    if raw[7] != 3:
        raise PmtilesError(f"is PMTiles version {raw[7]}; Hotline reads version 3 "
                           "(`pmtiles convert` writes it)")
    tile_type = TILE_TYPES.get(raw[99], f"type {raw[99]}")
    min_zoom, max_zoom = raw[100], raw[101]
    west, south, east, north = (v / 10_000_000 for v in struct.unpack_from("<4i", raw, 102))
    return Header(tile_type, min_zoom, max_zoom, (west, south, east, north))
