"""Detector-level objects: calibrated kinematics per systematic and the selections of the
Jets / Electrons / Muons / Photons / TauJets blocks, computed from stored PHYSLITE variables.

Identification comes from the DFCommon flags (electrons, photons), the stored muon quality
and the tau ID flags; isolation is approximated with cuts on the stored isolation cones
(docs/emulator.md lists them). Everything is vectorised over a chunk of events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from . import ftag
from .config import sub_instances
from .kinematics import energy, rapidity, to_bool
from .systematics import NOSYS, SystematicsPlan

MUON_MASS = 105.6583755

#: Block name -> (kind, systematics target, default PHYSLITE container).
BLOCK_KINDS = {
    "Jets": ("jets", "jets", "AnalysisJets"),
    "Electrons": ("electrons", "electrons", "AnalysisElectrons"),
    "Muons": ("muons", "muons", "AnalysisMuons"),
    "Photons": ("photons", "electrons", "AnalysisPhotons"),
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
MUON_QUALITY = {"Tight": 0, "Medium": 1, "Loose": 2, "VeryLoose": 3, "LowPt": 1, "HighPt": 0}

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
    "electrons": sorted(set(ELECTRON_ID.values())),
    "muons": ["quality", "DFCommonMuonPassIDCuts"],
    "photons": sorted(set(PHOTON_ID.values())),
    "taus": sorted({n for pair in TAU_ID.values() for n in pair}),
    "jets": ["NNJvtPass"],
}


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
    warnings: list[str] = field(default_factory=list)

    def columns(self) -> list[tuple[str, str]]:
        cols = [(self.source, v) for v in ("pt", "eta", "phi")]
        if self.kind in ("jets", "electrons", "taus", "photons"):
            cols.append((self.source, "m"))
        if self.kind in ("electrons", "muons", "taus"):
            cols.append((self.source, "charge"))
        cols += [(self.source, v) for v in ID_COLUMNS.get(self.kind, [])]
        cols += [(self.source, v) for v in ISO_COLUMNS.get(self.kind, [])]
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
                tags.append((ft.get("btagger", "GN2v01"), ft.get("btagWP", "FixedCutBEff_77")))
            out.append(ObjectDef(
                name=inst.get("containerName", ""),
                kind=kind,
                target=target,
                source=source,
                base_cuts=base,
                named_cuts=named,
                crack_veto=bool(inst.get("crackVeto", False)),
                working_points=sub_instances(inst, "WorkingPoint"),
                jvt=kind == "jets" and "JVT" in inst,
                ftag=tags,
            ))
    return out


def pt_eta_mask(pt: ak.Array, eta: ak.Array, y: ak.Array | None, opts: dict) -> ak.Array:
    """PtEtaSelection: minPt, maxPt, minEta, maxEta, etaGapLow/High, maxRapidity."""
    mask = pt > -np.inf
    aeta = abs(eta)
    if opts.get("minPt") is not None:
        mask = mask & (pt > float(opts["minPt"]))
    if opts.get("maxPt"):
        mask = mask & (pt < float(opts["maxPt"]))
    if opts.get("maxEta"):
        mask = mask & (aeta < float(opts["maxEta"]))
    if opts.get("minEta"):
        mask = mask & (aeta > float(opts["minEta"]))
    lo, hi = opts.get("etaGapLow"), opts.get("etaGapHigh")
    if lo is not None and hi is not None and float(hi) > float(lo):
        mask = mask & ~((aeta > float(lo)) & (aeta < float(hi)))
    if opts.get("maxRapidity") and y is not None:
        mask = mask & (abs(y) < float(opts["maxRapidity"]))
    return mask


@dataclass
class ObjectState:
    """One container's kinematics and selections for one systematic."""

    pt: ak.Array
    eta: ak.Array
    phi: ak.Array
    m: ak.Array
    selections: dict[str, ak.Array]  # "" = base (pt/eta/crack), then the named ones

    @property
    def e(self) -> ak.Array:
        return energy(self.pt, self.eta, self.m)


def _combine(ident: ak.Array, iso_fn):
    """ID mask (fixed) and isolation (a function of the possibly varied pt)."""
    return lambda pt: ident & iso_fn(pt)


class RecoObjects:
    """Evaluates one ObjectDef on a chunk: per-systematic states plus fixed decorations."""

    def __init__(self, odef: ObjectDef, sysplan: SystematicsPlan) -> None:
        self.odef = odef
        self.variations = sysplan.for_target(odef.target) if odef.target else []
        self.warned: set[str] = set()

    @property
    def affecting(self) -> list[str]:
        return [v.name for v in self.variations]

    def _warn(self, text: str) -> None:
        if text not in self.warned:
            self.warned.add(text)
            self.odef.warnings.append(text)

    def _col(self, raw: dict, var: str) -> ak.Array | None:
        return raw.get((self.odef.source, var))

    def evaluate(self, raw: dict) -> tuple[dict[str, ObjectState], dict[str, ak.Array]]:
        """Return ({sys: state}, fixed decorations such as charge and ftag flags)."""
        d = self.odef
        pt0 = self._col(raw, "pt")
        eta = self._col(raw, "eta")
        phi = self._col(raw, "phi")
        m0 = self._col(raw, "m")
        if m0 is None:
            m0 = ak.zeros_like(pt0) + (MUON_MASS if d.kind == "muons" else 0.0)
        fixed: dict[str, ak.Array] = {}
        charge = self._col(raw, "charge")
        if charge is not None:
            fixed["charge"] = charge
        id_iso = self._id_iso_masks(raw, pt0)
        fixed.update(self._ftag(raw, pt0))
        states = {NOSYS: self._state(pt0, eta, phi, m0, id_iso, raw, 1.0)}
        for v in self.variations:
            states[v.name] = self._state(pt0 * v.scale, eta, phi, m0 * v.scale, id_iso, raw, v.scale)
        return states, fixed

    def _state(self, pt, eta, phi, m, id_iso, raw, scale) -> ObjectState:
        d = self.odef
        y = rapidity(pt, eta, m) if d.base_cuts.get("maxRapidity") or any(
            c.get("maxRapidity") for c in d.named_cuts.values()) else None
        base = pt_eta_mask(pt, eta, y, d.base_cuts)
        if d.crack_veto:
            aeta = abs(eta)
            base = base & ~((aeta > 1.37) & (aeta < 1.52))
        sels: dict[str, ak.Array] = {"": base}
        if d.jvt:
            nn = self._col(raw, "NNJvtPass")
            if nn is None:
                self._warn(f"{d.name}: NNJvtPass not in the input: JVT treated as passing")
                jvt_ok = base
            else:
                # JVT only applies to 20-60 GeV central jets.
                exempt = (pt > 60000.0) | (abs(eta) > 2.4)
                jvt_ok = to_bool(nn) | exempt
            sels["baselineJvt"] = base & jvt_ok
        for name, opts in d.named_cuts.items():
            sels[name] = base & pt_eta_mask(pt, eta, y, opts)
        for wp in d.working_points:
            name = wp.get("selectionName", "")
            if not name:
                continue
            sels[name] = base & id_iso[name](pt)
        return ObjectState(pt, eta, phi, m, sels)

    # identification and isolation: functions of the (varied) pt, fixed otherwise
    def _id_iso_masks(self, raw: dict, pt0: ak.Array) -> dict:
        d = self.odef
        out = {}
        for wp in d.working_points:
            name = wp.get("selectionName", "")
            if not name:
                continue
            ident = self._identification(raw, wp, pt0)
            iso_fn = self._isolation(raw, wp)
            out[name] = _combine(ident, iso_fn)
        return out

    def _flag(self, raw: dict, var: str, pt0: ak.Array, what: str) -> ak.Array:
        col = self._col(raw, var)
        if col is None:
            self._warn(f"{self.odef.name}: {var} not in the input: {what} fails every object")
            return pt0 < -np.inf
        return to_bool(col)

    def _identification(self, raw: dict, wp: dict, pt0: ak.Array) -> ak.Array:
        d = self.odef
        if d.kind == "electrons":
            idwp = wp.get("identificationWP", "TightLH")
            var = ELECTRON_ID.get(idwp)
            if var is None:
                self._warn(f"{d.name}: identificationWP {idwp} not emulated: treated as TightLH")
                var = ELECTRON_ID["TightLH"]
            return self._flag(raw, var, pt0, f"identificationWP {idwp}")
        if d.kind == "muons":
            q = wp.get("quality", "Medium")
            limit = MUON_QUALITY.get(q, 1)
            col = self._col(raw, "quality")
            if col is None:
                self._warn(f"{d.name}: muon quality not in the input: quality {q} fails every muon")
                return pt0 < -np.inf
            # The stored byte packs xAOD::Muon::Quality in its low two bits (higher bits hold
            # other flags: the test files have 8, 9, 10 for Tight, Medium, Loose).
            ok = (col & 3) <= limit
            id_cuts = self._col(raw, "DFCommonMuonPassIDCuts")
            return ok & to_bool(id_cuts) if id_cuts is not None else ok
        if d.kind == "photons":
            q = wp.get("qualityWP", "Tight")
            return self._flag(raw, PHOTON_ID.get(q, PHOTON_ID["Tight"]), pt0, f"qualityWP {q}")
        if d.kind == "taus":
            q = wp.get("quality", "Tight")
            if q not in TAU_ID:  # Baseline, BaselineForFakes
                return pt0 > -np.inf
            run2, run3 = TAU_ID[q]
            var = run2 if self._col(raw, run2) is not None else run3
            return self._flag(raw, var, pt0, f"tau quality {q}")
        return pt0 > -np.inf

    def _isolation(self, raw: dict, wp: dict):
        d = self.odef
        c = lambda v: self._col(raw, v)  # noqa: E731
        if d.kind == "electrons":
            iso = wp.get("isolationWP", "NonIso")
            trk, trk20, calo = c(EL_TRK), c(EL_TRK20), c("topoetcone20")
            table = {
                "Loose_VarRad": lambda pt: (trk / pt < 0.15) & (calo / pt < 0.20),
                "Tight_VarRad": lambda pt: (trk / pt < 0.06) & (calo / pt < 0.06),
                "TightTrackOnly_VarRad": lambda pt: trk / pt < 0.06,
                "TightTrackOnly_FixedRad": lambda pt: ak.where(pt < 50000.0, trk, trk20) / pt < 0.06,
                "HighPtCaloOnly": lambda pt: calo < np.maximum(0.015 * pt, 3500.0),
            }
            needed = {"HighPtCaloOnly": [calo], "TightTrackOnly_VarRad": [trk],
                      "TightTrackOnly_FixedRad": [trk, trk20]}.get(iso, [trk, calo])
        elif d.kind == "muons":
            iso = wp.get("isolation", "NonIso")
            trk, trk500, nef, calo = c(MU_TRK), c(MU_TRK500), c("neflowisol20"), c("topoetcone20")
            table = {
                "PflowLoose_VarRad": lambda pt: (trk500 + 0.4 * nef) / pt < 0.16,
                "PflowTight_VarRad": lambda pt: (trk500 + 0.4 * nef) / pt < 0.045,
                "Loose_VarRad": lambda pt: (trk / pt < 0.15) & (calo / pt < 0.30),
                "Tight_VarRad": lambda pt: (trk / pt < 0.04) & (calo / pt < 0.15),
            }
            needed = [trk500, nef] if iso.startswith("Pflow") else [trk, calo]
        elif d.kind == "photons":
            iso = wp.get("isolationWP", "NonIso")
            e20, e40, p20 = c("topoetcone20"), c("topoetcone40"), c("ptcone20")
            table = {
                "FixedCutTight": lambda pt: (e40 < 0.022 * pt + 2450.0) & (p20 / pt < 0.05),
                "FixedCutLoose": lambda pt: (e20 < 0.065 * pt) & (p20 / pt < 0.05),
                "TightCaloOnly": lambda pt: e40 < 0.022 * pt + 2450.0,
            }
            needed = [e40] if iso == "TightCaloOnly" else [e20, e40, p20]
        else:
            return lambda pt: pt > -np.inf
        if iso == "NonIso" or not iso:
            return lambda pt: pt > -np.inf
        if iso not in table:
            self._warn(f"{d.name}: isolation working point {iso} not emulated: treated as NonIso")
            return lambda pt: pt > -np.inf
        if any(x is None for x in needed):
            self._warn(f"{d.name}: isolation variables for {iso} not in the input: every object fails")
            return lambda pt: pt < -np.inf
        return table[iso]

    def _ftag(self, raw: dict, pt0: ak.Array) -> dict[str, ak.Array]:
        out: dict[str, ak.Array] = {}
        d = self.odef
        for tagger, wp in d.ftag:
            scores = {}
            for var in ftag.score_columns(tagger) if tagger in ftag.TAGGERS else []:
                col = raw.get(var)
                if col is not None:
                    scores[var[1].rsplit("_", 1)[1]] = col
            present = all(k in scores for k in ("pb", "pc", "pu"))
            if present and not ak.all(ak.num(scores["pb"]) == ak.num(pt0)):
                present = False
            if wp == "Continuous":
                key = f"ftag_quantile_{tagger}_Continuous"
            else:
                key = f"ftag_select_{tagger}_{wp}"
            if not present or tagger not in ftag.TAGGERS or (
                wp != "Continuous" and wp not in ftag.TAGGERS[tagger].cuts
            ):
                why = ("its scores are not in the input file" if tagger in ftag.TAGGERS and not present
                       else "it is not emulated")
                self._warn(f"{d.name}: b-tagger {tagger} ({wp}): {why}; {key} is false for every jet")
                if wp == "Continuous":
                    out[key] = ak.values_astype(pt0 < -np.inf, np.int32) - 1
                else:
                    out[key] = pt0 < -np.inf
                continue
            disc = ftag.discriminant(tagger, scores)
            out[key] = ftag.quantile(tagger, disc) if wp == "Continuous" else ftag.tag(tagger, wp, disc)
        return out
