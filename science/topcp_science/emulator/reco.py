"""Detector level (reco.yaml): objects, MET, OR, EventSelection, thinning, decorations.

``RecoLevel`` is built once from the configuration and then maps each chunk of PHYSLITE
columns to named output branches plus the mask of events to keep. Every systematic
variation re-runs the chain (object selection -> MET -> OR -> regions) as in TopCPToolkit;
variations that share an emulated shift (e.g. all JES nuisance parameters) give identical
results, so the chain runs once per distinct shift and the result is written under each
variation's name, only for the outputs that variation affects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from . import cuts as cutlib
from . import jagged as jg
from . import met as metlib
from .blocks import OBJECT_BLOCKS
from .config import LevelConfig
from .errors import EmulatorError
from .naming import ORNaming, event_cutflow_name, ftag_output_name, or_naming
from .objects import Fixed, ObjectDef, Objects, RecoObjects, parse_objects
from .output import Branches, ContainerOut, Deco, Decorations, OutputSpec, assemble, parse_output
from .overlap import ORInput, overlap_removal
from .selection import (
    RegionSet,
    cutflow_label,
    evaluate_regions,
    mc_weight_decos,
    parse_event_selection,
    selection_mask,
    split_ref,
)
from .syscatalog import (
    Variation,
    egamma_variations,
    jet_variations,
    met_variations,
    muon_variations,
)
from .systematics import NOSYS, SystematicsPlan

EVENTINFO = "EventInfo"
#: PileupReweightingBlock on PHYSLITE copies these EventInfo variables (no _%SYS% suffix).
PRW_EVENT_VARS = ("runNumber", "eventNumber", "actualInteractionsPerCrossing",
                  "averageInteractionsPerCrossing")


def geometry_of(run_number: int) -> str:
    """LHC period of an MC run number: the Run-2 campaigns use 284500/300000/310000."""
    return "Run2" if 0 < run_number < 400000 else "Run3"


def reco_variations(cfg: LevelConfig, *, is_mc: bool, dsid: int | None, run_number: int, warn) -> list[Variation]:
    """The kinematic variations the configured CP blocks register (MC only)."""
    if not is_mc:
        return []
    kw = {"is_mc": is_mc, "dsid": dsid}
    defs = parse_objects({b: cfg.instances(b, **kw) for b in OBJECT_BLOCKS if cfg.instances(b, **kw)})
    out: list[Variation] = []
    jets = [d for d in defs if d.kind == "jets" and d.source == "AnalysisJets"]
    if jets:
        models = {(d.jes_model, d.jer_model) for d in jets}
        if len(models) > 1:
            warn("Jets: several small-R jet blocks with different uncertainty models; the first one's names are used")
        out += jet_variations(jets[0].jes_model, jets[0].jer_model, geometry_of(run_number), warn)
    eg = [d for d in defs if d.kind in ("electrons", "photons")]
    if eg:
        out += egamma_variations(eg[0].decorrelation, warn)
    mu = [d for d in defs if d.kind == "muons"]
    if mu:
        out += muon_variations(mu[0].calib_mode)
    if cfg.instances("MissingET", **kw):
        out += met_variations()
    return out


@dataclass
class ChunkResult:
    branches: Branches
    keep: np.ndarray
    cutflows: dict[str, np.ndarray] = field(default_factory=dict)
    cutflow_labels: dict[str, list[str]] = field(default_factory=dict)
    cutflow_titles: dict[str, str] = field(default_factory=dict)


@dataclass
class MetConfig:
    name: str
    refs: dict[str, str]  # kind -> 'Container.selection' (jets: container only)
    wp: str
    use_jvt: bool


@dataclass
class KeyResult:
    """Everything one emulated shift produced for a chunk."""

    states: dict[str, Objects]
    mets: dict[str, dict[str, np.ndarray]]
    or_raw: dict[str, np.ndarray]
    decisions: dict[str, np.ndarray]
    cutflows: dict[str, list[tuple[str, np.ndarray]]]


class RecoLevel:
    """The emulated reco.yaml sequence."""

    def __init__(self, cfg: LevelConfig, sysplan: SystematicsPlan, *, is_mc: bool, dsid: int | None,
                 warn, run_number: int = 0) -> None:
        self.cfg = cfg
        self.sysplan = sysplan
        self.is_mc = is_mc
        self.warn = warn
        self.geometry = geometry_of(run_number)
        kw = {"is_mc": is_mc, "dsid": dsid}
        f = cfg.filename
        blocks = {b: cfg.instances(b, **kw) for b in OBJECT_BLOCKS}
        self.defs: list[ObjectDef] = parse_objects({b: v for b, v in blocks.items() if v})
        self.objects: dict[str, RecoObjects] = {}
        for d in self.defs:
            if not d.name:
                raise EmulatorError(f"{f}: a {d.kind} block has no containerName")
            self.objects[d.name] = RecoObjects(d, sysplan.shifts(d.target) if d.target else [])
        self.kind_of = {d.name: d.kind for d in self.defs}
        self.target_of = {d.name: d.target for d in self.defs}

        self.or_cfg = cfg.first("OverlapRemoval", **kw)
        self.or_refs: dict[str, str] = {}
        if self.or_cfg:
            for kind in ("electrons", "muons", "jets", "photons", "taus"):
                if self.or_cfg.get(kind):
                    self.or_refs[kind] = str(self.or_cfg[kind])
            for ref in self.or_refs.values():
                self._check_ref(ref, "OverlapRemoval")
        self.n_or_blocks = len(cfg.instances("OverlapRemoval", **kw))
        self.or_names: dict[str, ORNaming] = {}
        if self.n_or_blocks > 1:
            self.warn(f"{f}: {self.n_or_blocks} OverlapRemoval blocks: only the first is emulated")

        self.mets: list[MetConfig] = []
        for inst in cfg.instances("MissingET", **kw):
            refs = {k: str(inst[k]) for k in ("jets", "electrons", "muons", "photons", "taus") if inst.get(k)}
            for kind, r in refs.items():
                self._check_ref(r, "MissingET")
                if kind == "jets" and "." in r:
                    raise EmulatorError([
                        f"{f}: MissingET: jets '{r}': MetAnalysisConfig hands METMaker the whole jet "
                        f"container (readName) and the release stops with 'no source container for: {r}'.",
                        f"Give the container alone (jets: '{split_ref(r)[0]}'): METMaker applies its own "
                        "jet selection (metWP) and JVT.",
                    ])
            name = str(inst.get("containerName", "AnaMET")) + str(inst.get("postfix", ""))
            self.mets.append(MetConfig(name, refs, str(inst.get("metWP", "Tight")), bool(inst.get("useJVT", True))))

        self._live: np.ndarray | None = None  # the current chunk's events after EventCleaning
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
        self.spec: OutputSpec = parse_output(cfg.first("Output", **kw), f, is_mc=is_mc, dsid=dsid)
        for w in self.spec.warnings:
            self.warn(w)
        self._plan_affects()

    # ------------------------------------------------------------------ systematics bookkeeping
    def _plan_affects(self) -> None:
        kin = self.sysplan.kinematic
        self.key_of = {v.name: v.key for v in kin}
        self.eval_keys = sorted({v.key for v in kin})
        own = {name: {v.name for v in kin if v.target and v.target == self.target_of[name]} for name in self.objects}
        self.own = own
        sel = {name: set(s) for name, s in own.items()}
        if self.or_refs:
            union = set().union(*(own[split_ref(r)[0]] for r in self.or_refs.values()))
            for r in self.or_refs.values():
                sel[split_ref(r)[0]] = set(union)
        self.sel_aff = sel
        soft = {v.name for v in kin if v.target == "met_soft"}
        self.met_aff = {}
        for m in self.mets:
            aff = set(soft)
            for r in m.refs.values():
                aff |= own[split_ref(r)[0]]
            self.met_aff[m.name] = aff
        self.region_aff: dict[str, set[str]] = {}
        for rs in self.regionsets:
            aff: set[str] = set()
            for ref in rs.refs.values():
                aff |= self.sel_aff.get(split_ref(ref)[0], set())
            if rs.met and rs.met in self.met_aff:
                aff |= self.met_aff[rs.met]
            for rname in rs.regions:
                self.region_aff[rname] = aff
        # regions importing others vary with them too
        changed = True
        while changed:
            changed = False
            for rs in self.regionsets:
                for rname, cuts in rs.regions.items():
                    for c in cuts:
                        if c.keyword == "IMPORT" and not self.region_aff[c.region] <= self.region_aff[rname]:
                            self.region_aff[rname] |= self.region_aff[c.region]
                            changed = True

    def _order(self, names: set[str]) -> list[str]:
        return [NOSYS] + [v.name for v in self.sysplan.kinematic if v.name in names]

    # ------------------------------------------------------------------ config helpers
    def _check_ref(self, ref: str, where: str) -> None:
        cont, _ = split_ref(ref)
        if cont not in self.objects:
            raise EmulatorError(f"{self.cfg.filename}: {where}: container {cont} (from '{ref}') "
                                "is not defined by any object block")

    def columns(self) -> list[tuple[str, str]]:
        cols = [(EVENTINFO, v) for v in ("eventNumber", "runNumber", "mcChannelNumber", "mcEventWeights",
                                         "PileupWeight_NOSYS", "beamSpotWeight", "eventTypeBitmask",
                                         "actualInteractionsPerCrossing", "averageInteractionsPerCrossing")]
        if self.cleaning and self.cleaning.get("runEventCleaning", False):
            for flag in self.cleaning.get("selectionFlags") or ["DFCommonJets_eventClean_LooseBad"]:
                cols.append((EVENTINFO, str(flag).split(",")[0]))
        cols += [(EVENTINFO, v) for v in self.spec.eventinfo_vars()]
        for o in self.objects.values():
            cols += o.odef.columns()
        if self.mets:
            cols += [(metlib.MET_CORE, v) for v in ("name", "mpx", "mpy", "sumet")]
            cols.append(("PrimaryVertices", "vertexType"))
        return cols

    # ------------------------------------------------------------------ per chunk
    def process(self, raw: dict) -> ChunkResult:
        n = len(raw[(EVENTINFO, "eventNumber")])
        event_number = ak.to_numpy(raw[(EVENTINFO, "eventNumber")])
        states: dict[str, dict] = {}
        fixed: dict[str, Fixed] = {}
        for name, obj in self.objects.items():
            states[name], fixed[name] = obj.evaluate(raw, event_number)
        for obj in self.objects.values():
            for w in obj.odef.warnings:
                self.warn(w)
            obj.odef.warnings.clear()
        soft = metlib.term(raw, metlib.MET_CORE, metlib.SOFT_TERM) if self.mets else None
        run_number = ak.to_numpy(raw[(EVENTINFO, "runNumber")])
        clean = self._clean_mask(raw, n)
        self._live = clean  # what the selector algorithms see (MWT/MLL/OS aborts)
        results: dict[tuple | None, KeyResult] = {}
        memo: dict = {}
        for key in [None] + self.eval_keys:
            results[key] = self._run_chain(key, states, fixed, soft, raw, run_number, event_number, n, memo)
        del memo

        def result_for(s: str) -> KeyResult:
            return results[None if s == NOSYS else self.key_of[s]]

        decos = Decorations()
        self._event_decos(decos, raw, n, result_for)
        keep = self._keep_mask(clean, n, results)
        self._container_decos(decos, results, fixed, result_for)
        for m in self.mets:
            names = self._order(self.met_aff[m.name])
            decos.flat_containers[m.name] = {
                f"{var}_%SYS%": Deco({s: result_for(s).mets[m.name][var] for s in names}, True)
                for var in ("met", "phi", "sumet", "significance")
            }
        for v in self.spec.eventinfo_vars():
            col = raw.get((EVENTINFO, v))
            if col is not None:
                decos.raw_event[v] = ak.to_numpy(col)
        branches = assemble(self.spec, decos, self.warn)
        result = ChunkResult(branches, keep)
        n_clean = float(np.count_nonzero(clean))
        for rs in self.regionsets:
            if not rs.cutflow:
                continue
            for rname in rs.regions:
                for s in self._order(self.region_aff[rname]):
                    entries = result_for(s).cutflows[rname]
                    hname = event_cutflow_name(rname, s)
                    result.cutflows[hname] = np.array(
                        [n_clean] + [float(np.count_nonzero(m & clean)) for _, m in entries])
                    result.cutflow_labels[hname] = ["total"] + [cutflow_label(d) for d, _ in entries]
                    result.cutflow_titles[hname] = "Event Cutflow: EventInfo." + ("" if s == NOSYS else f" ({s})")
        return result

    def _run_chain(self, key, states, fixed, soft, raw, run_number, event_number, n, memo: dict) -> KeyResult:
        """Objects -> MET -> OR -> regions for one emulated shift (None = nominal).

        ``memo`` (one per chunk) keeps the MET terms and OR results by the identity of their
        inputs: a shift that leaves them unchanged (e.g. a MET soft-term variation for OR, an
        electron shift for the jets) reuses them instead of recomputing."""
        cur: dict[str, Objects] = {}
        for name, st in states.items():
            shifted = key is not None and self.target_of[name] == key[0]
            cur[name] = st[key[1]] if shifted else st[None]
        mets = {}
        soft_shift = key[1] if key is not None and key[0] == "met_soft" else None
        for m in self.mets:
            sig = ("met", m.name) + tuple(id(cur[split_ref(r)[0]]) for r in m.refs.values())
            terms = memo.get(sig)
            if terms is None:
                hard = []
                jets = jet_fixed = None
                for kind, ref in m.refs.items():
                    cont, sel = split_ref(ref)
                    o = cur[cont]
                    if kind == "jets":
                        jets, jet_fixed = o, fixed[cont]
                        continue
                    mkey = ("met_mask", id(o), sel, kind)
                    if mkey not in memo:  # the same array for an unchanged collection: cacheable
                        memo[mkey] = (o, selection_mask(o.selections, sel, f"MissingET {kind}"))
                    hard.append(metlib.Hard(self.kind_of[cont], o, memo[mkey][1], fixed[cont].extra.get("id_pt")))
                terms = metlib.met_terms(hard, jets, jet_fixed, soft, met_wp=m.wp, use_jvt=m.use_jvt, cache=memo)
                memo[sig] = (terms, [cur[split_ref(r)[0]] for r in m.refs.values()])  # keep ids alive
            else:
                terms = terms[0]
            mets[m.name] = metlib.final_met(terms, soft_shift)
        or_raw: dict[str, np.ndarray] = {}
        if self.or_refs:
            sig = ("or",) + tuple(id(cur[split_ref(r)[0]]) for r in self.or_refs.values())
            hit = memo.get(sig)
            if hit is None:
                inputs = {}
                for ref in self.or_refs.values():
                    cont, sel = split_ref(ref)
                    o = cur[cont]
                    inputs[self.kind_of[cont]] = ORInput(o.layout, o.eta, o.phi,
                                                         selection_mask(o.selections, sel, "OverlapRemoval"))
                passed = overlap_removal(inputs)
                folded, raw_ok = {}, {}
                for k, ref in self.or_refs.items():
                    cont, _ = split_ref(ref)
                    o = cur[cont]
                    ok = passed[self.kind_of[cont]]
                    naming = or_naming(self.or_cfg, k, {s for s in o.selections if s}, n_blocks=self.n_or_blocks)
                    self.or_names[cont] = naming
                    raw_ok[cont] = ok
                    folded[cont] = Objects(o.layout, o.pt, o.eta, o.phi, o.m,
                                           _fold_or(o.selections, naming, ok, inputs[self.kind_of[cont]].sel))
                hit = (folded, raw_ok, [cur[split_ref(r)[0]] for r in self.or_refs.values()])
                memo[sig] = hit
            folded, raw_ok, _ = hit
            cur.update(folded)
            or_raw = dict(raw_ok)
        flags: dict[str, np.ndarray] = {}
        sysname = "NOSYS" if key is None else next(v.name for v in self.sysplan.kinematic if v.key == key)
        contexts = [self._context(rs, cur, fixed, mets, run_number, event_number, n, flags, sysname)
                    for rs in self.regionsets]
        rr = evaluate_regions(self.regionsets, contexts, self.warn)
        return KeyResult(cur, mets, or_raw, rr.decisions, rr.cutflows)

    def _context(self, rs, cur, fixed, mets, run_number, event_number, n, flags, sysname) -> cutlib.EventContext:
        collections = {}
        for kind, ref in rs.refs.items():
            cont, sel = split_ref(ref)
            if cont not in cur:
                continue
            o = cur[cont]
            mask = selection_mask(o.selections, sel, f"EventSelection[{rs.index}] {kind}")
            btag = {k: v for k, v in fixed[cont].ftag.items() if k.startswith("ftag_select_")}
            collections[kind] = cutlib.Collection(o.layout, o.pt, o.eta, o.phi, o.m, fixed[cont].charge,
                                                  mask, o.selections, btag)
        met = mets.get(rs.met) if rs.met else None
        if rs.met and met is None:
            self.warn(f"EventSelection[{rs.index}]: met container {rs.met} is not built by a "
                      "MissingET block; MET treated as 0")
        return cutlib.EventContext(
            n=n, collections=collections,
            met=met["met"].astype(np.float64) if met else None,
            met_phi=met["phi"].astype(np.float64) if met else None,
            run_number=run_number, flags=flags, btag_decoration=rs.btag,
            event_number=event_number, systematic=sysname, live=self._live,
        )

    def _event_decos(self, decos: Decorations, raw: dict, n: int, result_for) -> None:
        ev = decos.event
        if self.prw:
            vars_ = list(PRW_EVENT_VARS) + (["mcChannelNumber"] if self.is_mc else [])
            for var in vars_:
                col = raw.get((EVENTINFO, var))
                if col is None:
                    self.warn(f"PileupReweighting: EventInfo {var} not in the input: not written")
                    continue
                ev[var] = Deco({NOSYS: ak.to_numpy(col)}, False)
            if self.is_mc:
                pw = raw.get((EVENTINFO, "PileupWeight_NOSYS"))
                if pw is None:
                    self.warn("PileupReweighting: PileupWeight_NOSYS not in the input: weight_pileup = 1")
                    pw = np.ones(n, dtype=np.float32)
                ev["weight_pileup_%SYS%"] = Deco({NOSYS: ak.to_numpy(pw).astype(np.float32)}, True)
                bs = raw.get((EVENTINFO, "beamSpotWeight"))
                if self.geometry == "Run2":
                    if bs is None:
                        self.warn("PileupReweighting: beamSpotWeight not in the input: weight_beamspot not written")
                    else:
                        ev["weight_beamspot"] = Deco({NOSYS: ak.to_numpy(bs).astype(np.float32)}, False)
        if self.genlevel and self.is_mc:
            ev["weight_mc_%SYS%"] = mc_weight_decos(raw.get((EVENTINFO, "mcEventWeights")), n, self.sysplan)
        for rs in self.regionsets:
            for rname in rs.regions:
                if not rs.saved.get(rname):
                    continue
                names = self._order(self.region_aff[rname])
                ev[f"pass_{rname}_%SYS%"] = Deco(
                    {s: result_for(s).decisions[rname].astype(np.int8) for s in names}, True)

    def _keep_mask(self, clean: np.ndarray, n: int, results: dict) -> np.ndarray:
        keep = clean.copy()
        filtering = [rs for rs in self.regionsets if not rs.no_filter]
        if filtering:
            any_pass = np.zeros(n, dtype=bool)
            for rs in filtering:
                for rname in rs.regions:
                    if rname.startswith("SUB"):
                        continue
                    for r in results.values():
                        any_pass |= r.decisions[rname]
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

    def _container_decos(self, decos: Decorations, results: dict, fixed: dict, result_for) -> None:
        outputs = list(self.thinning)
        thinned_sources = {src for _, src, _ in outputs}
        for name in self.objects:
            if name not in thinned_sources:
                outputs.append((name, name, None))
        prefix = self.spec.flag_prefix
        for out_name, src, expr in outputs:
            nominal = results[None].states[src]
            layout = nominal.layout
            if expr is None:
                keep = None
            else:
                # TopCPToolkit's uniform selection: an object is written if it passes for any systematic
                keep = np.zeros(layout.n_objects, dtype=bool)
                for r in results.values():
                    keep |= selection_mask(r.states[src].selections, expr, f"Thinning {out_name}")
            out_layout = layout if keep is None else jg.subset(layout, keep)
            cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

            def thin(a, keep=keep, cache=cache):
                """a[keep], once per array (many systematics share one); the cache holds
                the array itself, so an id is never reused while cached."""
                if keep is None:
                    return a
                hit = cache.get(id(a))
                if hit is None or hit[0] is not a:
                    hit = (a, a[keep])
                    cache[id(a)] = hit
                return hit[1]

            d: dict[str, Deco] = {}
            kin_names = self._order(self.own[src])
            d["pt_%SYS%"] = Deco({s: thin(result_for(s).states[src].pt) for s in kin_names}, True)
            d["eta"] = Deco({NOSYS: thin(nominal.eta)}, False)
            d["phi"] = Deco({NOSYS: thin(nominal.phi)}, False)
            e_by_key = {}
            for s in kin_names:
                st = result_for(s).states[src]
                if id(st) not in e_by_key:
                    e_by_key[id(st)] = thin(st.e)
                e_by_key[s] = e_by_key[id(st)]
            d["e_%SYS%"] = Deco({s: e_by_key[s] for s in kin_names}, True)
            if fixed[src].charge is not None and self.kind_of[src] != "jets":
                d["charge"] = Deco({NOSYS: thin(fixed[src].charge)}, False)
            for k, v in fixed[src].ftag.items():
                d[ftag_output_name(k)] = Deco({NOSYS: thin(v.astype(np.int8) if v.dtype == np.bool_ else v)}, False)
            naming = self.or_names.get(src)
            # a standalone OR selection is not summarised (athena: writeToOutput=False)
            skip = {naming.target} if naming is not None and naming.standalone else set()
            sel_names = self._order(self.sel_aff[src])
            for sel in [k for k in nominal.selections if k and k not in skip]:
                d[f"{prefix}_{sel}_%SYS%"] = Deco(
                    {s: thin(result_for(s).states[src].selections[sel]) for s in sel_names},
                    True, selection_flag=True)
            if naming is not None and naming.branch is not None and src in results[None].or_raw:
                names = sel_names if naming.varying else [NOSYS]
                vals = {s: thin(result_for(s).or_raw[src]) for s in names}
                tmpl = naming.branch + ("_%SYS%" if naming.varying else "")
                d[tmpl] = Deco(vals, naming.varying)
            decos.containers[out_name] = ContainerOut(out_layout, d)


def _fold_or(selections: dict[str, np.ndarray], naming: ORNaming, ok: np.ndarray,
             in_or: np.ndarray) -> dict[str, np.ndarray]:
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
