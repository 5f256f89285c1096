"""Decode ``egammaClusters``' ``m_samplingPattern`` from a Run-2 TTree's raw baskets.

In Run-2 PHYSLITE TTrees the cluster container itself (``DataVector<xAOD::CaloCluster_v1>``)
is a branch streamed member-wise whose only member is ``m_samplingPattern``, the bit mask
saying which calorimeter layers the ``e_sampl``/``eta_sampl`` entries belong to. uproot
cannot interpret that branch, but its layout is simple: per event a ROOT byte count
(4 bytes, bit 0x40000000 set), the collection version with the member-wise bit 0x4000
(2 bytes), the element class version and checksum (6 bytes), the number of clusters n
(4 bytes) and n big-endian uint32 patterns. Every entry is checked against that layout;
anything else raises ``ValueError`` so the caller can fall back (with a warning).
The RNTuple layout stores the same numbers as an ordinary field.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

_HEADER = 16  # byte count (4) + version (2) + class version and checksum (6) + size (4)


def _be_uint32(data: np.ndarray, starts: np.ndarray) -> np.ndarray:
    b = data.astype(np.uint32)
    return (b[starts] << 24) | (b[starts + 1] << 16) | (b[starts + 2] << 8) | b[starts + 3]


def decode_uint32_member(branch, entry_start: int, entry_stop: int) -> ak.Array:
    """The single uint32 member of a member-wise streamed vector branch, per entry."""
    counts: list[np.ndarray] = []
    values: list[np.ndarray] = []
    edges = np.asarray(branch.entry_offsets, dtype=np.int64)
    for i in range(branch.num_baskets):
        b0, b1 = int(edges[i]), int(edges[i + 1])
        if b1 <= entry_start or b0 >= entry_stop:
            continue
        basket = branch.basket(i)
        data = np.frombuffer(basket.data, dtype=np.uint8)
        offsets = np.asarray(basket.byte_offsets, dtype=np.int64)
        lo, hi = max(entry_start, b0) - b0, min(entry_stop, b1) - b0
        starts, ends = offsets[lo:hi], offsets[lo + 1:hi + 1]
        if len(starts) == 0:
            continue
        if np.any(ends - starts < _HEADER):
            raise ValueError(f"{branch.name}: entry shorter than a member-wise header")
        byte_count = _be_uint32(data, starts)
        version = (data[starts + 4].astype(np.uint32) << 8) | data[starts + 5]
        n = _be_uint32(data, starts + 12).astype(np.int64)
        if not (np.all(byte_count & 0x40000000) and np.all((byte_count & 0x3FFFFFFF) == ends - starts - 4)
                and np.all(version & 0x4000) and np.all(_HEADER + 4 * n == ends - starts)):
            raise ValueError(f"{branch.name}: not the expected member-wise layout of one uint32 member")
        first = np.repeat(starts + _HEADER, n)
        local = np.arange(int(n.sum()), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
        values.append(_be_uint32(data, first + 4 * local))
        counts.append(n)
    if not counts:
        return ak.Array(ak.contents.ListOffsetArray(
            ak.index.Index64(np.zeros(max(entry_stop - entry_start, 0) + 1, dtype=np.int64)),
            ak.contents.NumpyArray(np.zeros(0, dtype=np.uint32))))
    n_all = np.concatenate(counts)
    offsets = np.zeros(len(n_all) + 1, dtype=np.int64)
    np.cumsum(n_all, out=offsets[1:])
    return ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(offsets),
                                                ak.contents.NumpyArray(np.concatenate(values))))
