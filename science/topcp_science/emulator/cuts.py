"""EventSelection cuts: parse ``selectionCutsDict`` regions and evaluate single cuts.

Parsing is the code generator's public grammar (``topcp_codegen.validation.parse_cuts``),
so the emulator evaluates exactly the AST the validator accepted. Each cut is evaluated
the way its EventSelectionAlgorithms algorithm decides (athena 2025 sources, cited in
docs/emulator.md), vectorised over a chunk:

* ``EL_N``/``MU_N``/``JET_N``/...: NObjectPtSelectorAlg counts selected objects with
  pT >= minPt; an extra selection name is ANDed to the container selection;
* ``JET_N_BTAG``: the same counter over jets passing the b-tag flag (no pT floor: the
  2025 ``add_NBJET_selector`` leaves minPt at 0; the flag itself is false beyond
  |eta| 2.5, the BTaggingSelectionTool acceptance);
* ``MWT``/``MET+MWT``: the *first* selected electron and the first selected muon in
  container order; an event reaching the cut with no such lepton or with both an electron
  and a muon stops the job (``StatusCode::FAILURE``), and so does the emulator;
* ``MLL``, ``MLLWINDOW low high [veto]``, ``OS``, ``SS``: an event reaching the cut must have
  exactly two selected leptons, else the job stops (DileptonInvariantMass(Window)SelectorAlg,
  ChargeSelectorAlg: "Exactly two leptons are required ..."); the window is
  ``low < mll < high`` with the two numbers as written (not sorted);
* ``MLL_OSSF low high [veto]``: any opposite-charge pair of selected electrons, or of selected
  muons (same flavour, every pair, not only the leading two), inside ``low < mll < high``
  (DileptonOSSFInvariantMassWindowSelectorAlg); ``veto`` inverts the decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from topcp_codegen.validation import Cut, CutSyntaxError, parse_cuts

from . import jagged as jg
from .errors import EmulatorError
from .kinematics import energy

OPS = {
    ">=": np.greater_equal, ">": np.greater, "==": np.equal,
    "<": np.less, "<=": np.less_equal, "!=": np.not_equal,
}

COUNT_KEYWORDS = {"EL_N": "electrons", "MU_N": "muons", "JET_N": "jets", "PH_N": "photons",
                  "TAU_N": "taus"}
NOT_EMULATED = {"JET_N_GHOST", "LJET_N_GHOST", "LJETMASSWINDOW_N", "GLOBALTRIGMATCH", "OBJ_N"}

#: keyword -> the tag EventSelectionConfig puts in the cut's decoration name
#: ``<region>_<TAG>_<step>_%SYS%`` (``add_*_selector``).
DECORATION_TAG = {
    "EL_N": "NEL", "MU_N": "NMU", "SUM_EL_N_MU_N": "SUMNELNMU", "SUM_EL_N_MU_N_TAU_N": "SUMNLEPTONS",
    "JET_N_GHOST": "NJETGHOST", "JET_N": "NJET", "JET_N_BTAG": "NBJET", "PH_N": "NPH", "TAU_N": "NTAU",
    "LJET_N_GHOST": "NLJETGHOST", "LJET_N": "NLJET", "OBJ_N": "NOBJ", "MET": "MET", "MWT": "MWT",
    "MET+MWT": "METMWT", "MLL": "MLL", "MLLWINDOW": "MLLWINDOW", "OS": "OS", "SS": "SS",
    "MLL_OSSF": "MLL_OSSF", "LJETMASS_N": "NLJETMASS", "LJETMASSWINDOW_N": "NLJETMASSWINDOW",
    "RUN_NUMBER": "RUN_NUMBER",
}


def parse_region(text: str, where: str) -> list[Cut]:
    """The cuts of one region via the validator's grammar (IMPORT and SAVE included)."""
    try:
        return parse_cuts(text)
    except CutSyntaxError as exc:
        raise EmulatorError([f"{where}: line {p.line}: {p.message}" for p in exc.problems]) from exc


@dataclass
class Collection:
    """One kind of objects for one region and systematic (flat arrays)."""

    layout: jg.Layout
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    m: np.ndarray
    charge: np.ndarray | None
    selected: np.ndarray  # the region's selection of this container
    by_name: dict[str, np.ndarray]  # full selections of the container (for 'EL_N tight ...')
    btag: dict[str, np.ndarray] = field(default_factory=dict)  # ftag_select_* flags (jets)


@dataclass
class EventContext:
    n: int
    collections: dict[str, Collection]
    met: np.ndarray | None
    met_phi: np.ndarray | None
    run_number: np.ndarray
    flags: dict[str, np.ndarray]
    btag_decoration: str | None
    event_number: np.ndarray | None = None
    systematic: str = "NOSYS"
    #: events that reach EventSelection at all (EventCleaning's filter stops the others before
    #: any selector algorithm runs, so they cannot make one fail); None = every event
    live: np.ndarray | None = None


def _compare(values, op: str | None, ref: float, cut: Cut) -> np.ndarray:
    if op not in OPS:
        raise EmulatorError(f"cut '{cut.text}' (line {cut.line}): unknown comparator {op}")
    return np.asarray(OPS[op](values, ref))


def _mask_with(c: Collection, sel_name: str | None, cut: Cut, kind: str) -> np.ndarray:
    mask = c.selected
    if sel_name:
        if sel_name not in c.by_name:
            raise EmulatorError(
                f"cut '{cut.text}' (line {cut.line}): the {kind} have no selection '{sel_name}' "
                f"(known: {', '.join(sorted(k for k in c.by_name if k)) or 'none'})"
            )
        mask = mask & c.by_name[sel_name]
    return mask


def _count(ctx: EventContext, kind: str, ptmin: float, sel_name: str | None, cut: Cut) -> np.ndarray:
    c = ctx.collections.get(kind)
    if c is None:
        return np.zeros(ctx.n)
    mask = _mask_with(c, sel_name, cut, kind) & (c.pt >= ptmin)
    return jg.count(c.layout, mask)


def _first_lepton(ctx: EventContext, reaching: np.ndarray, cut: Cut, region: str):
    """TransverseMassSelectorAlg's lepton: the first selected electron and first selected
    muon in container order; exactly one of them must exist for events reaching the cut."""
    found = []
    for kind in ("electrons", "muons"):
        c = ctx.collections.get(kind)
        if c is None:
            continue
        idx = jg.first(c.layout, c.selected)
        found.append((c, idx))
    n_lep = sum((idx >= 0).astype(int) for _, idx in found) if found else np.zeros(ctx.n, dtype=int)
    bad = reaching & (n_lep != 1)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        ev = f"event {int(ctx.event_number[i])}" if ctx.event_number is not None else f"entry {i}"
        why = ("No charged lepton in the event, cannot compute MWT!" if n_lep[i] == 0 else
               "More than one lepton is associated with this event - cannot determine which is the W "
               "decay lepton.")
        raise EmulatorError([
            f"EventSelection region {region}: cut '{cut.text}' (line {cut.line}), systematic "
            f"{ctx.systematic}: {ev} reaches this cut with {int(n_lep[i])} selected leptons "
            "(counting the first electron and the first muon).",
            f"TopCPToolkit stops the job here: TransverseMassSelectorAlg: '{why}' (StatusCode::FAILURE).",
            "Require exactly one lepton before MWT/MET+MWT, e.g. 'SUM_EL_N_MU_N 25000 == 1' or "
            "'EL_N 25000 == 1' with 'MU_N 25000 == 0'.",
        ])
    pt = np.zeros(ctx.n)
    phi = np.zeros(ctx.n)
    for c, idx in found:
        has = idx >= 0
        pt[has] = c.pt[idx[has]]
        phi[has] = c.phi[idx[has]]
    return pt, phi


def _mwt(ctx: EventContext, reaching, cut: Cut, region: str) -> np.ndarray:
    met = ctx.met if ctx.met is not None else np.zeros(ctx.n)
    met_phi = ctx.met_phi if ctx.met_phi is not None else np.zeros(ctx.n)
    lpt, lphi = _first_lepton(ctx, reaching, cut, region)
    return np.sqrt(np.maximum(2.0 * lpt * met * (1.0 - np.cos(lphi - met_phi)), 0.0))


def _leading_two(ctx: EventContext, kinds=("electrons", "muons")):
    """The two highest-pT selected leptons per event: (pt, eta, phi, m, q) x 2, count."""
    parts = [(ctx.collections[k]) for k in kinds if k in ctx.collections]
    zero = np.zeros(ctx.n)
    if not parts:
        return (zero,) * 5, (zero,) * 5, np.zeros(ctx.n, dtype=np.int64)
    ev, pt, eta, phi, m, q = [], [], [], [], [], []
    for c in parts:
        s = c.selected
        ev.append(c.layout.event[s])
        pt.append(c.pt[s])
        eta.append(c.eta[s])
        phi.append(c.phi[s])
        m.append(c.m[s])
        q.append((c.charge if c.charge is not None else np.zeros(len(c.pt)))[s].astype(np.float64))
    ev_a = np.concatenate(ev)
    cols = [np.concatenate(x) for x in (pt, eta, phi, m, q)]
    order = np.lexsort((-cols[0], ev_a))
    ev_a = ev_a[order]
    cols = [x[order] for x in cols]
    counts = np.bincount(ev_a, minlength=ctx.n)
    start = np.zeros(ctx.n, dtype=np.int64)
    np.cumsum(counts[:-1], out=start[1:])
    out = []
    for k in (0, 1):
        has = counts > k
        vals = []
        for x in cols:
            v = np.zeros(ctx.n)
            v[has] = x[start[has] + k]
            vals.append(v)
        out.append(tuple(vals))
    return out[0], out[1], counts


#: the release's message when a dilepton cut meets an event without exactly two leptons
_TWO_LEPTONS = {
    "MLL": ("DileptonInvariantMassSelectorAlg", "Exactly two leptons are required to compute the MLL!"),
    "MLLWINDOW": ("DileptonInvariantMassWindowSelectorAlg",
                  "Exactly two leptons are required to compute the MLL window!"),
    "OS": ("ChargeSelectorAlg", "Exactly two leptons are required to check whether the event is OS or SS!"),
    "SS": ("ChargeSelectorAlg", "Exactly two leptons are required to check whether the event is OS or SS!"),
}


def _require_two_leptons(ctx: EventContext, counts: np.ndarray, reaching: np.ndarray, cut: Cut,
                         region: str) -> None:
    """The dilepton algorithms return StatusCode::FAILURE for an event that reaches them with
    other than two selected leptons; the emulator stops the job the same way."""
    bad = reaching & (counts != 2)
    if not np.any(bad):
        return
    i = int(np.flatnonzero(bad)[0])
    ev = f"event {int(ctx.event_number[i])}" if ctx.event_number is not None else f"entry {i}"
    alg, why = _TWO_LEPTONS[cut.keyword]
    raise EmulatorError([
        f"EventSelection region {region}: cut '{cut.text}' (line {cut.line}), systematic "
        f"{ctx.systematic}: {ev} reaches this cut with {int(counts[i])} selected leptons.",
        f"TopCPToolkit stops the job here: {alg}: '{why}' (StatusCode::FAILURE).",
        f"Require exactly two leptons before {cut.keyword}, e.g. 'SUM_EL_N_MU_N 25000 == 2'.",
    ])


def _ossf_in_window(ctx: EventContext, lo: float, hi: float) -> np.ndarray:
    """DileptonOSSFInvariantMassWindowSelectorAlg: some opposite-charge pair of selected
    electrons, or of selected muons, has lo < mll < hi."""
    hit = np.zeros(ctx.n, dtype=bool)
    for kind in ("electrons", "muons"):
        c = ctx.collections.get(kind)
        if c is None or c.charge is None:
            continue
        pairs = jg.Pairs.build(c.layout, c.layout, c.selected)
        a, b = pairs.a, pairs.b
        keep = c.selected[a] & (a < b) & (c.charge[a] != c.charge[b])
        a, b = a[keep], b[keep]
        if not len(a):
            continue
        px = c.pt[a] * np.cos(c.phi[a]) + c.pt[b] * np.cos(c.phi[b])
        py = c.pt[a] * np.sin(c.phi[a]) + c.pt[b] * np.sin(c.phi[b])
        pz = c.pt[a] * np.sinh(c.eta[a]) + c.pt[b] * np.sinh(c.eta[b])
        e = energy(c.pt[a], c.eta[a], c.m[a]) + energy(c.pt[b], c.eta[b], c.m[b])
        mll = np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))
        inside = (mll > lo) & (mll < hi)
        hit |= np.bincount(c.layout.event[a][inside], minlength=ctx.n) > 0
    return hit


def _mll(ctx: EventContext, kinds=("electrons", "muons")):
    """(mll of the two leading leptons, has >= 2 leptons, charge product, exactly 2)."""
    a, b, counts = _leading_two(ctx, kinds)

    def four(ptv, etav, phiv, mv):
        px, py, pz = ptv * np.cos(phiv), ptv * np.sin(phiv), ptv * np.sinh(etav)
        return px, py, pz, np.sqrt(px * px + py * py + pz * pz + mv * mv)

    pa, pb = four(*a[:4]), four(*b[:4])
    e, px, py, pz = pa[3] + pb[3], pa[0] + pb[0], pa[1] + pb[1], pa[2] + pb[2]
    mll = np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))
    return mll, counts >= 2, a[4] * b[4], counts == 2


def event_flag(ctx: EventContext, expr: str, where: str, warn) -> np.ndarray:
    """An event-level selection such as ``pass_SUBcommon_%SYS%,as_char`` (``&&`` joins several),
    as EVENTFLAG and EventSelection's ``preselection`` option read it; the emulator knows the
    flags the regions evaluated so far decorate."""
    out = np.ones(ctx.n, dtype=bool)
    for part in expr.split("&&"):
        name = part.strip().split(",", 1)[0]
        for cand in (name, name.replace("_%SYS%", ""), f"pass_{name}"):
            if cand in ctx.flags:
                out = out & ctx.flags[cand]
                break
        else:
            warn(f"EventSelection: {where}: flag {name} unknown to the emulator, no event passes")
            return np.zeros(ctx.n, dtype=bool)
    return out


def _n_leptons(ctx: EventContext, kinds=("electrons", "muons")) -> np.ndarray:
    """Selected leptons per event over ``kinds`` (what the dilepton algorithms count)."""
    total = np.zeros(ctx.n, dtype=np.int64)
    for kind in kinds:
        c = ctx.collections.get(kind)
        if c is not None:
            total += jg.count(c.layout, c.selected).astype(np.int64)
    return total


def evaluate_cut(ctx: EventContext, cut: Cut, warn, *, reaching: np.ndarray | None = None,
                 region: str = "") -> np.ndarray:
    """Boolean per event for one cut (before the preselection is applied).

    ``reaching``: the events that pass the cuts before this one (MWT's abort check)."""
    k = cut.keyword
    reaching = np.ones(ctx.n, dtype=bool) if reaching is None else reaching
    if ctx.live is not None:
        reaching = reaching & ctx.live
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
        mask = _mask_with(jets, cut.selections[0] if cut.selections else None, cut, "jets") & jets.btag[deco]
        return _compare(jg.count(jets.layout, mask), cut.comparator, cut.count, cut)
    if k == "RUN_NUMBER":
        return _compare(ctx.run_number, cut.comparator, cut.count, cut)
    if k in ("MET", "MWT", "MET+MWT", "MLL"):
        met = ctx.met if ctx.met is not None else np.zeros(ctx.n)
        if k == "MET":
            return _compare(met, cut.comparator, cut.value, cut)
        if k == "MWT":
            return _compare(_mwt(ctx, reaching, cut, region), cut.comparator, cut.value, cut)
        if k == "MET+MWT":
            return _compare(met + _mwt(ctx, reaching, cut, region), cut.comparator, cut.value, cut)
        mll, two, _, exactly2 = _mll(ctx)
        _require_two_leptons(ctx, _n_leptons(ctx), reaching, cut, region)
        return exactly2 & _compare(mll, cut.comparator, cut.value, cut)
    if k in ("MLLWINDOW", "MLL_OSSF"):
        lo, hi = cut.values  # lowMLL, highMLL as written: the release does not sort them
        if k == "MLL_OSSF":
            hit = _ossf_in_window(ctx, lo, hi)
            return ~hit if cut.veto else hit
        mll, _, _, exactly2 = _mll(ctx)
        _require_two_leptons(ctx, _n_leptons(ctx), reaching, cut, region)
        inside = (mll > lo) & (mll < hi)
        return exactly2 & (~inside if cut.veto else inside)
    if k in ("OS", "SS"):
        kinds = tuple({"el": "electrons", "mu": "muons", "tau": "taus"}[x] for x in cut.leptons) or (
            "electrons", "muons")
        _, _, qq, exactly2 = _mll(ctx, kinds)
        _require_two_leptons(ctx, _n_leptons(ctx, kinds), reaching, cut, region)
        return exactly2 & ((qq < 0) if k == "OS" else (qq > 0))
    if k == "EVENTFLAG":
        return event_flag(ctx, cut.flag or "", f"'{cut.text}'", warn)
    if k in NOT_EMULATED:
        warn(f"EventSelection: '{cut.text}': {k} is not emulated and treated as passing")
        return np.ones(ctx.n, dtype=bool)
    raise EmulatorError(f"cut '{cut.text}' (line {cut.line}): keyword {k} is not handled by the emulator")
