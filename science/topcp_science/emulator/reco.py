"""Detector level (reco.yaml): objects, OR, MET, EventSelection, thinning, decorations.

``RecoLevel`` is built once from the configuration and then maps each chunk of PHYSLITE
columns to named output branches plus the mask of events to keep. Every kinematic
systematic re-runs the chain (object selection -> MET -> OR -> regions), so selections and
event decisions are recomputed per variation as in TopCPToolkit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from . import cuts as cutlib
from . import met as metlib
from .blocks import OBJECT_BLOCKS
from .config import LevelConfig
from .errors import EmulatorError
from .naming import ORNaming, event_cutflow_name, ftag_output_name, or_naming
from .objects import ObjectDef, ObjectState, RecoObjects, parse_objects
from .output import Branches, Deco, Decorations, OutputSpec, assemble, parse_output
from .overlap import ORInput, overlap_removal
from .selection import (
    RegionSet,
    evaluate_regions,
    mc_weight_decos,
    parse_event_selection,
    selection_mask,
    split_ref,
)
from .systematics import NOSYS, SystematicsPlan

EVENTINFO = "EventInfo"


@dataclass
class ChunkResult:
    branches: Branches
    keep: np.ndarray
    cutflows: dict[str, np.ndarray] = field(default_factory=dict)
    cutflow_labels: dict[str, list[str]] = field(default_factory=dict)


class RecoLevel:
    """The emulated reco.yaml sequence."""

    def __init__(self, cfg: LevelConfig, sysplan: SystematicsPlan, *, is_mc: bool, dsid: int | None,
                 warn) -> None:
        self.cfg = cfg
        self.sysplan = sysplan
        self.is_mc = is_mc
        self.warn = warn
        kw = {"is_mc": is_mc, "dsid": dsid}
        f = cfg.filename
        blocks = {b: cfg.instances(b, **kw) for b in OBJECT_BLOCKS}
        self.defs: list[ObjectDef] = parse_objects({b: v for b, v in blocks.items() if v})
        self.objects: dict[str, RecoObjects] = {}
        for d in self.defs:
            if not d.name:
                raise EmulatorError(f"{f}: a {d.kind} block has no containerName")
            self.objects[d.name] = RecoObjects(d, sysplan)
        self.kind_of = {d.name: d.kind for d in self.defs}

        self.or_cfg = cfg.first("OverlapRemoval", **kw)
        self.or_refs: dict[str, str] = {}
        if self.or_cfg:
            for kind in ("electrons", "muons", "jets", "photons", "taus"):
                if self.or_cfg.get(kind):
                    self.or_refs[kind] = str(self.or_cfg[kind])
            for ref in self.or_refs.values():
                self._check_ref(ref, "OverlapRemoval")
        self.n_or_blocks = len(cfg.instances("OverlapRemoval", **kw))
        if self.n_or_blocks > 1:
            self.warn(f"{f}: {self.n_or_blocks} OverlapRemoval blocks: only the first is emulated")

        self.mets = []
        for inst in cfg.instances("MissingET", **kw):
            refs = {k: str(inst[k]) for k in ("jets", "electrons", "muons", "photons", "taus") if inst.get(k)}
            for r in refs.values():
                self._check_ref(r, "MissingET")
            self.mets.append((str(inst.get("containerName", "AnaMET")) + str(inst.get("postfix", "")), refs))

        self.regionsets: list[RegionSet] = parse_event_selection(cfg.instances("EventSelection", **kw), f)
        for rs in self.regionsets:
            for r in rs.refs.values():
                if split_ref(r)[0] in self.kind_of:
                    self._check_ref(r, "EventSelection")

        self.thinning = []
        for inst in cfg.instances("Thinning", **kw):
            src = str(inst.get("containerName", ""))
            if src not in self.objects:
                self.warn(f"{f}: Thinning of {src}: container not emulated at this level; skipped")
                continue
            self.thinning.append((str(inst.get("outputName", src)), src, str(inst.get("selectionName", ""))))

        self.cleaning = cfg.first("EventCleaning", **kw)
        self.prw = cfg.first("PileupReweighting", **kw) is not None
        self.genlevel = cfg.first("GeneratorLevelAnalysis", **kw) is not None
        self.spec: OutputSpec = parse_output(cfg.first("Output", **kw), f)
        for w in self.spec.warnings:
            self.warn(w)

        # systematics affecting each container (after OR) and each MET / region
        self.all_sys = [v.name for v in sysplan.kinematic]
        aff = {name: set(o.affecting) for name, o in self.objects.items()}
        if self.or_refs:
            union = set().union(*(aff[split_ref(r)[0]] for r in self.or_refs.values()))
            for r in self.or_refs.values():
                aff[split_ref(r)[0]] = set(union)
        self.aff = aff
        soft = {v.name for v in sysplan.for_target("met_soft")}
        self.aff_met = {
            name: set().union(soft, *(set(self.objects[split_ref(r)[0]].affecting) for r in refs.values()))
            for name, refs in self.mets
        }

    # ------------------------------------------------------------------ config helpers
    def _check_ref(self, ref: str, where: str) -> None:
        cont, _ = split_ref(ref)
        if cont not in self.objects:
            raise EmulatorError(f"{self.cfg.filename}: {where}: container {cont} (from '{ref}') "
                                "is not defined by any object block")

    def _sys_order(self, names: set[str]) -> list[str]:
        return [NOSYS] + [s for s in self.all_sys if s in names]

    def columns(self) -> list[tuple[str, str]]:
        cols = [(EVENTINFO, v) for v in ("eventNumber", "runNumber", "mcChannelNumber", "mcEventWeights",
                                         "PileupWeight_NOSYS", "beamSpotWeight", "eventTypeBitmask")]
        if self.cleaning and self.cleaning.get("runEventCleaning", False):
            for flag in self.cleaning.get("selectionFlags") or ["DFCommonJets_eventClean_LooseBad"]:
                cols.append((EVENTINFO, str(flag).split(",")[0]))
        cols += [(EVENTINFO, v) for v in self.spec.eventinfo_vars()]
        for o in self.objects.values():
            cols += o.odef.columns()
        if self.mets:
            cols += [(metlib.MET_CORE, v) for v in ("name", "mpx", "mpy", "sumet")]
        return cols

    # ------------------------------------------------------------------ per chunk
    def process(self, raw: dict) -> ChunkResult:
        n = len(raw[(EVENTINFO, "eventNumber")])
        states: dict[str, dict[str, ObjectState]] = {}
        fixed: dict[str, dict[str, ak.Array]] = {}
        for name, obj in self.objects.items():
            states[name], fixed[name] = obj.evaluate(raw)
        for obj in self.objects.values():
            for w in obj.odef.warnings:
                self.warn(w)
            obj.odef.warnings.clear()

        soft = metlib.term(raw, metlib.MET_CORE, metlib.SOFT_TERM) if self.mets else None
        run_number = ak.to_numpy(raw[(EVENTINFO, "runNumber")])
        # full chain per systematic
        met_out: dict[str, dict[str, dict[str, np.ndarray]]] = {m: {} for m, _ in self.mets}
        region_out: list[dict[str, dict[str, np.ndarray]]] = [{} for _ in self.regionsets]
        cutflow_steps: dict[tuple[int, str, str], list[np.ndarray]] = {}
        final_states: dict[str, dict[str, ObjectState]] = {name: {} for name in self.objects}
        or_raw: dict[str, dict[str, ak.Array]] = {}
        or_names: dict[str, ORNaming] = {}
        for s in [NOSYS] + self.all_sys:
            cur = {name: st.get(s, st[NOSYS]) for name, st in states.items()}
            # MET (scheduled before OR in TopCPToolkit)
            mets_s = {}
            for mname, refs in self.mets:
                objs = {}
                for kind, ref in refs.items():
                    cont, sel = split_ref(ref)
                    st = cur[cont]
                    mask = selection_mask(st.selections, sel, f"MissingET {kind}")
                    objs[self.kind_of[cont]] = (st.pt, st.eta, st.phi, mask)
                scale = next((v.scale for v in self.sysplan.for_target("met_soft") if v.name == s), 1.0)
                mets_s[mname] = metlib.build_met(objs, soft, scale)
                if s == NOSYS or s in self.aff_met[mname]:
                    met_out[mname][s] = mets_s[mname]
            # overlap removal
            if self.or_refs:
                inputs = {}
                for ref in self.or_refs.values():
                    cont, sel = split_ref(ref)
                    st = cur[cont]
                    inputs[self.kind_of[cont]] = ORInput(st.eta, st.phi,
                                                         selection_mask(st.selections, sel, "OverlapRemoval"))
                passed = overlap_removal(inputs)
                for key, ref in self.or_refs.items():
                    cont, _ = split_ref(ref)
                    st = cur[cont]
                    ok = passed[self.kind_of[cont]]
                    naming = or_naming(self.or_cfg, key, {k for k in st.selections if k},
                                       n_blocks=self.n_or_blocks)
                    or_names[cont] = naming
                    if s == NOSYS or (naming.varying and s in self.aff[cont]):
                        or_raw.setdefault(cont, {})[s] = ok
                    cur[cont] = ObjectState(st.pt, st.eta, st.phi, st.m,
                                            _fold_or(st.selections, naming, ok, inputs[self.kind_of[cont]].sel))
            for name in self.objects:
                if s == NOSYS or s in self.aff[name]:
                    final_states[name][s] = cur[name]
            # event selection
            for i, rs in enumerate(self.regionsets):
                aff = self._region_aff(rs)
                if s != NOSYS and s not in aff:
                    continue
                ctx = self._context(rs, cur, fixed, mets_s, raw, run_number, n)
                decisions, steps = evaluate_regions(rs, ctx, self.warn)
                region_out[i][s] = decisions
                if rs.cutflow:
                    for rname, st in steps.items():
                        cutflow_steps[(i, rname, s)] = st

        decos = Decorations()
        self._event_decos(decos, raw, n, region_out)
        clean = self._clean_mask(raw, n)
        keep = self._keep_mask(clean, n, region_out)
        self._container_decos(decos, final_states, fixed, or_raw, or_names)
        for mname, per_sys in met_out.items():
            decos.flat_containers.add(mname)
            decos.containers[mname] = {
                f"{var}_%SYS%": Deco({s: v[var] for s, v in per_sys.items()}, True)
                for var in ("met", "phi", "sumet")
            }
        for v in self.spec.eventinfo_vars():
            col = raw.get((EVENTINFO, v))
            if col is not None:
                decos.raw_event[v] = ak.to_numpy(col)
        branches = assemble(self.spec, decos, self.warn)
        result = ChunkResult(branches, keep)
        for (i, rname, s), st in cutflow_steps.items():
            rs = self.regionsets[i]
            hname = event_cutflow_name(rname, s)
            counts = np.array([np.count_nonzero(clean)] + [int(np.count_nonzero(m & clean)) for m in st],
                              dtype=np.float64)
            result.cutflows[hname] = counts
            result.cutflow_labels[hname] = ["all"] + [c.text for c in rs.regions[rname] if c.keyword != "SAVE"]
        return result

    def _region_aff(self, rs: RegionSet) -> set[str]:
        aff: set[str] = set()
        for ref in rs.refs.values():
            cont = split_ref(ref)[0]
            aff |= self.aff.get(cont, set())
        if rs.met and rs.met in self.aff_met:
            aff |= self.aff_met[rs.met]
        return aff

    def _context(self, rs, cur, fixed, mets_s, raw, run_number, n) -> cutlib.EventContext:
        collections = {}
        for kind, ref in rs.refs.items():
            cont, sel = split_ref(ref)
            if cont not in cur:
                continue
            st = cur[cont]
            mask = selection_mask(st.selections, sel, f"EventSelection[{rs.index}] {kind}")
            btag = {k: v for k, v in fixed[cont].items() if k.startswith("ftag_select_")}
            collections[kind] = cutlib.Collection(st.pt, st.eta, st.phi, st.m, fixed[cont].get("charge"),
                                                  mask, st.selections, btag)
        met = mets_s.get(rs.met) if rs.met else None
        if rs.met and met is None:
            self.warn(f"EventSelection[{rs.index}]: met container {rs.met} is not built by a "
                      "MissingET block; MET treated as 0")
        return cutlib.EventContext(
            n=n, collections=collections,
            met=met["met"].astype(np.float64) if met else None,
            met_phi=met["phi"].astype(np.float64) if met else None,
            run_number=run_number, flags={}, btag_decoration=rs.btag,
        )

    def _event_decos(self, decos: Decorations, raw: dict, n: int, region_out) -> None:
        ev = decos.event
        if self.prw:
            ev["eventNumber"] = Deco({NOSYS: ak.to_numpy(raw[(EVENTINFO, "eventNumber")])}, False)
            ev["runNumber"] = Deco({NOSYS: ak.to_numpy(raw[(EVENTINFO, "runNumber")])}, False)
            if self.is_mc and (EVENTINFO, "mcChannelNumber") in raw:
                ev["mcChannelNumber"] = Deco({NOSYS: ak.to_numpy(raw[(EVENTINFO, "mcChannelNumber")])}, False)
            pw = raw.get((EVENTINFO, "PileupWeight_NOSYS"))
            if self.is_mc:
                if pw is None:
                    self.warn("PileupReweighting: PileupWeight_NOSYS not in the input: weight_pileup = 1")
                    pw = np.ones(n, dtype=np.float32)
                ev["weight_pileup_%SYS%"] = Deco({NOSYS: ak.to_numpy(pw).astype(np.float32)}, True)
                bs = raw.get((EVENTINFO, "beamSpotWeight"))
                if bs is not None:
                    ev["weight_beamspot"] = Deco({NOSYS: ak.to_numpy(bs).astype(np.float32)}, False)
        if self.genlevel and self.is_mc:
            ev["weight_mc_%SYS%"] = mc_weight_decos(raw.get((EVENTINFO, "mcEventWeights")), n,
                                                    self.sysplan)
        for i, rs in enumerate(self.regionsets):
            for rname in rs.regions:
                if not rs.saved.get(rname):
                    continue
                ev[f"pass_{rname}_%SYS%"] = Deco(
                    {s: d[rname].astype(np.int8) for s, d in region_out[i].items()}, True)

    def _keep_mask(self, clean: np.ndarray, n: int, region_out) -> np.ndarray:
        keep = clean.copy()
        filtering = [(i, rs) for i, rs in enumerate(self.regionsets) if not rs.no_filter]
        if filtering:
            any_pass = np.zeros(n, dtype=bool)
            for i, rs in filtering:
                for rname in rs.regions:
                    if rname.startswith("SUB"):
                        continue
                    for d in region_out[i].values():
                        any_pass |= d[rname]
            keep &= any_pass
        return keep

    def _clean_mask(self, raw: dict, n: int) -> np.ndarray:
        """EventCleaning's filter (it runs before the EventSelection cutflows count)."""
        keep = np.ones(n, dtype=bool)
        if self.cleaning and self.cleaning.get("runEventCleaning", False) and not self.cleaning.get("noFilter"):
            flags = self.cleaning.get("selectionFlags") or ["DFCommonJets_eventClean_LooseBad"]
            inverts = self.cleaning.get("invertFlags") or [0] * len(flags)
            for flag, inv in zip(flags, inverts, strict=False):
                col = raw.get((EVENTINFO, str(flag).split(",")[0]))
                if col is None:
                    self.warn(f"EventCleaning: {flag} not in the input: not applied")
                    continue
                passed = ak.to_numpy(col) != 0
                keep &= ~passed if inv else passed
        return keep

    def _container_decos(self, decos: Decorations, final_states, fixed, or_raw, or_names) -> None:
        outputs = list(self.thinning)
        thinned_sources = {src for _, src, _ in outputs}
        for name in self.objects:
            if name not in thinned_sources:
                outputs.append((name, name, None))
        prefix = self.spec.flag_prefix
        for out_name, src, expr in outputs:
            per_sys = final_states[src]
            if expr is None:
                keep = None
            else:
                keep = None
                for st in per_sys.values():
                    m = selection_mask(st.selections, expr, f"Thinning {out_name}")
                    keep = m if keep is None else keep | m
            def thin(a, keep=keep):
                return a if keep is None else a[keep]
            nominal = per_sys[NOSYS]
            d: dict[str, Deco] = {}
            own = {NOSYS} | set(self.objects[src].affecting)  # kinematics vary with own calibration only
            kin = {s: st for s, st in per_sys.items() if s in own}
            d["pt_%SYS%"] = Deco({s: thin(st.pt) for s, st in kin.items()}, True)
            d["eta"] = Deco({NOSYS: thin(nominal.eta)}, False)
            d["phi"] = Deco({NOSYS: thin(nominal.phi)}, False)
            d["e_%SYS%"] = Deco({s: thin(st.e) for s, st in kin.items()}, True)
            for k, v in fixed[src].items():
                if k.startswith("ftag_select_"):
                    v = ak.values_astype(v, np.int8)
                d[ftag_output_name(k)] = Deco({NOSYS: thin(v)}, False)
            naming = or_names.get(src)
            # a standalone OR selection is not summarised (athena: writeToOutput=False)
            skip = {naming.target} if naming is not None and naming.standalone else set()
            for sel in [k for k in nominal.selections if k and k not in skip]:
                d[f"{prefix}_{sel}_%SYS%"] = Deco(
                    {s: ak.values_astype(thin(st.selections[sel]), np.int8) for s, st in per_sys.items()},
                    True, selection_flag=True)
            if naming is not None and naming.branch is not None and src in or_raw:
                vals = {s: ak.values_astype(thin(v), np.int8) for s, v in or_raw[src].items()}
                tmpl = naming.branch + ("_%SYS%" if naming.varying else "")
                d[tmpl] = Deco(vals, naming.varying)
            decos.containers[out_name] = d


def _fold_or(selections: dict[str, ak.Array], naming: ORNaming, ok: ak.Array,
             in_or: ak.Array) -> dict[str, ak.Array]:
    """AND the OR decision into the selection(s) athena's addSelection puts it in.

    Target '' is the default selection, part of every selection's full selection; an
    existing name gets it appended; a new name becomes a selection of its own (the
    default cuts and the OR decision). Objects outside the OR input keep their flags
    (the decision only removes objects that overlapped).
    """
    sels = dict(selections)
    keep = ok | ~in_or
    if naming.target == "":
        return {k: v & keep for k, v in sels.items()}
    if naming.target in sels:
        sels[naming.target] = sels[naming.target] & keep
    else:
        sels[naming.target] = sels[""] & ok if "" in sels else ok
    return sels
