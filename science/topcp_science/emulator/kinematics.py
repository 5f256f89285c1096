"""Vectorised four-vector helpers on awkward arrays (no per-event Python loops)."""

from __future__ import annotations

import awkward as ak
import numpy as np


def energy(pt: ak.Array, eta: ak.Array, m: ak.Array) -> ak.Array:
    """E from (pt, eta, m): sqrt((pt cosh eta)^2 + m^2)."""
    p = pt * np.cosh(eta)
    return np.sqrt(p * p + m * m)


def rapidity(pt: ak.Array, eta: ak.Array, m: ak.Array) -> ak.Array:
    """Rapidity y = 0.5 ln((E + pz)/(E - pz)); equals eta for massless objects."""
    pz = pt * np.sinh(eta)
    e = energy(pt, eta, m)
    num = e + pz
    den = ak.where(e - pz > 0, e - pz, 1e-9)
    return 0.5 * np.log(ak.where(num > 0, num, 1e-9) / den)


def delta_phi(a: ak.Array, b: ak.Array) -> ak.Array:
    d = a - b
    return (d + np.pi) % (2 * np.pi) - np.pi


def any_within(
    eta_a: ak.Array,
    phi_a: ak.Array,
    eta_b: ak.Array,
    phi_b: ak.Array,
    sel_b: ak.Array,
    cone: float | ak.Array,
) -> ak.Array:
    """For each object of A: is any *selected* object of B closer than ``cone`` in (eta, phi)?

    ``cone`` may be a scalar or an array shaped like A (sliding cones).
    """
    # Only selected B objects can match: filter first, which also shrinks the pair lists.
    pa = ak.zip({"eta": eta_a, "phi": phi_a}, depth_limit=2)
    pb = ak.zip({"eta": eta_b[sel_b], "phi": phi_b[sel_b]}, depth_limit=2)
    pairs = ak.cartesian({"a": pa, "b": pb}, axis=1, nested=True)
    deta = pairs.a.eta - pairs.b.eta
    dphi = delta_phi(pairs.a.phi, pairs.b.phi)
    dr2 = deta * deta + dphi * dphi
    if np.isscalar(cone):
        close = dr2 < cone * cone
    else:
        close = dr2 < (cone * cone)[..., np.newaxis]
    return ak.any(close, axis=-1)


def to_bool(a: ak.Array) -> ak.Array:
    """Stored char flags (int8/uint8) to booleans."""
    return a != 0


def leading(a: ak.Array, n: int, fill: float = 0.0) -> np.ndarray:
    """The first ``n`` entries of each list as an (events, n) array, ``fill`` where missing.

    Regular-length input (e.g. mcEventWeights) is reshaped directly, which is much cheaper
    than padding through option types.
    """
    counts = ak.to_numpy(ak.num(a, axis=1))
    if len(counts) and n and np.all(counts == counts[0]) and counts[0] >= n:
        flat = ak.to_numpy(ak.flatten(a, axis=1))
        return flat.reshape(len(counts), counts[0])[:, :n]
    padded = ak.to_numpy(ak.pad_none(a, n, axis=1, clip=True))
    if np.ma.isMaskedArray(padded):
        return padded.filled(fill)
    return np.asarray(padded)
