"""EventSelection: parse ``selectionCutsDict`` regions and evaluate them on a chunk.

Parsing is the code generator's public grammar (``topcp_codegen.validation.parse_cuts``),
so the emulator evaluates exactly the AST the validator accepted; this module only
evaluates it, vectorised over a chunk of events.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np
from topcp_codegen.validation import Cut, CutSyntaxError, parse_cuts

from .errors import EmulatorError
from .kinematics import leading

OPS = {
    ">=": np.greater_equal, ">": np.greater, "==": np.equal,
    "<": np.less, "<=": np.less_equal, "!=": np.not_equal,
}

COUNT_KEYWORDS = {"EL_N": "electrons", "MU_N": "muons", "JET_N": "jets", "PH_N": "photons",
                  "TAU_N": "taus"}
NOT_EMULATED = {"JET_N_GHOST", "LJET_N_GHOST", "LJETMASSWINDOW_N", "GLOBALTRIGMATCH", "OBJ_N"}


def parse_region(text: str, where: str) -> list[Cut]:
    """The cuts of one region via the validator's grammar (IMPORT and SAVE included)."""
    try:
        return parse_cuts(text)
    except CutSyntaxError as exc:
        raise EmulatorError([f"{where}: line {p.line}: {p.message}" for p in exc.problems]) from exc


def expand_imports(regions: dict[str, list[Cut]], where: str) -> dict[str, list[Cut]]:
    """Inline ``IMPORT <region>`` (recursively, without the imported region's SAVE)."""
    out: dict[str, list[Cut]] = {}

    def expand(name: str, stack: tuple[str, ...]) -> list[Cut]:
        if name in stack:
            raise EmulatorError(f"{where}: IMPORT cycle: {' -> '.join(stack + (name,))}")
        result = []
        for c in regions[name]:
            if c.keyword == "IMPORT":
                if c.region not in regions:
                    raise EmulatorError(
                        f"{where}: region {name} line {c.line}: IMPORT of unknown region {c.region}")
                result.extend(x for x in expand(c.region, stack + (name,)) if x.keyword != "SAVE")
            else:
                result.append(c)
        return result

    for name in regions:
        out[name] = expand(name, ())
    return out


@dataclass
class Collection:
    """Selected objects of one kind for one region and systematic."""

    pt: ak.Array
    eta: ak.Array
    phi: ak.Array
    m: ak.Array
    charge: ak.Array | None
    selected: ak.Array  # region selection
    by_name: dict[str, ak.Array]  # other selections on the container (for 'EL_N tight ...')
    btag: dict[str, ak.Array]  # ftag_select_* flags (jets)


@dataclass
class EventContext:
    n: int
    collections: dict[str, Collection]
    met: np.ndarray | None
    met_phi: np.ndarray | None
    run_number: np.ndarray
    flags: dict[str, np.ndarray]
    btag_decoration: str | None


def _compare(values, op: str | None, ref: float, cut: Cut) -> np.ndarray:
    if op not in OPS:
        raise EmulatorError(f"cut '{cut.text}' (line {cut.line}): unknown comparator {op}")
    return np.asarray(OPS[op](values, ref))


def _leptons(ctx: EventContext, kinds=("electrons", "muons")):
    parts = [ctx.collections[k] for k in kinds if k in ctx.collections]
    if not parts:
        return None
    def cat(attr):
        arrs = []
        for c in parts:
            a = getattr(c, attr)
            if a is None:
                a = ak.zeros_like(c.pt)
            arrs.append(ak.values_astype(a[c.selected], np.float64))
        return ak.concatenate(arrs, axis=1) if len(arrs) > 1 else arrs[0]
    pt, eta, phi, m, q = cat("pt"), cat("eta"), cat("phi"), cat("m"), cat("charge")
    order = ak.argsort(pt, axis=1, ascending=False)
    return pt[order], eta[order], phi[order], m[order], q[order]


def _mwt(ctx: EventContext) -> np.ndarray:
    lep = _leptons(ctx)
    if lep is None or ctx.met is None:
        return np.zeros(ctx.n)
    pt, _, phi, _, _ = lep
    lpt = leading(pt, 1)[:, 0]
    lphi = leading(phi, 1)[:, 0]
    return np.sqrt(np.maximum(2.0 * lpt * ctx.met * (1.0 - np.cos(lphi - ctx.met_phi)), 0.0))


def _mll(ctx: EventContext, kinds=("electrons", "muons")):
    """(mll of the two leading leptons, has >= 2 leptons, charge product, exactly 2)."""
    lep = _leptons(ctx, kinds)
    if lep is None:
        z = np.zeros(ctx.n)
        return z, z.astype(bool), z, z.astype(bool)
    pt, eta, phi, m, q = lep
    nlep = ak.to_numpy(ak.num(pt))
    def first2(a):
        p = leading(a, 2)
        return p[:, 0], p[:, 1]
    (pt1, pt2), (eta1, eta2), (phi1, phi2), (m1, m2), (q1, q2) = (
        first2(pt), first2(eta), first2(phi), first2(m), first2(q))
    def four(ptv, etav, phiv, mv):
        px, py, pz = ptv * np.cos(phiv), ptv * np.sin(phiv), ptv * np.sinh(etav)
        return px, py, pz, np.sqrt(px * px + py * py + pz * pz + mv * mv)
    a, b = four(pt1, eta1, phi1, m1), four(pt2, eta2, phi2, m2)
    e, px, py, pz = a[3] + b[3], a[0] + b[0], a[1] + b[1], a[2] + b[2]
    mll = np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))
    return mll, nlep >= 2, q1 * q2, nlep == 2


def _count(ctx: EventContext, kind: str, ptmin: float, sel_name: str | None, cut: Cut) -> np.ndarray:
    c = ctx.collections.get(kind)
    if c is None:
        return np.zeros(ctx.n)
    mask = c.selected & (c.pt >= ptmin)
    if sel_name:
        if sel_name not in c.by_name:
            raise EmulatorError(
                f"cut '{cut.text}' (line {cut.line}): the {kind} have no selection '{sel_name}' "
                f"(known: {', '.join(sorted(k for k in c.by_name if k)) or 'none'})"
            )
        mask = mask & c.by_name[sel_name]
    return ak.to_numpy(ak.sum(mask, axis=1))


def evaluate_cut(ctx: EventContext, cut: Cut, warn) -> np.ndarray:
    """Boolean per event for one cut of the validator's AST (SAVE passes everything)."""
    k = cut.keyword
    if k == "SAVE":
        return np.ones(ctx.n, dtype=bool)
    if k in COUNT_KEYWORDS:
        vals = _count(ctx, COUNT_KEYWORDS[k], cut.value or 0.0,
                      cut.selections[0] if cut.selections else None, cut)
        return _compare(vals, cut.comparator, cut.count, cut)
    if k in ("LJET_N", "LJETMASS_N"):
        warn(f"EventSelection: '{cut.text}': large-R jets are not emulated, no event passes")
        return np.zeros(ctx.n, dtype=bool)
    if k in ("SUM_EL_N_MU_N", "SUM_EL_N_MU_N_TAU_N"):
        kinds = ["electrons", "muons"] + (["taus"] if k.endswith("TAU_N") else [])
        pts = list(cut.values) + [cut.values[0]] * (len(kinds) - len(cut.values))
        sels = list(cut.selections) + [None] * (len(kinds) - len(cut.selections))
        total = np.zeros(ctx.n)
        for kind, ptmin, sel in zip(kinds, pts, sels, strict=False):
            total = total + _count(ctx, kind, ptmin, sel, cut)
        return _compare(total, cut.comparator, cut.count, cut)
    if k == "JET_N_BTAG":
        deco = f"ftag_select_{cut.btag[0]}_{cut.btag[1]}" if cut.btag else ctx.btag_decoration
        jets = ctx.collections.get("jets")
        if jets is None or not deco or deco not in jets.btag:
            warn(f"EventSelection: '{cut.text}': b-tag flag {deco} unavailable, no jet is tagged")
            return _compare(np.zeros(ctx.n), cut.comparator, cut.count, cut)
        mask = jets.selected & jets.btag[deco]
        if cut.selections:
            mask = mask & jets.by_name.get(cut.selections[0], mask)
        return _compare(ak.to_numpy(ak.sum(mask, axis=1)), cut.comparator, cut.count, cut)
    if k == "RUN_NUMBER":
        return _compare(ctx.run_number, cut.comparator, cut.count, cut)
    if k in ("MET", "MWT", "MET+MWT", "MLL"):
        met = ctx.met if ctx.met is not None else np.zeros(ctx.n)
        if k == "MET":
            return _compare(met, cut.comparator, cut.value, cut)
        if k == "MWT":
            return _compare(_mwt(ctx), cut.comparator, cut.value, cut)
        if k == "MET+MWT":
            return _compare(met + _mwt(ctx), cut.comparator, cut.value, cut)
        mll, two, _, _ = _mll(ctx)
        return two & _compare(mll, cut.comparator, cut.value, cut)
    if k in ("MLLWINDOW", "MLL_OSSF"):
        lo, hi = sorted(cut.values)
        mll, two, qq, _ = _mll(ctx)
        inside = (mll > lo) & (mll < hi)
        if k == "MLL_OSSF":
            # any opposite-sign pair of the two leading leptons in (or, with veto, out of) the window
            hit = two & (qq < 0) & inside
            return ~hit if cut.veto else hit
        return two & (~inside if cut.veto else inside)
    if k in ("OS", "SS"):
        kinds = tuple({"el": "electrons", "mu": "muons", "tau": "taus"}[x] for x in cut.leptons) or (
            "electrons", "muons")
        _, _, qq, exactly2 = _mll(ctx, kinds)
        return exactly2 & ((qq < 0) if k == "OS" else (qq > 0))
    if k == "EVENTFLAG":
        name = (cut.flag or "").split(",", 1)[0]
        for cand in (name, name.replace("_%SYS%", ""), f"pass_{name}"):
            if cand in ctx.flags:
                return ctx.flags[cand]
        warn(f"EventSelection: '{cut.text}': flag {name} unknown to the emulator, no event passes")
        return np.zeros(ctx.n, dtype=bool)
    if k in NOT_EMULATED:
        warn(f"EventSelection: '{cut.text}': {k} is not emulated and treated as passing")
        return np.ones(ctx.n, dtype=bool)
    raise EmulatorError(f"cut '{cut.text}' (line {cut.line}): keyword {k} is not handled by the emulator")
