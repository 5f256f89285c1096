"""Shared pieces of both levels: selection expressions, EventSelection regions, weights.

Selection expressions are what the config writes after a container name:
``AnaElectrons.tight||loose`` or ``AnaJets.baselineJvt&&passesOR`` (``&&`` binds tighter).
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


def selection_mask(selections: dict[str, ak.Array], expr: str, where: str) -> ak.Array:
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
    """One EventSelection instance, parsed."""

    refs: dict[str, str]  # kind -> 'Container.selection'
    met: str | None
    met_term: str
    btag: str | None
    no_filter: bool
    cutflow: bool
    regions: dict[str, list[cutlib.Cut]]
    saved: dict[str, bool]
    index: int
    extra_warnings: list[str] = field(default_factory=list)


def parse_event_selection(instances: list[dict], filename: str) -> list[RegionSet]:
    out = []
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
        saved = {n: any(c.keyword == "SAVE" for c in cs) for n, cs in parsed.items()}
        regions = cutlib.expand_imports(parsed, where)
        out.append(RegionSet(
            refs=refs,
            met=str(inst["met"]) if inst.get("met") else None,
            met_term=str(inst.get("metTerm", "Final")),
            btag=str(inst["btagDecoration"]) if inst.get("btagDecoration") else None,
            no_filter=bool(inst.get("noFilter", False)),
            cutflow=bool(inst.get("cutFlowHistograms", False)),
            regions=regions,
            saved=saved,
            index=i,
        ))
    return out


def evaluate_regions(
    rs: RegionSet,
    ctx: cutlib.EventContext,
    warn,
) -> tuple[dict[str, np.ndarray], dict[str, list[np.ndarray]]]:
    """Decision per region and the cumulative masks after each cut (for cutflows)."""
    decisions: dict[str, np.ndarray] = {}
    steps: dict[str, list[np.ndarray]] = {}
    for name, cut_list in rs.regions.items():
        mask = np.ones(ctx.n, dtype=bool)
        cumulative = []
        for cut in cut_list:
            if cut.keyword == "SAVE":
                continue
            mask = mask & cutlib.evaluate_cut(ctx, cut, warn)
            cumulative.append(mask)
        decisions[name] = mask
        steps[name] = cumulative
        ctx.flags[f"pass_{name}"] = mask
        ctx.flags[name] = mask
    return decisions, steps


def mc_weight_decos(weights: ak.Array | None, n: int, plan) -> Deco:
    """weight_mc_%SYS%: the nominal entry of mcEventWeights, and one per GEN_ variation run."""
    if weights is None:
        return Deco({NOSYS: np.ones(n, dtype=np.float32)}, True)
    names = [NOSYS] + list(plan.generator)
    index = [plan.weight_index(s) for s in names]
    matrix = leading(weights, max(index) + 1).astype(np.float32)
    return Deco({s: matrix[:, i] for s, i in zip(names, index, strict=True)}, True)
