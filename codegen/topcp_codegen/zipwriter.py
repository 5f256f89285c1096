"""A minimal deterministic zip writer with cached compression of unchanging entries.

Every bundle carries the same ~40 kB transform script; deflating it at level 9 on each request
cost as much as validating the config. ``zipfile`` cannot take pre-compressed data, so this
module writes the (simple, flat, non-zip64) archive itself: local headers, deflated data,
central directory. Entries get a fixed timestamp (1980-01-01 00:00) and the given unix mode,
so equal inputs give equal bytes; Python's ``zipfile`` and ``unzip`` read the result.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from functools import lru_cache

_DOS_TIME = 0  # 00:00:00
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_VERSION = 20  # 2.0: deflate
_MADE_BY = (3 << 8) | _VERSION  # unix
_METHOD_DEFLATE = 8
_LIMIT = 0xFFFFFFFF  # beyond this zip64 would be needed; bundles are < 1 MiB


def _deflate(data: bytes) -> tuple[int, bytes]:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    return zlib.crc32(data), comp.compress(data) + comp.flush()


@lru_cache(maxsize=16)
def _deflate_cached(data: bytes) -> tuple[int, bytes]:
    return _deflate(data)


def build_zip(
    entries: Sequence[tuple[str, bytes, int]], *, cached: frozenset[str] = frozenset()
) -> bytes:
    """Zip ``(name, data, unix mode)`` entries in order; names in ``cached`` reuse compression.

    Only pass names whose data is the same object on every call (e.g. files read once).
    """
    out = bytearray()
    central = bytearray()
    for name, data, mode in entries:
        raw_name = name.encode("ascii")
        crc, packed = _deflate_cached(data) if name in cached else _deflate(data)
        if len(data) > _LIMIT or len(out) > _LIMIT:
            raise ValueError("zip entry too large for a bundle")
        offset = len(out)
        # version needed, flags, method, time, date, CRC, sizes, name length: the local
        # header and the central directory record repeat these fields in the same order.
        shared = (_VERSION, 0, _METHOD_DEFLATE, _DOS_TIME, _DOS_DATE, crc, len(packed),
                  len(data), len(raw_name))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, *shared, 0)
        out += raw_name
        out += packed
        external = (0o100000 | mode) << 16  # regular file with these permission bits
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, _MADE_BY, *shared, 0, 0, 0, 0, external, offset
        )
        central += raw_name
    cd_offset = len(out)
    out += central
    out += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_offset, 0
    )
    return bytes(out)
