"""Flavour tagging from the scores stored in PHYSLITE.

The DL1/GN2 discriminant is D = log(p_b / (f_c p_c + f_tau p_tau + (1 - f_c - f_tau) p_u)),
as in the FTAG BTaggingSelectionTool; a jet is tagged at a FixedCutBEff working point when
D exceeds that working point's cut. The fractions and cut values below are the emulator's
documented stand-ins for the CDI file (see docs/emulator.md); they are close to, but not
guaranteed to equal, the calibrated ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np


@dataclass(frozen=True)
class TaggerCalib:
    fc: float
    ftau: float
    cuts: dict[str, float]  # WP -> discriminant cut


#: Continuous working point bins, loosest to tightest efficiency.
CONTINUOUS_ORDER = ("FixedCutBEff_90", "FixedCutBEff_85", "FixedCutBEff_77", "FixedCutBEff_70",
                    "FixedCutBEff_65")

TAGGERS: dict[str, TaggerCalib] = {
    "DL1dv01": TaggerCalib(0.018, 0.0, {
        "FixedCutBEff_60": 4.884, "FixedCutBEff_65": 4.319, "FixedCutBEff_70": 3.494,
        "FixedCutBEff_77": 2.456, "FixedCutBEff_85": 0.948, "FixedCutBEff_90": -0.5,
    }),
    "GN2v00": TaggerCalib(0.1, 0.0, {
        "FixedCutBEff_65": 3.642, "FixedCutBEff_70": 2.948, "FixedCutBEff_77": 2.0,
        "FixedCutBEff_85": 0.844, "FixedCutBEff_90": 0.0,
    }),
    "GN2v01": TaggerCalib(0.2, 0.01, {
        "FixedCutBEff_65": 3.755, "FixedCutBEff_70": 3.245, "FixedCutBEff_77": 2.602,
        "FixedCutBEff_85": 1.583, "FixedCutBEff_90": 0.844,
    }),
}

BTAG_CONTAINER = "BTagging_AntiKt4EMPFlow"


def score_columns(tagger: str) -> list[tuple[str, str]]:
    cols = [(BTAG_CONTAINER, f"{tagger}_{p}") for p in ("pb", "pc", "pu")]
    if TAGGERS.get(tagger, TaggerCalib(0, 0, {})).ftau:
        cols.append((BTAG_CONTAINER, f"{tagger}_ptau"))
    return cols


def discriminant(tagger: str, scores: dict[str, ak.Array]) -> ak.Array:
    """log(pb / (fc pc + ftau ptau + (1 - fc - ftau) pu)), with a floor against log(0)."""
    cal = TAGGERS[tagger]
    pb, pc, pu = scores["pb"], scores["pc"], scores["pu"]
    ptau = scores.get("ptau")
    den = cal.fc * pc + (1.0 - cal.fc - cal.ftau) * pu
    if ptau is not None and cal.ftau:
        den = den + cal.ftau * ptau
    else:
        den = den + cal.ftau * pu
    tiny = 1e-10
    return np.log(np.maximum(pb, tiny) / np.maximum(den, tiny))


def tag(tagger: str, wp: str, disc: ak.Array) -> ak.Array:
    """Boolean per jet for a FixedCutBEff working point."""
    return disc > TAGGERS[tagger].cuts[wp]


def quantile(tagger: str, disc: ak.Array) -> ak.Array:
    """Continuous b-tagging bin: 1 (fails the loosest WP) .. 6 (passes the tightest)."""
    cuts = TAGGERS[tagger].cuts
    q = ak.values_astype(disc > -np.inf, np.int32)  # 1 everywhere (keeps the jagged shape)
    for wp in CONTINUOUS_ORDER:
        if wp in cuts:
            q = q + ak.values_astype(disc > cuts[wp], np.int32)
    return q
