"""Missing transverse momentum rebuilt from the selected objects and the stored soft term.

PHYSLITE stores only the MET soft terms (``MET_Core_AnalysisMET``: SoftClusCore and
PVSoftTrkCore); METMaker rebuilds the hard terms from the calibrated objects. The emulator
does the same, simply: MET = -(sum of selected electrons, photons, taus, muons and jets)
- track soft term, with jets within Delta-R 0.2 of a selected electron or photon left out
(the same energy deposit). The MET_SoftTrk_Scale variations scale the soft term.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from .kinematics import any_within

SOFT_TERM = "PVSoftTrkCore"
MET_CORE = "MET_Core_AnalysisMET"
MET_TRUTH = "MET_Truth"


def term(raw: dict, container: str, name: str) -> tuple[ak.Array, ak.Array, ak.Array]:
    """(mpx, mpy, sumet) of one named MET term, zero when the term is absent in an event."""
    names = raw.get((container, "name"))
    mpx = raw.get((container, "mpx"))
    if names is None or mpx is None:
        n = len(next(iter(raw.values())))
        z = np.zeros(n, dtype=np.float64)
        return z, z, z
    which = names == name

    def pick(var: str) -> np.ndarray:
        return ak.to_numpy(ak.sum(raw[(container, var)][which], axis=1)).astype(np.float64)

    return pick("mpx"), pick("mpy"), pick("sumet")

def build_met(
    objects: dict[str, tuple[ak.Array, ak.Array, ak.Array, ak.Array]],
    soft: tuple[np.ndarray, np.ndarray, np.ndarray],
    soft_scale: float = 1.0,
) -> dict[str, np.ndarray]:
    """objects: kind -> (pt, eta, phi, selected). Returns met, phi, sumet (MeV, rad)."""
    px = -soft[0] * soft_scale
    py = -soft[1] * soft_scale
    sumet = soft[2] * soft_scale
    overlap_veto = None
    for kind in ("electrons", "photons"):
        if kind in objects and "jets" in objects:
            _, eta, phi, sel = objects[kind]
            _, jeta, jphi, _ = objects["jets"]
            hit = any_within(jeta, jphi, eta, phi, sel, 0.2)
            overlap_veto = hit if overlap_veto is None else (overlap_veto | hit)
    for kind, (pt, _eta, phi, sel) in objects.items():
        if kind == "jets" and overlap_veto is not None:
            sel = sel & ~overlap_veto
        w = ak.where(sel, pt, 0.0)
        px = px - ak.to_numpy(ak.sum(w * np.cos(phi), axis=1))
        py = py - ak.to_numpy(ak.sum(w * np.sin(phi), axis=1))
        sumet = sumet + ak.to_numpy(ak.sum(w, axis=1))
    return {
        "met": np.hypot(px, py).astype(np.float32),
        "phi": np.arctan2(py, px).astype(np.float32),
        "sumet": np.asarray(sumet, dtype=np.float32),
    }
