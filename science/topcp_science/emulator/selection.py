"""Shared pieces of both levels: selection expressions, EventSelection regions, weights.

Selection expressions are what the config writes after a container name:
``AnaElectrons.tight||loose`` or ``AnaJets.baselineJvt&&passesOR`` (``&&`` binds tighter).

Regions are evaluated the way EventSelectionConfig schedules them (athena 2025): every
cut line is an algorithm whose decoration ``<region>_<TAG>_<step>_%SYS%`` is true when the
cuts before it (its preselection) and the cut itself pass; ``EVENTFLAG`` and
``GLOBALTRIGMATCH`` add a flag to the running preselection without an algorithm; ``IMPORT R``
adds ``pass_R`` (which only R's ``SAVE`` creates) to it, and the region's cutflow receives
the decorations of R's own cuts -- computed inside R, *not* after the cuts written before
the IMPORT (the "jump back" the TopCPToolkit documentation warns about). The decision and
the event filter are unaffected: they are the AND of everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from . import cuts as cutlib
from .errors import EmulatorError
from .kinematics import leading
from .output import Deco
from .systematics import NOSYS


def split_ref(ref: str) -> tuple[str, str]:
    """'AnaElectrons.tight' -> ('AnaElectrons', 'tight'); no dot -> (name, '')."""
    cont, _, sel = str(ref).partition(".")
    return cont, sel


def selection_mask(selections: dict[str, np.ndarray], expr: str, where: str) -> np.ndarray:
    """Evaluate 'a&&b||c' over named masks; '' is the container's base selection."""
    base = selections[""]
    if not expr:
        return base
    result = None
    for alternative in expr.split("||"):
        term = base
        for name in alternative.split("&&"):
            name = name.strip().split(",", 1)[0]
            if name in ("", "selectPtEta"):
                continue
            if name not in selections:
                known = ", ".join(sorted(k for k in selections if k)) or "none"
                raise EmulatorError(f"{where}: selection '{name}' is not defined on that container "
                                    f"(known: {known})")
            term = term & selections[name]
        result = term if result is None else (result | term)
    return result


@dataclass
class RegionSet:
    """One EventSelection instance, parsed (IMPORT and SAVE lines kept in place)."""

    refs: dict[str, str]  # kind -> 'Container.selection'
    met: str | None
    met_term: str
    btag: str | None
    no_filter: bool
    cutflow: bool
    regions: dict[str, list[cutlib.Cut]]
    saved: dict[str, bool]
    index: int
    #: the ``preselection`` option: every region of the instance starts from this event flag
    preselection: str = ""
    extra_warnings: list[str] = field(default_factory=list)


def parse_event_selection(instances: list[dict], filename: str) -> list[RegionSet]:
    out = []
    known: list[str] = []
    for i, inst in enumerate(instances):
        refs = {}
        for kind, key in (("electrons", "electrons"), ("muons", "muons"), ("jets", "jets"),
                          ("photons", "photons"), ("taus", "taus"), ("largeRjets", "largeRjets")):
            if inst.get(key):
                refs[kind] = str(inst[key])
        raw_regions = inst.get("selectionCutsDict") or {}
        where = f"{filename}: EventSelection[{i}]"
        parsed = {str(name): cutlib.parse_region(str(text or ""), f"{where}.selectionCutsDict.{name}")
                  for name, text in raw_regions.items()}
        known += list(parsed)
        saved = {n: any(c.keyword == "SAVE" for c in cs) for n, cs in parsed.items()}
        rs = RegionSet(
            refs=refs,
            met=str(inst["met"]) if inst.get("met") else None,
            met_term=str(inst.get("metTerm", "Final")),
            btag=str(inst["btagDecoration"]) if inst.get("btagDecoration") else None,
            no_filter=bool(inst.get("noFilter", False)),
            cutflow=bool(inst.get("cutFlowHistograms", False)),
            regions=parsed,
            saved=saved,
            index=i,
            preselection=str(inst.get("preselection") or ""),
        )
        if inst.get("debugMode"):
            # EventSelectionConfig.setDecorationName (athena 2025): with debugMode every cut's
            # decoration becomes an EventInfo output branch; the emulator writes none of them
            rs.extra_warnings.append(
                f"{where}: debugMode is not emulated: the release writes one branch per cut "
                "decoration (<region>_<CUT>_<step>), this output has only pass_<region>")
        out.append(rs)
    _check_imports(out, filename)
    return out


def _check_imports(sets: list[RegionSet], filename: str) -> None:
    """IMPORT targets must exist; import cycles are errors; forward or unsaved targets warn."""
    order = [(rs.index, name) for rs in sets for name in rs.regions]
    position = {name: k for k, (_, name) in enumerate(order)}
    graph = {name: [c.region for c in cuts if c.keyword == "IMPORT"] for rs in sets
             for name, cuts in rs.regions.items()}
    for rs in sets:
        for name, cuts in rs.regions.items():
            for c in cuts:
                if c.keyword != "IMPORT":
                    continue
                if c.region not in position:
                    raise EmulatorError(f"{filename}: EventSelection[{rs.index}]: region {name} line {c.line}: "
                                        f"IMPORT of unknown region {c.region}")
                if position[c.region] > position[name]:
                    rs.extra_warnings.append(
                        f"EventSelection region {name} imports {c.region}, defined after it: TopCPToolkit "
                        f"schedules regions in file order and reads pass_{c.region} before it is set; "
                        "the emulator evaluates it first")
                owner = next(s for s in sets if c.region in s.regions)
                if not owner.saved.get(c.region):
                    rs.extra_warnings.append(
                        f"EventSelection region {name} imports {c.region}, which has no SAVE: the release's "
                        f"IMPORT reads pass_{c.region}, which only SAVE creates")

    def visit(node: str, stack: tuple[str, ...]) -> None:
        if node in stack:
            raise EmulatorError(f"{filename}: EventSelection: IMPORT cycle: {' -> '.join(stack + (node,))}")
        for nxt in graph.get(node, []):
            visit(nxt, stack + (node,))

    for name in graph:
        visit(name, ())


def decoration_name(region: str, cut: cutlib.Cut, step: int) -> str:
    """The decoration EventSelectionConfig gives the cut on line ``step`` (1-based among
    non-empty, non-comment lines) of ``region``."""
    if cut.keyword == "EVENTFLAG":
        return str(cut.flag)
    if cut.keyword == "GLOBALTRIGMATCH":
        return f"globalTriggerMatch{cut.flag or ''}_%SYS%,as_char"
    return f"{region}_{cutlib.DECORATION_TAG[cut.keyword]}_{step}_%SYS%"


def cutflow_label(decoration: str) -> str:
    """EventCutFlowHistAlg's bin label for a decoration: EventCutFlowBlock appends
    ``,as_char`` to every selection and the algorithm strips a trailing ``_%SYS%`` only,
    so the label is the decoration plus ``,as_char`` (athena 2025 sources)."""
    label = decoration + ",as_char"
    return label[:-6] if label.endswith("_%SYS%") else label


@dataclass
class RegionResult:
    """Per region: the decision, and the cutflow entries as (decoration, mask)."""

    decisions: dict[str, np.ndarray]
    cutflows: dict[str, list[tuple[str, np.ndarray]]]


def evaluate_regions(sets: list[RegionSet], contexts: list[cutlib.EventContext], warn) -> RegionResult:
    """Evaluate every region of every EventSelection instance in file order."""
    decisions: dict[str, np.ndarray] = {}
    cutflows: dict[str, list[tuple[str, np.ndarray]]] = {}
    registry: list[tuple[str, np.ndarray]] = []  # EventInfo selections registered so far
    owner = {name: (rs, ctx) for rs, ctx in zip(sets, contexts, strict=True) for name in rs.regions}
    done: set[str] = set()

    def run(name: str) -> None:
        if name in done:
            return
        rs, ctx = owner[name]
        # EventSelectionConfig.makeAlgs: currentDecoration = self.preselection, so the option's
        # flag is the first cut's preselection (and part of every later one) in each region
        current = (cutlib.event_flag(ctx, rs.preselection, f"region {name}: preselection", warn)
                   if rs.preselection else np.ones(ctx.n, dtype=bool))
        entries: list[tuple[str, np.ndarray]] = []
        own: list[tuple[str, np.ndarray]] = []
        saved: np.ndarray | None = None
        for step, cut in enumerate(rs.regions[name], start=1):
            k = cut.keyword
            if k == "SAVE":
                # add_SAVE: pass_<region> = the running decoration at the SAVE line; cuts written
                # after it still get their algorithms (and cutflow bins) but not pass_<region>
                saved = current.copy()
                continue
            if k == "IMPORT":
                run(cut.region)
                current = current & decisions[cut.region]
                entries += [(d, m) for d, m in registry if d.startswith(cut.region)]
                continue
            deco = decoration_name(name, cut, step)
            value = cutlib.evaluate_cut(ctx, cut, warn, reaching=current, region=name)
            if k in ("EVENTFLAG", "GLOBALTRIGMATCH"):
                # no algorithm: the flag joins the running preselection as it is
                current = current & value
                entries.append((deco, value))
                own.append((deco, value))
                continue
            current = current & value
            entries.append((deco, current))
            own.append((deco, current))
            ctx.flags[deco.replace("_%SYS%", "")] = current
        decision = current if saved is None else saved
        decisions[name] = decision
        ctx.flags[f"pass_{name}"] = decision
        cutflows[name] = entries
        registry.extend(own)
        done.add(name)

    for rs in sets:
        for w in rs.extra_warnings:
            warn(w)
        for name in rs.regions:
            run(name)
    return RegionResult(decisions, cutflows)


def mc_weight_decos(weights: ak.Array | None, n: int, plan) -> Deco:
    """weight_mc_%SYS%: the nominal entry of mcEventWeights, and one per GEN_ variation run."""
    if weights is None:
        return Deco({NOSYS: np.ones(n, dtype=np.float32)}, True)
    names = [NOSYS] + list(plan.generator)
    index = [plan.weight_index(s) for s in names]
    matrix = leading(weights, max(index) + 1).astype(np.float32)
    return Deco({s: matrix[:, i] for s, i in zip(names, index, strict=True)}, True)
