"""Detector-level objects: kinematics per emulated shift and the selections of the
Jets / Electrons / Muons / Photons / TauJets blocks, computed from stored PHYSLITE variables.

PHYSLITE objects are already calibrated; the emulator takes their stored kinematics as the
calibrated ones. Each block's own preselection is applied as athena does it (into the
container's default selection, which every named selection includes):

* Electrons (ElectronCalibrationConfig): ``ElectronEtaCutAlg`` |etaBE(2)| <= ``maxEta``
  (2.47) on the cluster with the ``crackVeto`` gap 1.37-1.52 on the same cluster eta,
  ``goodOQ`` ((OQ & BADCLUSELECTRON 0x5A6) == 0), ``ElectronPtCutAlg`` pT >= ``minPt`` (4.5 GeV).
* Muons (MuonCalibrationConfig): |eta| <= ``maxEta`` (2.7), pT >= ``minPt`` (3 GeV).
* Jets (SmallRJetAnalysisConfig): ``baselineJvt`` from the NNJvtSelectionTool whenever
  ``runJvtSelection`` (default True): NNJvtPass inside 20 <= pT <= 60 GeV and
  |DetectorEta| <= 2.5, every jet outside that range passes.

Cut boundaries follow AsgPtEtaSelectionTool: pT >= minPt, pT < maxPt, |eta| > minEta,
|eta| <= maxEta, the gap keeps |eta| < low or |eta| > high, |y| <= maxRapidity.
Identification comes from the DFCommon flags (electrons, photons), the stored muon quality
and the tau ID flags; isolation is approximated with cuts on the stored cones
(docs/emulator.md). Everything is vectorised over flat arrays of a chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from . import ftag
from . import jagged as jg
from .config import sub_instances
from .kinematics import energy, object_sign, rapidity, to_bool
from .syscatalog import SHIFT_SIZE

MUON_MASS = 105.6583755
GEV = 1000.0

#: Block name -> (kind, systematics target, default PHYSLITE container).
BLOCK_KINDS = {
    "Jets": ("jets", "jets", "AnalysisJets"),
    "Electrons": ("electrons", "egamma", "AnalysisElectrons"),
    "Muons": ("muons", "muons", "AnalysisMuons"),
    "Photons": ("photons", "egamma", "AnalysisPhotons"),
    "TauJets": ("taus", "", "AnalysisTauJets"),
}

JET_COLLECTIONS = {
    "AntiKt4EMPFlowJets": "AnalysisJets",
    "AntiKt10UFOCSSKSoftDropBeta100Zcut10Jets": "AnalysisLargeRJets",
}

ELECTRON_ID = {
    "TightLH": "DFCommonElectronsLHTight",
    "MediumLH": "DFCommonElectronsLHMedium",
    "LooseBLayerLH": "DFCommonElectronsLHLooseBL",
    "LooseLH": "DFCommonElectronsLHLoose",
    "VeryLooseLH": "DFCommonElectronsLHVeryLoose",
    "TightDNN": "DFCommonElectronsDNNTight",
    "MediumDNN": "DFCommonElectronsDNNMedium",
    "LooseDNN": "DFCommonElectronsDNNLoose",
    "TightNoCFDNN": "DFCommonElectronsDNNTightNoCF",
    "MediumNoCFDNN": "DFCommonElectronsDNNMediumNoCF",
    "VeryLooseNoCF97DNN": "DFCommonElectronsDNNVeryLooseNoCF97",
}

PHOTON_ID = {"Tight": "DFCommonPhotonsIsEMTight", "Loose": "DFCommonPhotonsIsEMLoose",
             "Medium": "DFCommonPhotonsIsEMTight"}

#: xAOD::Muon::Quality: 0 Tight, 1 Medium, 2 Loose, 3 VeryLoose (a tighter muon has a lower value).
MUON_QUALITY = {"Tight": 0, "Medium": 1, "Loose": 2, "VeryLoose": 3, "LowPt": 1, "LowPtEfficiency": 1,
                "HighPt": 0}

TAU_ID = {
    "Tight": ("JetDeepSetTight", "GNTauT_v0prune"),
    "Medium": ("JetDeepSetMedium", "GNTauM_v0prune"),
    "Loose": ("JetDeepSetLoose", "GNTauL_v0prune"),
    "VeryLoose": ("JetDeepSetVeryLoose", "GNTauVL_v0prune"),
}

EL_TRK = "ptvarcone30_Nonprompt_All_MaxWeightTTVALooseCone_pt1000"
EL_TRK20 = "ptcone20_Nonprompt_All_MaxWeightTTVALooseCone_pt1000"
MU_TRK = "ptvarcone30_Nonprompt_All_MaxWeightTTVA_pt1000"
MU_TRK500 = "ptvarcone30_Nonprompt_All_MaxWeightTTVA_pt500"

ISO_COLUMNS = {
    "electrons": [EL_TRK, EL_TRK20, "topoetcone20"],
    "muons": [MU_TRK, MU_TRK500, "neflowisol20", "topoetcone20"],
    "photons": ["topoetcone20", "topoetcone40", "ptcone20"],
}

ID_COLUMNS = {
    "electrons": sorted(set(ELECTRON_ID.values())) + ["OQ", "caloClusterLinks.m_persIndex"],
    "muons": ["quality", "DFCommonMuonPassIDCuts", "InnerDetectorPt"],
    "photons": sorted(set(PHOTON_ID.values())),
    "taus": sorted({n for pair in TAU_ID.values() for n in pair}),
    "jets": ["NNJvtPass", "DetectorEta", ftag.LINK, "JetConstitScaleMomentum_pt",
             "JetConstitScaleMomentum_eta", "JetConstitScaleMomentum_phi", "JetConstitScaleMomentum_m",
             "SumPtTrkPt500", "NumTrkPt500"],
}

#: egamma clusters: the layer-2 eta needs the energies, etas and which layers are stored.
CLUSTERS = "egammaClusters"
CLUSTER_COLUMNS = [(CLUSTERS, v) for v in ("e_sampl", "eta_sampl", "samplingPattern")]
#: xAOD::EgammaParameters::BADCLUSELECTRON (EgammaDefs.h)
BADCLUSELECTRON = 0x5A6
CRACK = (1.37, 1.52)
#: NNJvtSelectionTool range (JvtSelectionToolBase: MinPtForJvt 20 GeV, MaxPtForJvt 60 GeV
#: as configured, MaxEtaForJvt 2.5 on DetectorEta); jets outside it pass.
JVT_PT = (20 * GEV, 60 * GEV)
JVT_MAX_ETA = 2.5


@dataclass
class ObjectDef:
    """One object-block instance (e.g. Jets with containerName AnaJets)."""

    name: str
    kind: str
    target: str
    source: str
    base_cuts: dict
    named_cuts: dict[str, dict]
    crack_veto: bool
    working_points: list[dict]
    jvt: bool
    ftag: list[tuple[str, str]]
    block_min_pt: float | None = None
    block_max_eta: float | None = None
    calib_mode: str = "correctData_CB"
    decorrelation: str = "1NP_v1"
    jes_model: str = "Category"
    jer_model: str = "Full"
    warnings: list[str] = field(default_factory=list)

    def columns(self) -> list[tuple[str, str]]:
        cols = [(self.source, v) for v in ("pt", "eta", "phi")]
        if self.kind in ("jets", "electrons", "taus", "photons"):
            cols.append((self.source, "m"))
        if self.kind in ("electrons", "muons", "taus"):
            cols.append((self.source, "charge"))
        cols += [(self.source, v) for v in ID_COLUMNS.get(self.kind, [])]
        cols += [(self.source, v) for v in ISO_COLUMNS.get(self.kind, [])]
        if self.kind == "electrons":
            cols += CLUSTER_COLUMNS
        for tagger, _ in self.ftag:
            if tagger in ftag.TAGGERS:
                cols += ftag.score_columns(tagger)
        return cols


def parse_objects(blocks: dict[str, list[dict]]) -> list[ObjectDef]:
    """Build ObjectDefs from the object blocks' instances (``{"Jets": [...], ...}``)."""
    out = []
    for block, instances in blocks.items():
        kind, target, default_source = BLOCK_KINDS[block]
        for inst in instances:
            source = default_source
            if kind == "jets":
                source = JET_COLLECTIONS.get(inst.get("jetCollection", ""), default_source)
            base: dict = {}
            named: dict[str, dict] = {}
            for pe in sub_instances(inst, "PtEtaSelection"):
                sel = pe.get("selectionName", "") or ""
                if sel:
                    named[sel] = pe
                else:
                    base.update(pe)
            tags = []
            for ft in sub_instances(inst, "FlavourTagging"):
                tags.append((ft.get("btagger", "GN2v01"), ft.get("btagWP", "Continuous")))
            defaults = {"electrons": (4.5 * GEV, 2.47), "muons": (3.0 * GEV, 2.7)}.get(kind, (None, None))
            emp_flow = kind == "jets" and "EMPFlow" in str(inst.get("jetCollection", "AntiKt4EMPFlowJets"))
            out.append(ObjectDef(
                name=inst.get("containerName", ""),
                kind=kind,
                target=target,
                source=source,
                base_cuts=base,
                named_cuts=named,
                crack_veto=bool(inst.get("crackVeto", False)),
                working_points=sub_instances(inst, "WorkingPoint"),
                jvt=emp_flow and source == "AnalysisJets" and bool(inst.get("runJvtSelection", True)),
                ftag=tags,
                block_min_pt=float(inst.get("minPt", defaults[0])) if defaults[0] is not None else None,
                block_max_eta=float(inst.get("maxEta", defaults[1])) if defaults[1] is not None else None,
                calib_mode=str(inst.get("calibMode", "correctData_CB")),
                decorrelation=str(inst.get("decorrelationModel", "1NP_v1")),
                jes_model=str(inst.get("systematicsModelJES", "Category")),
                jer_model=str(inst.get("systematicsModelJER", "Full")),
            ))
    return out


def pt_eta_mask(pt: np.ndarray, eta: np.ndarray, y: np.ndarray | None, opts: dict,
                cluster_eta: np.ndarray | None = None) -> np.ndarray:
    """PtEtaSelection (AsgPtEtaSelectionTool boundaries); ``useClusterEta`` uses ``cluster_eta``."""
    mask = np.ones(len(pt), dtype=bool)
    aeta = np.abs(cluster_eta if opts.get("useClusterEta") and cluster_eta is not None else eta)
    if opts.get("minPt"):
        mask &= pt >= float(opts["minPt"])
    if opts.get("maxPt"):
        mask &= pt < float(opts["maxPt"])
    if opts.get("minEta"):
        mask &= aeta > float(opts["minEta"])
    if opts.get("maxEta"):
        mask &= aeta <= float(opts["maxEta"])
    lo, hi = opts.get("etaGapLow"), opts.get("etaGapHigh")
    if hi:
        mask &= (aeta < float(lo or 0.0)) | (aeta > float(hi))
    if opts.get("maxRapidity") and y is not None:
        mask &= np.abs(y) <= float(opts["maxRapidity"])
    return mask


@dataclass
class Objects:
    """One container's objects in a chunk for one emulated shift: flat arrays + layout."""

    layout: jg.Layout
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    m: np.ndarray
    selections: dict[str, np.ndarray]  # "" = base (block preselection + PtEta), then the named ones

    @property
    def e(self) -> np.ndarray:
        return energy(self.pt, self.eta, self.m)


@dataclass
class Fixed:
    """What does not change with any shift: charge, b-tagging, MET inputs, cluster eta."""

    charge: np.ndarray | None = None
    ftag: dict[str, np.ndarray] = field(default_factory=dict)  # ftag_select_* / ftag_quantile_*
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. jvt_pass, constituent p4


def cluster_eta_be2(e_layout: jg.Layout, link: np.ndarray, pattern: ak.Array, e_sampl: ak.Array,
                    eta_sampl: ak.Array) -> np.ndarray:
    """Each electron's ``caloCluster()->etaBE(2)`` (xAOD::CaloCluster_v1::etaBE).

    Layer 2 is EMB2 (sampling 2) or EME2 (sampling 6); a stored sampling's position in
    ``e_sampl``/``eta_sampl`` is the number of set pattern bits below it. Both present:
    energy-weighted mean if the sum exceeds 100 MeV, else the plain mean; one present: its
    eta; none: -999. Electrons without a valid cluster link get NaN.
    """
    c_layout, pat = jg.split(pattern)
    pat = pat.astype(np.uint32)
    s_layout, e_vals = jg.split(ak.flatten(e_sampl, axis=1))
    _, eta_vals = jg.split(ak.flatten(eta_sampl, axis=1))
    starts = s_layout.offsets[:-1]
    n_stored = s_layout.counts

    def layer(sampling: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        has = (pat >> np.uint32(sampling)) & np.uint32(1) == 1
        below = pat & np.uint32((1 << sampling) - 1)
        pos = np.zeros(len(pat), dtype=np.int64)
        for bit in range(sampling):
            pos += ((below >> np.uint32(bit)) & np.uint32(1)).astype(np.int64)
        ok = has & (pos < n_stored)
        idx = np.where(ok, starts + pos, 0)
        e = np.where(ok, e_vals[idx] if len(e_vals) else 0.0, 0.0)
        eta = np.where(ok, eta_vals[idx] if len(eta_vals) else 0.0, 0.0)
        return ok, e, eta

    hb, eb, etab = layer(2)
    he, ee, etae = layer(6)
    esum = eb + ee
    both = hb & he
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = np.where(esum > 100.0, (eb * etab + ee * etae) / np.where(esum != 0, esum, 1.0),
                            0.5 * (etab + etae))
    cl_eta = np.where(both, weighted, np.where(hb, etab, np.where(he, etae, -999.0)))
    return jg.gather_in_event(c_layout, cl_eta, e_layout, link)


class RecoObjects:
    """Evaluates one ObjectDef on a chunk: per-shift states plus fixed decorations."""

    def __init__(self, odef: ObjectDef, shifts: list[str]) -> None:
        self.odef = odef
        self.shifts = shifts  # the distinct emulated shifts of this container's target
        self.warned: set[str] = set()

    def _warn(self, text: str) -> None:
        if text not in self.warned:
            self.warned.add(text)
            self.odef.warnings.append(text)

    def _col(self, raw: dict, var: str, layout: jg.Layout | None = None) -> np.ndarray | None:
        a = raw.get((self.odef.source, var))
        if a is None:
            return None
        if layout is None:
            return jg.split(a)[1]
        return jg.values(a, layout)

    def evaluate(self, raw: dict, event_number: np.ndarray) -> tuple[dict[str | None, Objects], Fixed]:
        """Return ({shift or None for nominal: state}, fixed decorations)."""
        d = self.odef
        layout, pt0 = jg.split(raw[(d.source, "pt")])
        pt0 = pt0.astype(np.float64)
        eta = self._col(raw, "eta", layout).astype(np.float64)
        phi = self._col(raw, "phi", layout).astype(np.float64)
        m_col = self._col(raw, "m", layout)
        m0 = m_col.astype(np.float64) if m_col is not None else np.full(len(pt0), MUON_MASS if d.kind == "muons" else 0.0)
        fixed = Fixed()
        charge = self._col(raw, "charge", layout)
        if charge is not None:
            fixed.charge = charge
        cluster_eta = self._cluster_eta(raw, layout, eta) if d.kind == "electrons" else None
        if d.kind == "jets":
            self._jet_extras(raw, layout, fixed)
            fixed.ftag = self._ftag(raw, layout, eta)
        if d.kind == "muons":
            idpt = self._col(raw, "InnerDetectorPt", layout)
            fixed.extra["id_pt"] = idpt.astype(np.float64) if idpt is not None else pt0
        id_masks = self._id_masks(raw, layout, pt0)
        iso_inputs = {v: self._col(raw, v, layout) for v in ISO_COLUMNS.get(d.kind, [])}
        fixed_cuts = self._fixed_cuts(raw, layout, eta, cluster_eta)
        states: dict[str | None, Objects] = {
            None: self._state(layout, pt0, eta, phi, m0, id_masks, iso_inputs, fixed_cuts, cluster_eta, fixed)}
        if self.shifts:
            sign = object_sign(event_number[layout.event], layout.local)
        for shift in self.shifts:
            kind, direction = shift[:-1], 1.0 if shift.endswith("+") else -1.0
            size = SHIFT_SIZE[(d.target, kind)]
            factor = 1.0 + direction * size * (sign if kind == "smear" else 1.0)
            states[shift] = self._state(layout, pt0 * factor, eta, phi, m0 * factor, id_masks, iso_inputs,
                                        fixed_cuts, cluster_eta, fixed)
        return states, fixed

    # ---------------------------------------------------------------- per shift
    def _state(self, layout, pt, eta, phi, m, id_masks, iso_inputs, fixed_cuts, cluster_eta, fixed) -> Objects:
        d = self.odef
        need_y = d.base_cuts.get("maxRapidity") or any(c.get("maxRapidity") for c in d.named_cuts.values())
        y = rapidity(pt, eta, m) if need_y else None
        base = pt_eta_mask(pt, eta, y, d.base_cuts, cluster_eta) & fixed_cuts
        if d.block_min_pt:
            base &= pt >= d.block_min_pt
        sels: dict[str, np.ndarray] = {"": base}
        if d.jvt:
            jvt_pass = fixed.extra.get("nnjvt_pass")
            det_eta = fixed.extra.get("detector_eta", eta)
            in_range = (pt >= JVT_PT[0]) & (pt <= JVT_PT[1]) & (np.abs(det_eta) <= JVT_MAX_ETA)
            jvt_ok = ~in_range | jvt_pass if jvt_pass is not None else np.ones(len(pt), dtype=bool)
            sels["baselineJvt"] = base & jvt_ok
        for wp in d.working_points:
            name = wp.get("selectionName", "")
            if name:
                sels[name] = base & id_masks[name] & self._isolation(wp, iso_inputs, pt)
        for name, opts in d.named_cuts.items():
            # PtEtaSelection with a selectionName joins that selection (AND) or starts it
            sels[name] = sels.get(name, base) & pt_eta_mask(pt, eta, y, opts, cluster_eta)
        return Objects(layout, pt, eta, phi, m, sels)

    # ---------------------------------------------------------------- fixed parts
    def _fixed_cuts(self, raw, layout, eta, cluster_eta) -> np.ndarray:
        """Block preselection that does not depend on pT: eta windows, crack veto, OQ."""
        d = self.odef
        ok = np.ones(layout.n_objects, dtype=bool)
        if d.kind == "electrons":
            aeta = np.abs(cluster_eta)
            with np.errstate(invalid="ignore"):
                if d.block_max_eta:
                    ok &= aeta <= d.block_max_eta
                if d.crack_veto:
                    ok &= (aeta < CRACK[0]) | (aeta > CRACK[1])
            oq = self._col(raw, "OQ", layout)
            if oq is None:
                self._warn(f"{d.name}: OQ not in the input: the goodOQ cut is not applied")
            else:
                ok &= (oq.astype(np.uint32) & np.uint32(BADCLUSELECTRON)) == 0
        elif d.kind == "muons" and d.block_max_eta:
            ok &= np.abs(eta) <= d.block_max_eta
        elif d.kind == "photons" and d.crack_veto:
            aeta = np.abs(eta)
            ok &= (aeta < CRACK[0]) | (aeta > CRACK[1])
        return ok

    def _cluster_eta(self, raw, layout, eta) -> np.ndarray:
        d = self.odef
        link = raw.get((d.source, "caloClusterLinks.m_persIndex"))
        cols = [raw.get(c) for c in CLUSTER_COLUMNS]
        if link is None or any(c is None for c in cols):
            self._warn(f"{d.name}: the egammaClusters layer-2 eta (etaBE(2)) cannot be read from this "
                       "input: the track eta stands in for the cluster eta")
            return eta
        first = ak.fill_none(ak.firsts(link, axis=2), -1)
        link_flat = jg.values(first, layout).astype(np.int64)
        e_sampl, eta_sampl, pattern = cols
        out = cluster_eta_be2(layout, link_flat, pattern, e_sampl, eta_sampl)
        missing = np.isnan(out)
        if np.any(missing):
            self._warn(f"{d.name}: some electrons have no valid cluster link: their track eta is used")
            out = np.where(missing, eta, out)
        return out

    def _jet_extras(self, raw, layout, fixed: Fixed) -> None:
        d = self.odef
        nn = self._col(raw, "NNJvtPass", layout)
        if nn is None and d.jvt:
            self._warn(f"{d.name}: NNJvtPass not in the input: JVT treated as passing")
        if nn is not None:
            fixed.extra["nnjvt_pass"] = to_bool(nn)
        det = self._col(raw, "DetectorEta", layout)
        if det is not None:
            fixed.extra["detector_eta"] = det.astype(np.float64)
        for v in ("pt", "eta", "phi", "m"):
            c = self._col(raw, f"JetConstitScaleMomentum_{v}", layout)
            if c is not None:
                fixed.extra[f"const_{v}"] = c.astype(np.float64)
        pv = raw.get(("PrimaryVertices", "vertexType"))
        for var, key in (("SumPtTrkPt500", "trk_sumpt"), ("NumTrkPt500", "trk_n")):
            a = raw.get((d.source, var))
            if a is None:
                continue
            fixed.extra[key] = _at_primary_vertex(a, layout, pv)

    def _ftag(self, raw, layout, eta) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        d = self.odef
        link_col = raw.get((d.source, ftag.LINK))
        for tagger, wp in d.ftag:
            key = f"ftag_quantile_{tagger}_Continuous" if wp == "Continuous" else f"ftag_select_{tagger}_{wp}"
            reason = None
            scores = {}
            if tagger not in ftag.TAGGERS or (wp != "Continuous" and wp not in ftag.TAGGERS[tagger].cuts):
                reason = "it is not emulated"
            else:
                for var in ftag.score_columns(tagger):
                    col = raw.get(var)
                    if col is not None:
                        scores[var[1].rsplit("_", 1)[1]] = col
                if not all(k in scores for k in ("pb", "pc", "pu")):
                    reason = "its scores are not in the input file"
                elif link_col is None:
                    reason = "the jets' btaggingLink is not in the input file"
            if reason:
                self._warn(f"{d.name}: b-tagger {tagger} ({wp}): {reason}; {key} is "
                           f"{'-1' if wp == 'Continuous' else 'false'} for every jet")
                out[key] = (np.full(layout.n_objects, -1, dtype=np.int32) if wp == "Continuous"
                            else np.zeros(layout.n_objects, dtype=bool))
                continue
            link = jg.values(link_col, layout).astype(np.int64)
            btag_layout = jg.split(scores["pb"])[0]
            flat = {k: jg.split(v)[1] for k, v in scores.items()}
            per_jet = ftag.scores_for_jets(layout, link, btag_layout, flat)
            disc = ftag.discriminant(tagger, per_jet)
            out[key] = ftag.quantile(tagger, disc, eta) if wp == "Continuous" else ftag.tag(tagger, wp, disc, eta)
        return out

    # ---------------------------------------------------------------- identification / isolation
    def _id_masks(self, raw, layout, pt0) -> dict[str, np.ndarray]:
        out = {}
        for wp in self.odef.working_points:
            name = wp.get("selectionName", "")
            if name:
                out[name] = self._identification(raw, layout, wp)
        return out

    def _flag(self, raw, layout, var: str, what: str) -> np.ndarray:
        col = self._col(raw, var, layout)
        if col is None:
            self._warn(f"{self.odef.name}: {var} not in the input: {what} fails every object")
            return np.zeros(layout.n_objects, dtype=bool)
        return to_bool(col)

    def _identification(self, raw, layout, wp: dict) -> np.ndarray:
        d = self.odef
        n = layout.n_objects
        if d.kind == "electrons":
            idwp = wp.get("identificationWP", "TightLH")
            var = ELECTRON_ID.get(idwp)
            if var is None:
                self._warn(f"{d.name}: identificationWP {idwp} not emulated: treated as TightLH")
                var = ELECTRON_ID["TightLH"]
            return self._flag(raw, layout, var, f"identificationWP {idwp}")
        if d.kind == "muons":
            q = wp.get("quality", "Medium")
            limit = MUON_QUALITY.get(q, 1)
            col = self._col(raw, "quality", layout)
            if col is None:
                self._warn(f"{d.name}: muon quality not in the input: quality {q} fails every muon")
                return np.zeros(n, dtype=bool)
            # The stored byte packs xAOD::Muon::Quality in its low two bits (higher bits hold
            # other flags: the test files have 8, 9, 10 for Tight, Medium, Loose).
            ok = (col.astype(np.int64) & 3) <= limit
            id_cuts = self._col(raw, "DFCommonMuonPassIDCuts", layout)
            return ok & to_bool(id_cuts) if id_cuts is not None else ok
        if d.kind == "photons":
            q = wp.get("qualityWP", "Tight")
            return self._flag(raw, layout, PHOTON_ID.get(q, PHOTON_ID["Tight"]), f"qualityWP {q}")
        if d.kind == "taus":
            q = wp.get("quality", "Tight")
            if q not in TAU_ID:  # Baseline, BaselineForFakes
                return np.ones(n, dtype=bool)
            run2, run3 = TAU_ID[q]
            var = run2 if (d.source, run2) in raw else run3
            return self._flag(raw, layout, var, f"tau quality {q}")
        return np.ones(n, dtype=bool)

    def _isolation(self, wp: dict, c: dict, pt: np.ndarray) -> np.ndarray:
        d = self.odef
        n = len(pt)
        if d.kind == "electrons":
            iso = wp.get("isolationWP", "NonIso")
            trk, trk20, calo = c.get(EL_TRK), c.get(EL_TRK20), c.get("topoetcone20")
            table = {
                "Loose_VarRad": lambda: (trk / pt < 0.15) & (calo / pt < 0.20),
                "Tight_VarRad": lambda: (trk / pt < 0.06) & (calo / pt < 0.06),
                "TightTrackOnly_VarRad": lambda: trk / pt < 0.06,
                "TightTrackOnly_FixedRad": lambda: np.where(pt < 50000.0, trk, trk20) / pt < 0.06,
                "HighPtCaloOnly": lambda: calo < np.maximum(0.015 * pt, 3500.0),
            }
            needed = {"HighPtCaloOnly": [calo], "TightTrackOnly_VarRad": [trk],
                      "TightTrackOnly_FixedRad": [trk, trk20]}.get(iso, [trk, calo])
        elif d.kind == "muons":
            iso = wp.get("isolation", "NonIso")
            trk, trk500, nef, calo = c.get(MU_TRK), c.get(MU_TRK500), c.get("neflowisol20"), c.get("topoetcone20")
            table = {
                "PflowLoose_VarRad": lambda: (trk500 + 0.4 * nef) / pt < 0.16,
                "PflowTight_VarRad": lambda: (trk500 + 0.4 * nef) / pt < 0.045,
                "Loose_VarRad": lambda: (trk / pt < 0.15) & (calo / pt < 0.30),
                "Tight_VarRad": lambda: (trk / pt < 0.04) & (calo / pt < 0.15),
            }
            needed = [trk500, nef] if str(iso).startswith("Pflow") else [trk, calo]
        elif d.kind == "photons":
            iso = wp.get("isolationWP", "NonIso")
            e20, e40, p20 = c.get("topoetcone20"), c.get("topoetcone40"), c.get("ptcone20")
            table = {
                "FixedCutTight": lambda: (e40 < 0.022 * pt + 2450.0) & (p20 / pt < 0.05),
                "FixedCutLoose": lambda: (e20 < 0.065 * pt) & (p20 / pt < 0.05),
                "TightCaloOnly": lambda: e40 < 0.022 * pt + 2450.0,
            }
            needed = [e40] if iso == "TightCaloOnly" else [e20, e40, p20]
        else:
            return np.ones(n, dtype=bool)
        if iso == "NonIso" or not iso:
            return np.ones(n, dtype=bool)
        if iso not in table:
            self._warn(f"{d.name}: isolation working point {iso} not emulated: treated as NonIso")
            return np.ones(n, dtype=bool)
        if any(x is None for x in needed):
            self._warn(f"{d.name}: isolation variables for {iso} not in the input: every object fails")
            return np.zeros(n, dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(table[iso](), dtype=bool)


def _at_primary_vertex(per_vertex: ak.Array, layout: jg.Layout, vertex_type: ak.Array | None) -> np.ndarray:
    """Per jet, the entry of a per-vertex vector at the primary vertex (vertexType 1, as
    METMaker's getPV picks it; the first vertex when the types are not stored)."""
    pv = np.zeros(layout.n_events, dtype=np.int64)
    if vertex_type is not None:
        vt_layout, vt = jg.split(vertex_type)
        is_pv = vt == 1
        first = jg.first(vt_layout, is_pv)
        pv = np.where(first >= 0, first - vt_layout.offsets[:-1], 0)
    jets_layout, inner = jg.split(ak.flatten(per_vertex, axis=1)) if layout.n_objects else (None, None)
    if jets_layout is None:
        return np.zeros(0)
    idx = pv[layout.event]
    ok = idx < jets_layout.counts
    out = np.zeros(layout.n_objects, dtype=np.float64)
    out[ok] = inner[jets_layout.offsets[:-1][ok] + idx[ok]]
    return out
