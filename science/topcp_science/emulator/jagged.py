"""Flat-array kernels for per-event object collections ("jagged" data) in plain numpy.

A chunk's container is held as one flat numpy array per variable plus a ``Layout``: the
per-event offsets and, for every object, the index of its event. Selections are flat
boolean arrays. This keeps the per-systematic chain (selections, MET, overlap removal,
event cuts) in vectorised numpy, far cheaper than high-level awkward calls, and turns
into awkward arrays only at the edges (input, output).
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np


@dataclass(frozen=True)
class Layout:
    """Where each event's objects sit in the flat arrays of one container."""

    offsets: np.ndarray  # int64, n_events + 1

    @property
    def n_events(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_objects(self) -> int:
        return int(self.offsets[-1])

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def event(self) -> np.ndarray:
        """Event index of every object (computed once per layout)."""
        cached = self.__dict__.get("_event")
        if cached is None:
            cached = np.repeat(np.arange(self.n_events, dtype=np.int64), self.counts)
            object.__setattr__(self, "_event", cached)
        return cached

    @property
    def local(self) -> np.ndarray:
        """Position of every object inside its event (0, 1, ...)."""
        cached = self.__dict__.get("_local")
        if cached is None:
            cached = np.arange(self.n_objects, dtype=np.int64) - self.offsets[:-1][self.event]
            object.__setattr__(self, "_local", cached)
        return cached

    @classmethod
    def from_counts(cls, counts: np.ndarray) -> Layout:
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(offsets)

    @classmethod
    def empty(cls, n_events: int) -> Layout:
        return cls(np.zeros(n_events + 1, dtype=np.int64))


def split(array: ak.Array) -> tuple[Layout, np.ndarray]:
    """A singly-jagged awkward array -> (layout, flat numpy values)."""
    array = ak.to_packed(array)
    layout = array.layout
    while not isinstance(layout, (ak.contents.ListOffsetArray, ak.contents.ListArray,
                                  ak.contents.RegularArray)):
        layout = layout.content
    if isinstance(layout, ak.contents.ListOffsetArray):
        offsets = np.asarray(layout.offsets.data, dtype=np.int64)
        start = offsets[0]
        flat = np.asarray(ak.to_numpy(layout.content))[start:offsets[-1]]
        return Layout(offsets - start), flat
    counts = ak.to_numpy(ak.num(array, axis=1))
    return Layout.from_counts(counts), ak.to_numpy(ak.flatten(array, axis=1))


def values(array: ak.Array, layout: Layout) -> np.ndarray:
    """Flat values of ``array``, which must have ``layout``'s structure."""
    lay, flat = split(array)
    if not np.array_equal(lay.offsets, layout.offsets):
        raise ValueError("jagged column does not match its container's layout")
    return flat


def join(layout: Layout, flat: np.ndarray) -> ak.Array:
    """(layout, flat values) -> a singly-jagged awkward array."""
    return ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(layout.offsets),
                                                ak.contents.NumpyArray(np.ascontiguousarray(flat))))


def count(layout: Layout, mask: np.ndarray) -> np.ndarray:
    """Per-event number of objects where ``mask`` is true."""
    return np.bincount(layout.event[mask], minlength=layout.n_events)


def per_event_sum(layout: Layout, values_: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    ev = layout.event if mask is None else layout.event[mask]
    w = values_ if mask is None else values_[mask]
    return np.bincount(ev, weights=w, minlength=layout.n_events)


def first(layout: Layout, mask: np.ndarray) -> np.ndarray:
    """Per event, the flat index of the first object (container order) with ``mask``; -1 if none."""
    out = np.full(layout.n_events, -1, dtype=np.int64)
    idx = np.flatnonzero(mask)
    if len(idx):
        ev = layout.event[idx]
        # idx is sorted, so the first occurrence of each event is its first passing object
        keep = np.ones(len(idx), dtype=bool)
        keep[1:] = ev[1:] != ev[:-1]
        out[ev[keep]] = idx[keep]
    return out


def subset(layout: Layout, keep: np.ndarray) -> Layout:
    """The layout left after keeping the objects where ``keep`` is true."""
    return Layout.from_counts(count(layout, keep))


def select_events(layout: Layout, events: np.ndarray) -> tuple[Layout, np.ndarray]:
    """Layout of the kept events and the object mask that keeps their objects."""
    counts = layout.counts[events]
    return Layout.from_counts(counts), events[layout.event]


def delta_phi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    return (d + np.pi) % (2 * np.pi) - np.pi


@dataclass(frozen=True)
class Pairs:
    """All (a, b) object pairs inside each event, as flat indices into a's and b's arrays."""

    a: np.ndarray
    b: np.ndarray

    @classmethod
    def build(cls, la: Layout, lb: Layout, b_keep: np.ndarray | None = None) -> Pairs:
        """Pairs of every a with every b (only b objects where ``b_keep``)."""
        b_index = np.arange(lb.n_objects, dtype=np.int64)
        if b_keep is not None:
            b_index = b_index[b_keep]
            cb = np.bincount(lb.event[b_keep], minlength=lb.n_events)
        else:
            cb = lb.counts
        b_start = np.zeros(lb.n_events, dtype=np.int64)
        np.cumsum(cb[:-1], out=b_start[1:])
        ca = la.counts
        n_pairs = ca * cb
        total = int(n_pairs.sum())
        if total == 0:
            z = np.zeros(0, dtype=np.int64)
            return cls(z, z)
        pair_event = np.repeat(np.arange(la.n_events, dtype=np.int64), n_pairs)
        pair_start = np.zeros(la.n_events, dtype=np.int64)
        np.cumsum(n_pairs[:-1], out=pair_start[1:])
        local = np.arange(total, dtype=np.int64) - pair_start[pair_event]
        width = cb[pair_event]
        ia = la.offsets[:-1][pair_event] + local // width
        ib = b_index[b_start[pair_event] + local % width]
        return cls(ia, ib)

    def dr2(self, eta_a, phi_a, eta_b, phi_b) -> np.ndarray:
        deta = eta_a[self.a] - eta_b[self.b]
        dphi = delta_phi(phi_a[self.a], phi_b[self.b])
        return deta * deta + dphi * dphi


def any_within(la: Layout, eta_a, phi_a, lb: Layout, eta_b, phi_b, b_keep, cone: float | np.ndarray
               ) -> np.ndarray:
    """For each a object: is any kept b object closer than ``cone`` in (eta, phi)?

    ``cone`` is a scalar or an array over a's objects (sliding cones).
    """
    pairs = Pairs.build(la, lb, b_keep)
    out = np.zeros(la.n_objects, dtype=bool)
    if len(pairs.a):
        c = cone if np.isscalar(cone) else np.asarray(cone)[pairs.a]
        close = pairs.dr2(eta_a, phi_a, eta_b, phi_b) < c * c
        out[pairs.a[close]] = True
    return out


def sum_within(la: Layout, eta_a, phi_a, lb: Layout, eta_b, phi_b, b_keep, cone: float,
               weights: list[np.ndarray]) -> list[np.ndarray]:
    """For each a object, the sums of each ``weights`` array over kept b objects within ``cone``."""
    pairs = Pairs.build(la, lb, b_keep)
    if not len(pairs.a):
        return [np.zeros(la.n_objects) for _ in weights]
    close = pairs.dr2(eta_a, phi_a, eta_b, phi_b) < cone * cone
    ia, ib = pairs.a[close], pairs.b[close]
    return [np.bincount(ia, weights=w[ib], minlength=la.n_objects) for w in weights]


def gather_in_event(layout_src: Layout, flat_src: np.ndarray, layout_dst: Layout, local_index: np.ndarray,
                    fill=np.nan) -> np.ndarray:
    """For every dst object, the src value at ``local_index`` inside the same event
    (ElementLink-style indexing); ``fill`` where the index is out of range."""
    idx = np.asarray(local_index, dtype=np.int64)
    ev = layout_dst.event
    ok = (idx >= 0) & (idx < layout_src.counts[ev])
    out = np.full(len(idx), fill, dtype=np.result_type(flat_src.dtype, np.asarray(fill).dtype))
    out[ok] = flat_src[layout_src.offsets[:-1][ev[ok]] + idx[ok]]
    return out
