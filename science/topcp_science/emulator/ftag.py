"""Flavour tagging from the scores stored in PHYSLITE, as the BTaggingSelectionTool does it.

Each jet's scores sit in ``BTagging_AntiKt4EMPFlow`` at the index its ``btaggingLink``
points to (not at the jet's own index: in the mc23 test file 63 of 100 events have the
links permuted). The tagger weight is D = log(p_b / (f_c p_c + f_tau p_tau +
(1 - f_c - f_tau) p_u)); a jet is tagged at a FixedCutBEff working point when D >= cut,
and only inside the tool's acceptance |eta| <= MaxEta = 2.5 (the FTagConfig block sets
MinPt = 0). Continuous: quantile 1 (fails the loosest WP) ... n + 1 (passes the tightest),
-1 outside the acceptance, over GN2v01's five WPs 90/85/77/70/65 or the tool's default
85/77/70/60 for other taggers (athena BTaggingSelectionTool.cxx). The fractions and cut
values below are the emulator's stand-ins for the CDI file (docs/emulator.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .jagged import Layout, gather_in_event


@dataclass(frozen=True)
class TaggerCalib:
    fc: float
    ftau: float
    cuts: dict[str, float]  # WP -> discriminant cut


TAGGERS: dict[str, TaggerCalib] = {
    "DL1dv01": TaggerCalib(0.018, 0.0, {
        "FixedCutBEff_60": 4.884, "FixedCutBEff_65": 4.319, "FixedCutBEff_70": 3.494,
        "FixedCutBEff_77": 2.456, "FixedCutBEff_85": 0.948, "FixedCutBEff_90": -0.5,
    }),
    "GN2v00": TaggerCalib(0.1, 0.0, {
        "FixedCutBEff_60": 4.2, "FixedCutBEff_65": 3.642, "FixedCutBEff_70": 2.948,
        "FixedCutBEff_77": 2.0, "FixedCutBEff_85": 0.844, "FixedCutBEff_90": 0.0,
    }),
    "GN2v01": TaggerCalib(0.2, 0.01, {
        "FixedCutBEff_65": 3.755, "FixedCutBEff_70": 3.245, "FixedCutBEff_77": 2.602,
        "FixedCutBEff_85": 1.583, "FixedCutBEff_90": 0.844,
    }),
}

#: BTaggingSelectionTool ``MaxEta``.
MAX_ETA = 2.5
BTAG_CONTAINER = "BTagging_AntiKt4EMPFlow"
LINK = "btaggingLink.m_persIndex"


def continuous_wps(tagger: str) -> tuple[str, ...]:
    """The WPs a Continuous quantile counts, loosest first (``WorkingPointDefinitions``)."""
    if tagger == "GN2v01":
        return ("FixedCutBEff_90", "FixedCutBEff_85", "FixedCutBEff_77", "FixedCutBEff_70",
                "FixedCutBEff_65")
    return ("FixedCutBEff_85", "FixedCutBEff_77", "FixedCutBEff_70", "FixedCutBEff_60")


def score_columns(tagger: str) -> list[tuple[str, str]]:
    cols = [(BTAG_CONTAINER, f"{tagger}_{p}") for p in ("pb", "pc", "pu")]
    if TAGGERS.get(tagger, TaggerCalib(0, 0, {})).ftau:
        cols.append((BTAG_CONTAINER, f"{tagger}_ptau"))
    return cols


def scores_for_jets(jets: Layout, link: np.ndarray, btag: Layout, scores: dict[str, np.ndarray]
                    ) -> dict[str, np.ndarray]:
    """Each jet's scores, read at its btaggingLink index (NaN for a broken link)."""
    return {k: gather_in_event(btag, v.astype(np.float64), jets, link) for k, v in scores.items()}


def discriminant(tagger: str, scores: dict[str, np.ndarray]) -> np.ndarray:
    """log(pb / (fc pc + ftau ptau + (1 - fc - ftau) pu)); NaN where the scores are invalid."""
    cal = TAGGERS[tagger]
    pb, pc, pu = scores["pb"], scores["pc"], scores["pu"]
    ptau = scores.get("ptau", np.zeros_like(pb))
    den = cal.fc * pc + (1.0 - cal.fc - cal.ftau) * pu + cal.ftau * ptau
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.log(pb / den)
    valid = (pb >= 0) & (pc >= 0) & (pu >= 0) & (ptau >= 0) & ~np.isnan(pu)
    return np.where(valid, d, np.nan)


def in_acceptance(eta: np.ndarray) -> np.ndarray:
    return np.abs(eta) <= MAX_ETA


def tag(tagger: str, wp: str, disc: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """FixedCutBEff decision per jet: inside the acceptance and D >= cut."""
    with np.errstate(invalid="ignore"):
        return in_acceptance(eta) & (disc >= TAGGERS[tagger].cuts[wp])


def quantile(tagger: str, disc: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Continuous bin per jet (getQuantile): 1 + number of WPs passed; -1 outside acceptance."""
    cuts = TAGGERS[tagger].cuts
    q = np.ones(len(disc), dtype=np.int32)
    with np.errstate(invalid="ignore"):
        for wp in continuous_wps(tagger):
            if wp in cuts:
                q += (disc >= cuts[wp]).astype(np.int32)
    q[~in_acceptance(eta) | np.isnan(disc)] = -1
    return q
