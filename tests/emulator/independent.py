"""An independent reimplementation, in plain uproot/awkward/numpy, of what the release does
for the checks in test_fidelity.py. It imports nothing from the project: every rule is
written again here from the athena sources cited in docs/emulator.md, so a disagreement
with the emulator is a bug in one of the two.

Per-event loops are fine here (100-event test files); clarity beats speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import awkward as ak
import uproot

# --- constants restated from the sources (not imported) -----------------------------------
BADCLUSELECTRON = 0x5A6  # EgammaDefs.h
CRACK = (1.37, 1.52)  # ElectronCalibrationConfig crackVeto
EL_MAX_ETA, EL_MIN_PT = 2.47, 4500.0  # ElectronCalibrationConfig defaults
MU_MAX_ETA, MU_MIN_PT = 2.7, 3000.0  # MuonCalibrationConfig defaults
BTAG_MAX_ETA = 2.5  # BTaggingSelectionTool MaxEta
# the emulator's documented stand-ins for the CDI file (docs/emulator.md, "Flavour tagging")
TAGGER = {"DL1dv01": (0.018, 0.0, {"FixedCutBEff_85": 0.948, "FixedCutBEff_77": 2.456,
                                   "FixedCutBEff_70": 3.494, "FixedCutBEff_60": 4.884}),
          "GN2v01": (0.2, 0.01, {"FixedCutBEff_77": 2.602})}
DL1_CONTINUOUS = ("FixedCutBEff_85", "FixedCutBEff_77", "FixedCutBEff_70", "FixedCutBEff_60")


@dataclass
class Event:
    """One event's objects as python lists of dicts (plain and slow on purpose)."""

    number: int
    jets: list[dict] = field(default_factory=list)
    electrons: list[dict] = field(default_factory=list)
    muons: list[dict] = field(default_factory=list)
    soft: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _tree(path):
    f = uproot.open(path)
    return (f["CollectionTree"], ".") if "CollectionTree" in f else (f["EventData"], ":")


def _memberwise_patterns(branch) -> list[list[int]]:
    """egammaClusters' m_samplingPattern from the raw TTree basket (member-wise streamed:
    4-byte count, 2-byte version, 6 bytes class version + checksum, 4-byte n, n uint32)."""
    out = []
    for i in range(branch.num_baskets):
        basket = branch.basket(i)
        data = bytes(basket.data)
        offsets = list(basket.byte_offsets)
        for start, end in zip(offsets[:-1], offsets[1:], strict=True):
            n = int.from_bytes(data[start + 12:start + 16], "big")
            assert 16 + 4 * n == end - start
            out.append([int.from_bytes(data[start + 16 + 4 * k:start + 20 + 4 * k], "big") for k in range(n)])
    return out


def read_events(path) -> list[Event]:
    tree, sep = _tree(path)
    ttree = sep == "."

    def col(cont, var):
        key = f"{cont}AuxDyn{sep}{var}"
        return ak.to_list(tree[key].array())

    def link(cont, var):
        if ttree:
            name = f"{cont}AuxDyn.{var}"
            if f"{name}/{name}.m_persIndex" in tree.keys(recursive=True):
                return ak.to_list(tree[f"{name}/{name}.m_persIndex"].array())
            return ak.to_list(tree[name].array()["m_persIndex"])
        return ak.to_list(tree[f"{cont}AuxDyn:{var}"].array()["m_persIndex"])

    n = tree.num_entries
    evn = col("EventInfo", "eventNumber")
    events = [Event(int(evn[i])) for i in range(n)]
    # jets and their b-tagging through btaggingLink
    jcols = {v: col("AnalysisJets", v) for v in ("pt", "eta", "phi", "m", "NNJvtPass", "DetectorEta",
                                                  "JetConstitScaleMomentum_pt", "JetConstitScaleMomentum_eta",
                                                  "JetConstitScaleMomentum_phi", "JetConstitScaleMomentum_m",
                                                  "SumPtTrkPt500", "NumTrkPt500")}
    jlink = link("AnalysisJets", "btaggingLink")
    btag_keys = [k for k in tree.keys() if k.startswith(f"BTagging_AntiKt4EMPFlowAuxDyn{sep}")]
    scores = {k.split(sep, 1)[1]: ak.to_list(tree[k].array()) for k in btag_keys}
    vtype = col("PrimaryVertices", "vertexType")
    for i, ev in enumerate(events):
        pv = next((k for k, t in enumerate(vtype[i]) if t == 1), 0)
        for j in range(len(jcols["pt"][i])):
            jet = {v: jcols[v][i][j] for v in jcols}
            jet["trk_sumpt"] = jet["SumPtTrkPt500"][pv] if pv < len(jet["SumPtTrkPt500"]) else 0.0
            jet["trk_n"] = jet["NumTrkPt500"][pv] if pv < len(jet["NumTrkPt500"]) else 0
            b = jlink[i][j]
            jet["scores"] = {k: v[i][b] for k, v in scores.items() if b < len(v[i])}
            jet["scores_same_index"] = {k: v[i][j] for k, v in scores.items() if j < len(v[i])}
            ev.jets.append(jet)
    # electrons with the layer-2 cluster eta
    ecols = {v: col("AnalysisElectrons", v) for v in ("pt", "eta", "phi", "m", "DFCommonElectronsLHTight", "OQ")}
    clink = link("AnalysisElectrons", "caloClusterLinks")
    e_sampl = col("egammaClusters", "e_sampl")
    eta_sampl = col("egammaClusters", "eta_sampl")
    patterns = (_memberwise_patterns(tree["egammaClusters"]) if ttree
                else ak.to_list(tree["egammaClustersAuxDyn:samplingPattern"].array()))
    for i, ev in enumerate(events):
        for j in range(len(ecols["pt"][i])):
            el = {v: ecols[v][i][j] for v in ecols}
            c = clink[i][j][0]
            el["cluster_eta"] = eta_be2(patterns[i][c], e_sampl[i][c], eta_sampl[i][c])
            ev.electrons.append(el)
    mcols = {v: col("AnalysisMuons", v) for v in ("pt", "eta", "phi", "quality", "DFCommonMuonPassIDCuts",
                                                   "InnerDetectorPt")}
    for i, ev in enumerate(events):
        for j in range(len(mcols["pt"][i])):
            ev.muons.append({v: mcols[v][i][j] for v in mcols})
    names = col("MET_Core_AnalysisMET", "name")
    mpx, mpy, sumet = (col("MET_Core_AnalysisMET", v) for v in ("mpx", "mpy", "sumet"))
    for i, ev in enumerate(events):
        k = names[i].index("PVSoftTrkCore")
        ev.soft = (mpx[i][k], mpy[i][k], sumet[i][k])
    return events


def eta_be2(pattern: int, e: list[float], eta: list[float]) -> float:
    """CaloCluster_v1::etaBE(2): EMB2 (sampling 2) and/or EME2 (sampling 6)."""
    def sample(s):
        if not pattern >> s & 1:
            return None
        pos = bin(pattern & ((1 << s) - 1)).count("1")
        return (e[pos], eta[pos]) if pos < len(e) else None
    b, en = sample(2), sample(6)
    if b and en:
        total = b[0] + en[0]
        return (b[0] * b[1] + en[0] * en[1]) / total if total > 100 else 0.5 * (b[1] + en[1])
    if b:
        return b[1]
    if en:
        return en[1]
    return -999.0


# --- object selections of the fidelity config -------------------------------------------
def electron_tight(el: dict) -> bool:
    a = abs(el["cluster_eta"])
    return (bool(el["DFCommonElectronsLHTight"]) and (int(el["OQ"]) & BADCLUSELECTRON) == 0
            and a <= EL_MAX_ETA and (a < CRACK[0] or a > CRACK[1]) and el["pt"] >= EL_MIN_PT
            and el["pt"] >= 25000.0)  # PtEtaSelection minPt 25 GeV, maxEta 2.47 on the cluster


def muon_tight(mu: dict) -> bool:
    return ((int(mu["quality"]) & 3) <= 1 and bool(mu["DFCommonMuonPassIDCuts"]) and abs(mu["eta"]) <= MU_MAX_ETA
            and mu["pt"] >= MU_MIN_PT and mu["pt"] >= 25000.0 and abs(mu["eta"]) <= 2.5)


def jvt_pass(jet: dict) -> bool:
    in_range = 20000.0 <= jet["pt"] <= 60000.0 and abs(jet["DetectorEta"]) <= 2.5
    return (not in_range) or bool(jet["NNJvtPass"])


def jet_baseline_jvt(jet: dict) -> bool:
    return jet["pt"] >= 20000.0 and abs(jet["eta"]) <= 4.5 and jvt_pass(jet)


def tagger_weight(tagger: str, s: dict) -> float | None:
    fc, ftau, _ = TAGGER[tagger]
    pb, pc, pu = (s.get(f"{tagger}_{p}") for p in ("pb", "pc", "pu"))
    if pb is None or pc is None or pu is None:
        return None
    ptau = s.get(f"{tagger}_ptau", 0.0) if ftau else 0.0
    return math.log(pb / (fc * pc + (1 - fc - ftau) * pu + ftau * ptau))


def tagged(tagger: str, wp: str, jet: dict, scores_key: str = "scores") -> bool:
    w = tagger_weight(tagger, jet[scores_key])
    return w is not None and abs(jet["eta"]) <= BTAG_MAX_ETA and w >= TAGGER[tagger][2][wp]


def dl1_quantile(jet: dict) -> int:
    w = tagger_weight("DL1dv01", jet["scores"])
    if w is None or abs(jet["eta"]) > BTAG_MAX_ETA:
        return -1
    return 1 + sum(w >= TAGGER["DL1dv01"][2][wp] for wp in DL1_CONTINUOUS)


# --- METMaker-like MET (docs/emulator.md, "MissingET") -----------------------------------
def _dr(a, b) -> float:
    dphi = (a["phi"] - b["phi"] + math.pi) % (2 * math.pi) - math.pi
    return math.hypot(a["eta"] - b["eta"], dphi)


def met(ev: Event) -> tuple[float, float]:
    """(met, phi) from the selected electrons and muons, every jet and the track soft term."""
    els = [e for e in ev.electrons if electron_tight(e)]
    mus = [m for m in ev.muons if muon_tight(m)]
    vx = vy = 0.0
    for o in els + mus:
        vx += o["pt"] * math.cos(o["phi"])
        vy += o["pt"] * math.sin(o["phi"])
    sx, sy = -ev.soft[0], -ev.soft[1]
    for j in ev.jets:
        aeta = abs(j["eta"])
        selected = (aeta < 2.5 and j["pt"] > 20000.0) or (aeta >= 2.5 and j["pt"] > 30000.0)
        reject = not jvt_pass(j)
        near_e = [e for e in els if _dr(j, e) < 0.2]
        e_ov = sum(e["pt"] * math.cosh(e["eta"]) for e in near_e)  # electron mass neglected below 1e-6
        px_ov = sum(e["pt"] * math.cos(e["phi"]) for e in near_e)
        py_ov = sum(e["pt"] * math.sin(e["phi"]) for e in near_e)
        trk_ov = sum(e["pt"] for e in near_e)
        for m in mus:
            if _dr(j, m) < 0.4:
                mu = m["InnerDetectorPt"]
                tsum = j["trk_sumpt"] + (mu if 0.9999 * mu > j["trk_sumpt"] else 0.0)
                if (not reject and mu > 1e-9 and tsum > 1e-9 and j["pt"] / mu < 2 and mu / tsum > 0.8
                        and j["trk_n"] < 5):
                    reject = True
                trk_ov += mu
        cpt, ceta, cphi, cm = (j[f"JetConstitScaleMomentum_{v}"] for v in ("pt", "eta", "phi", "m"))
        ce = math.sqrt((cpt * math.cosh(ceta)) ** 2 + cm ** 2)
        overlap = e_ov > 0
        uniquefrac = 1 - e_ov / ce if overlap else 1.0
        opt = math.hypot(cpt * math.cos(cphi) - px_ov, cpt * math.sin(cphi) - py_ov)
        hard = selected and not reject and (not overlap or (uniquefrac > 0 and opt > 20000.0))
        if hard:
            vx += uniquefrac * j["pt"] * math.cos(j["phi"])
            vy += uniquefrac * j["pt"] * math.sin(j["phi"])
        elif aeta < 2.5:
            t = max(j["trk_sumpt"] - trk_ov, 0.0)
            sx += t * math.cos(j["phi"])
            sy += t * math.sin(j["phi"])
    mx, my = -(vx + sx), -(vy + sy)
    return math.hypot(mx, my), math.atan2(my, mx)


def first_lepton(ev: Event) -> tuple[int, float, float]:
    """TransverseMassSelectorAlg: first selected electron and first selected muon."""
    leptons = []
    for coll, sel in ((ev.electrons, electron_tight), (ev.muons, muon_tight)):
        first = next((o for o in coll if sel(o)), None)
        if first is not None:
            leptons.append(first)
    if len(leptons) != 1:
        return len(leptons), 0.0, 0.0
    return 1, leptons[0]["pt"], leptons[0]["phi"]
