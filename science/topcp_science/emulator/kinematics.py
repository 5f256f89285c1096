"""Four-vector helpers on flat numpy arrays, and the mcEventWeights reshaper."""

from __future__ import annotations

import awkward as ak
import numpy as np


def energy(pt: np.ndarray, eta: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E from (pt, eta, m): sqrt((pt cosh eta)^2 + m^2)."""
    p = pt * np.cosh(eta)
    return np.sqrt(p * p + m * m)


def rapidity(pt: np.ndarray, eta: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Rapidity y = 0.5 ln((E + pz)/(E - pz)); equals eta for massless objects."""
    pz = pt * np.sinh(eta)
    e = energy(pt, eta, m)
    num = np.where(e + pz > 0, e + pz, 1e-9)
    den = np.where(e - pz > 0, e - pz, 1e-9)
    return 0.5 * np.log(num / den)


def to_bool(a: np.ndarray) -> np.ndarray:
    """Stored char flags (int8/uint8) to booleans."""
    return np.asarray(a) != 0


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


def object_sign(event_number: np.ndarray, local: np.ndarray) -> np.ndarray:
    """A fixed +-1 per object from its event number and position (for emulated smearing):
    deterministic, so reruns give identical files."""
    h = (event_number.astype(np.uint64) * np.uint64(0x9E3779B1)) ^ (
        local.astype(np.uint64) * np.uint64(0x85EBCA77))
    return 1.0 - 2.0 * ((h >> np.uint64(13)) & np.uint64(1)).astype(np.float64)
