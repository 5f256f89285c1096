"""Particle level (particle.yaml, PL_* blocks from the truth containers) and parton level.

Particle level reads the dressed truth leptons, truth jets, neutrinos, photons, taus and the
truth MET that PHYSLITE stores; there are no kinematic systematics, only generator-weight
variations. Parton level writes the event-level variables and weights; the parton history
(TopCPToolkit's PartonHistory) needs the full truth record, which PHYSLITE does not keep, so
that block is reported as skipped.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from . import cuts as cutlib
from . import jagged as jg
from . import met as metlib
from .config import LevelConfig, sub_instances
from .kinematics import energy
from .objects import pt_eta_mask
from .output import ContainerOut, Deco, Decorations, assemble, parse_output
from .overlap import ORInput, overlap_removal
from .reco import EVENTINFO, ChunkResult
from .selection import (
    evaluate_regions,
    mc_weight_decos,
    parse_event_selection,
    selection_mask,
    split_ref,
)
from .systematics import NOSYS, SystematicsPlan

#: PL block -> (kind, default container, MCTruthClassifier isolated type or None)
PL_BLOCKS = {
    "PL_Electrons": ("electrons", "TruthElectrons", 2),
    "PL_Muons": ("muons", "TruthMuons", 6),
    "PL_Photons": ("photons", "TruthPhotons", 14),
    "PL_Neutrinos": ("neutrinos", "TruthNeutrinos", None),
    "PL_Taus": ("taus", "TruthTaus", None),
    "PL_Jets": ("jets", "AntiKt4TruthDressedWZJets", None),
}
TAU_ORIGIN = 9  # MCTruthClassifier ParticleOrigin TauLep
CHARGED = {"electrons": 11, "muons": 13, "taus": 15}


class _Truth:
    def __init__(self, block: str, inst: dict) -> None:
        self.kind, default, self.iso_type = PL_BLOCKS[block]
        self.name = str(inst.get("containerName", default))
        self.cuts: dict = {}
        for pe in sub_instances(inst, "PtEtaSelection"):
            self.cuts.update(pe)
        self.dressed = bool(self.cuts.get("useDressedProperties", False)) and self.kind in ("electrons", "muons")
        self.isolated = bool(inst.get("isolated", True)) and self.iso_type is not None
        self.not_from_tau = bool(inst.get("notFromTau", True)) and self.kind != "jets"

    def columns(self) -> list[tuple[str, str]]:
        c = self.name
        if self.kind == "jets":
            return [(c, v) for v in ("pt", "eta", "phi", "m")]
        if self.kind == "taus":
            return [(c, v) for v in ("pt_vis", "eta_vis", "phi_vis", "m_vis", "pdgId", "classifierParticleOrigin")]
        cols = [(c, v) for v in ("px", "py", "pz", "e", "m", "pdgId", "classifierParticleType",
                                 "classifierParticleOrigin")]
        if self.dressed:
            cols += [(c, v) for v in ("pt_dressed", "eta_dressed", "phi_dressed", "e_dressed")]
        return cols

    def evaluate(self, raw: dict, warn):
        c = self.name
        first = raw.get((c, "pt") if self.kind == "jets" else (c, "pt_vis") if self.kind == "taus" else (c, "px"))
        if first is None:
            what = {"jets": f"PL_Jets: truth jet container {c} not in the input; no jets",
                    "taus": f"PL_Taus: {c} visible kinematics not in the input; no taus"}
            warn(what.get(self.kind, f"{self.kind}: truth container {c} not in the input; none selected"))
            return None
        layout, _ = jg.split(first)

        def get(v):
            a = raw.get((c, v))
            return None if a is None else jg.values(a, layout).astype(np.float64)

        if self.kind == "jets":
            pt, eta, phi, m = get("pt"), get("eta"), get("phi"), get("m")
            e = energy(pt, eta, m)
        elif self.kind == "taus":
            pt, eta, phi, m = get("pt_vis"), get("eta_vis"), get("phi_vis"), get("m_vis")
            e = energy(pt, eta, m)
        else:
            px, py, pz = get("px"), get("py"), get("pz")
            if self.dressed and get("pt_dressed") is not None:
                pt, eta, phi, e = get("pt_dressed"), get("eta_dressed"), get("phi_dressed"), get("e_dressed")
            else:
                pt = np.hypot(px, py)
                eta = np.arcsinh(pz / np.where(pt > 0, pt, 1e-9))
                phi = np.arctan2(py, px)
                e = get("e")
            m = get("m") if get("m") is not None else np.zeros(len(pt))
        base = pt_eta_mask(pt, eta, None, self.cuts)
        ptype, origin = get("classifierParticleType"), get("classifierParticleOrigin")
        if self.isolated and ptype is not None:
            base = base & (ptype == self.iso_type)
        if self.not_from_tau and origin is not None:
            base = base & (origin != TAU_ORIGIN)
        fixed = {}
        pdg = get("pdgId")
        if pdg is not None and self.kind in CHARGED:
            fixed["charge"] = (-np.sign(pdg)).astype(np.float32)
        return {"layout": layout, "pt": pt.astype(np.float32), "eta": eta.astype(np.float32),
                "phi": phi.astype(np.float32), "m": m, "e": e.astype(np.float32),
                "sel": {"": base}, "fixed": fixed}


class ParticleLevel:
    """The emulated particle.yaml sequence."""

    def __init__(self, cfg: LevelConfig, sysplan: SystematicsPlan, *, is_mc: bool, dsid, warn) -> None:
        kw = {"is_mc": is_mc, "dsid": dsid}
        self.cfg, self.sysplan, self.warn, self.is_mc = cfg, sysplan, warn, is_mc
        self.objs: dict[str, _Truth] = {}
        for block in PL_BLOCKS:
            for inst in cfg.instances(block, **kw):
                t = _Truth(block, inst)
                self.objs[t.name] = t
        self.met = cfg.first("PL_MissingET", **kw)
        self.met_name = str((self.met or {}).get("containerName", "TruthMET")) if self.met is not None else None
        self.or_cfg = cfg.first("PL_OverlapRemoval", **kw)
        self.regionsets = parse_event_selection(cfg.instances("EventSelection", **kw), cfg.filename)
        self.thinning = [(str(i.get("outputName", i.get("containerName"))), str(i.get("containerName")),
                          str(i.get("selectionName", ""))) for i in cfg.instances("Thinning", **kw)]
        self.genlevel = cfg.first("GeneratorLevelAnalysis", **kw) is not None
        self.spec = parse_output(cfg.first("Output", **kw), cfg.filename, is_mc=is_mc, dsid=dsid)
        for w in self.spec.warnings:
            warn(w)

    def columns(self) -> list[tuple[str, str]]:
        cols = [(EVENTINFO, v) for v in ("eventNumber", "runNumber", "mcChannelNumber", "mcEventWeights")]
        cols += [(EVENTINFO, v) for v in self.spec.eventinfo_vars()]
        for t in self.objs.values():
            cols += t.columns()
        if self.met is not None:
            cols += [(metlib.MET_TRUTH, v) for v in ("name", "mpx", "mpy", "sumet")]
        return cols

    def process(self, raw: dict) -> ChunkResult:
        n = len(raw[(EVENTINFO, "eventNumber")])
        states = {}
        for name, t in self.objs.items():
            st = t.evaluate(raw, self.warn)
            if st is not None:
                states[name] = st
        if self.or_cfg:
            inputs, conts = {}, {}
            for kind in ("electrons", "muons", "photons", "jets", "taus"):
                ref = self.or_cfg.get(kind)
                if ref and split_ref(str(ref))[0] in states:
                    cont, sel = split_ref(str(ref))
                    st = states[cont]
                    inputs[kind] = ORInput(st["layout"], st["eta"], st["phi"],
                                           selection_mask(st["sel"], sel, "PL_OverlapRemoval"))
                    conts[kind] = cont
            passed = overlap_removal(inputs)
            for kind, cont in conts.items():
                # ParticleLevelOverlapRemovalBlock: addSelection(container, <selection of the
                # ref, '' if none>, label) -- the decision joins that selection and is not
                # written on its own.
                st = states[cont]
                target = split_ref(str(self.or_cfg.get(kind)))[1]
                keep = passed[kind] | ~inputs[kind].sel
                st["sel"] = {k: (v & keep if target == "" or k == target else v) for k, v in st["sel"].items()}
        met = None
        if self.met is not None:
            mpx, mpy, sumet = metlib.term(raw, metlib.MET_TRUTH, "NonInt")
            met = {"met": np.hypot(mpx, mpy).astype(np.float32), "phi": np.arctan2(mpy, mpx).astype(np.float32),
                   "sumet": np.asarray(sumet, dtype=np.float32)}
        decos = Decorations()
        ev = decos.event
        if self.genlevel and self.is_mc:
            ev["weight_mc_%SYS%"] = mc_weight_decos(raw.get((EVENTINFO, "mcEventWeights")), n,
                                                    self.sysplan)
        keep = np.ones(n, dtype=bool)
        filtering = False
        any_pass = np.zeros(n, dtype=bool)
        kinds = {t.name: t.kind for t in self.objs.values()}
        contexts = []
        flags: dict[str, np.ndarray] = {}
        run_number = ak.to_numpy(raw[(EVENTINFO, "runNumber")])
        event_number = ak.to_numpy(raw[(EVENTINFO, "eventNumber")])
        for rs in self.regionsets:
            collections = {}
            for kind, ref in rs.refs.items():
                cont, sel = split_ref(ref)
                if cont not in states:
                    continue
                st = states[cont]
                collections[kinds.get(cont, kind)] = cutlib.Collection(
                    st["layout"], st["pt"], st["eta"], st["phi"], st["m"], st["fixed"].get("charge"),
                    selection_mask(st["sel"], sel, "EventSelection"), st["sel"], {})
            term = met if (rs.met and rs.met == self.met_name) else None
            contexts.append(cutlib.EventContext(
                n, collections, None if term is None else term["met"].astype(np.float64),
                None if term is None else term["phi"].astype(np.float64), run_number, flags, rs.btag,
                event_number=event_number))
        decisions = evaluate_regions(self.regionsets, contexts, self.warn).decisions
        for rs in self.regionsets:
            for rname in rs.regions:
                d = decisions[rname]
                if rs.saved.get(rname):
                    ev[f"pass_{rname}_%SYS%"] = Deco({NOSYS: d.astype(np.int8)}, True)
                if not rs.no_filter and not rname.startswith("SUB"):
                    filtering = True
                    any_pass |= d
        if filtering:
            keep &= any_pass
        outputs = list(self.thinning)
        thinned = {src for _, src, _ in outputs}
        outputs += [(name, name, None) for name in states if name not in thinned]
        for out_name, src, expr in outputs:
            st = states.get(src)
            if st is None:
                continue
            mask = None if expr is None else selection_mask(st["sel"], expr, f"Thinning {out_name}")
            layout = st["layout"] if mask is None else jg.subset(st["layout"], mask)

            def thin(a, mask=mask):
                return a if mask is None else a[mask]
            d = {v: Deco({NOSYS: thin(st[v])}, False) for v in ("pt", "eta", "phi", "e")}
            for k, v in st["fixed"].items():
                d[k] = Deco({NOSYS: thin(v)}, False)
            for sel in [k for k in st["sel"] if k]:
                d[f"{self.spec.flag_prefix}_{sel}_%SYS%"] = Deco(
                    {NOSYS: thin(st["sel"][sel])}, True, selection_flag=True)
            decos.containers[out_name] = ContainerOut(layout, d)
        if met is not None:
            decos.flat_containers[self.met_name] = {f"{v}_%SYS%": Deco({NOSYS: met[v]}, True)
                                                    for v in ("met", "phi", "sumet")}
        for v in self.spec.eventinfo_vars():
            col = raw.get((EVENTINFO, v))
            if col is not None:
                decos.raw_event[v] = ak.to_numpy(col)
        return ChunkResult(assemble(self.spec, decos, self.warn), keep)


class PartonLevel:
    """parton.yaml: event-level variables and generator weights (no parton history)."""

    def __init__(self, cfg: LevelConfig, sysplan: SystematicsPlan, *, is_mc: bool, dsid, warn) -> None:
        kw = {"is_mc": is_mc, "dsid": dsid}
        self.cfg, self.sysplan, self.warn, self.is_mc = cfg, sysplan, warn, is_mc
        self.genlevel = cfg.first("GeneratorLevelAnalysis", **kw) is not None
        self.spec = parse_output(cfg.first("Output", **kw), cfg.filename, is_mc=is_mc, dsid=dsid)

    def columns(self) -> list[tuple[str, str]]:
        cols = [(EVENTINFO, v) for v in ("eventNumber", "runNumber", "mcChannelNumber", "mcEventWeights")]
        return cols + [(EVENTINFO, v) for v in self.spec.eventinfo_vars()]

    def process(self, raw: dict) -> ChunkResult:
        n = len(raw[(EVENTINFO, "eventNumber")])
        decos = Decorations()
        if self.genlevel and self.is_mc:
            decos.event["weight_mc_%SYS%"] = mc_weight_decos(raw.get((EVENTINFO, "mcEventWeights")), n,
                                                             self.sysplan)
        for v in self.spec.eventinfo_vars():
            col = raw.get((EVENTINFO, v))
            if col is not None:
                decos.raw_event[v] = ak.to_numpy(col)
        return ChunkResult(assemble(self.spec, decos, self.warn), np.ones(n, dtype=bool))
