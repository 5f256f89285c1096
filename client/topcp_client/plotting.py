"""``topcp-sx plot``: one branch of a TopCP ntuple, weighted, with a systematic's up/down variations.

Conventions (documented in docs/client.md):
- Nominal event weight = product of every scalar ``weight_*_NOSYS`` branch in the tree
  (``weight_mc_NOSYS`` x ``weight_pileup_NOSYS`` x ...) and of systematics-independent
  ``weight_*`` branches (e.g. ``weight_beamspot``). For a variation ``SYS`` each factor uses
  ``weight_<name>_<SYS>`` when that branch exists, else its nominal.
- The variable uses ``<var>_<SYS>`` when it exists, else ``<var>_NOSYS``; the region flag uses
  ``pass_<region>_<SYS>`` when it exists, else ``pass_<region>_NOSYS``. So weight-only and
  selection-only systematics are drawn correctly too.
- Energies (``pt``, ``e``, ``m``, ``met``, ``sumet``...) are stored in MeV and shown in GeV.
- Several files of one sample are drawn as one histogram. With a cross-section (pb) and a
  luminosity (fb^-1 unless a unit is given) every curve is scaled by sigma x L / sum of weights
  of its systematic (``normalisation.py``), so the y axis is events.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np

from . import ntuple

_ENERGY_VARS = {"pt", "e", "m", "met", "sumet", "mass", "ht", "mpx", "mpy", "mjj", "mlb", "mtw"}
_VARIATION = re.compile(r"__\d+(up|down)$")


@dataclass
class PlotResult:
    """What was drawn: per curve the weighted sum and entries, for the CLI and tests."""

    output: Path
    tree: str
    variable: str
    unit: str
    curves: dict[str, dict[str, float]] = field(default_factory=dict)
    ratio: bool = False
    weights: list[str] = field(default_factory=list)
    emulated: bool = False  # the file carries the emulator's marker; the figure says so
    files: list[str] = field(default_factory=list)
    normalisation: dict[str, object] | None = None  # Normalisation.to_dict() when normalised


def is_energy(branch: str) -> bool:
    """True when the variable part of a branch name is an energy-like quantity (stored in MeV)."""
    name = branch[: -len("_NOSYS")] if branch.endswith("_NOSYS") else branch
    parts = name.split("_")
    return any(p.lower() in _ENERGY_VARS for p in parts[1:]) or name.lower() in _ENERGY_VARS


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _pick_tree(f, branch: str, tree: str | None) -> ntuple.TreeInfo:
    infos = ntuple.trees(f)
    if not infos:
        raise ntuple.NtupleError(f"{f.file_path}: no trees in this file")
    if tree is not None:
        for t in infos:
            if t.name == tree:
                return t
        names = [t.name for t in infos]
        raise ntuple.NtupleError(
            f"no tree '{tree}' in {f.file_path}; trees: {', '.join(names)}{_suggest(tree, names)}"
        )
    having = [t for t in infos if branch in t.branches]
    if not having:
        every = sorted({b for t in infos for b in t.branches})
        raise ntuple.NtupleError(
            f"no branch '{branch}' in any tree of {f.file_path}{_suggest(branch, every)}"
        )
    for preferred in ("reco", "analysis"):
        for t in having:
            if t.name == preferred:
                return t
    return having[0]


def resolve_variations(syst: str, available: list[str]) -> list[str]:
    """``JET_X`` -> the existing ``JET_X__1up``/``JET_X__1down``; a full variation name -> itself."""
    if syst in available and (_VARIATION.search(syst) or syst == ntuple.NOSYS):
        return [syst]
    found = [v for v in (f"{syst}__1up", f"{syst}__1down") if v in available]
    if found:
        return found
    if syst in available:
        return [syst]
    names = sorted({_VARIATION.sub("", s) for s in available if s != ntuple.NOSYS})
    listing = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
    raise ntuple.NtupleError(
        f"systematic '{syst}' is not in this file{_suggest(syst, names)}"
        + (f"; available: {listing}" if names else "; the file has no systematics "
           "(run with --systematics)")
    )


def _weight_bases(branches: list[str], tree_obj) -> tuple[list[str], list[str]]:
    """(bases of scalar weight_*_NOSYS branches, systematics-independent weight_* branches)."""
    nominal = sorted(
        b[: -len("_NOSYS")] for b in branches if b.startswith("weight_") and b.endswith("_NOSYS")
    )
    bases = ntuple.nominal_bases(branches)
    plain = sorted(
        b for b in branches
        if b.startswith("weight_") and ntuple.systematic_of(b, bases) is None
    )

    def scalar(name: str) -> bool:
        return "[]" not in str(tree_obj[name].typename) and "vector" not in str(
            tree_obj[name].typename
        )

    nominal = [b for b in nominal if scalar(b + "_NOSYS")]
    plain = [b for b in plain if scalar(b)]
    return nominal, plain


def _curve_branches(
    branch: str, sys: str, branches: set[str], region: str | None, wbases: list[str],
    wplain: list[str],
) -> tuple[str, str | None, list[str]]:
    """(variable, region flag, weight branches) to read for one systematic variation."""

    def pick(base: str) -> str:
        varied = f"{base}_{sys}"
        return varied if sys != ntuple.NOSYS and varied in branches else f"{base}_NOSYS"

    var = pick(branch[: -len("_NOSYS")]) if branch.endswith("_NOSYS") else branch
    flag = pick(f"pass_{region}") if region else None
    weights = [pick(b) for b in wbases] + wplain
    return var, flag, weights


def _values_and_weights(arrays, var: str, flag: str | None, weights: list[str], scale: float,
                        factor: float = 1.0):
    """Flat values (scaled) and per-entry weights; per-event weights broadcast to objects."""
    values = arrays[var]
    event_w = np.full(len(values), factor)
    for name in weights:
        event_w = event_w * ak.to_numpy(arrays[name]).astype(float)
    if flag is not None:
        keep = ak.to_numpy(arrays[flag]).astype(bool)
        values, event_w = values[keep], event_w[keep]
    if values.ndim > 1:
        event_w, values = ak.broadcast_arrays(ak.Array(event_w), values)
        values, event_w = ak.flatten(values, axis=None), ak.flatten(event_w, axis=None)
    x = ak.to_numpy(values).astype(float) * scale
    wt = ak.to_numpy(event_w).astype(float)
    ok = np.isfinite(x) & np.isfinite(wt)
    return x[ok], wt[ok]


def _read_all(paths: list[Path], first, tree: str, needed: list[str]):
    """The needed branches of ``tree`` from every file, concatenated (one sample, many files)."""
    parts = [first[tree].arrays(needed, library="ak")]
    for p in paths[1:]:
        f = ntuple.open_root(p)
        with f:
            if tree not in {t.name for t in ntuple.trees(f)}:
                raise ntuple.NtupleError(f"{p}: no tree '{tree}' (the first file has it): "
                                         "plot files of one configuration together")
            have = set(f[tree].keys())
            lacking = [b for b in needed if b not in have]
            if lacking:
                raise ntuple.NtupleError(f"{p}: tree '{tree}' lacks {', '.join(lacking[:5])} "
                                         "(the first file has them)")
            parts.append(f[tree].arrays(needed, library="ak"))
    return parts[0] if len(parts) == 1 else ak.concatenate(parts)


def plot_branch(
    path: Path | str | Sequence[Path | str],
    branch: str,
    output: Path | str,
    *,
    tree: str | None = None,
    region: str | None = None,
    syst: str | None = None,
    bins: int | None = None,
    xmin: float | None = None,
    xmax: float | None = None,
    gev: bool | None = None,
    weighted: bool = True,
    logy: bool = False,
    xsec: float | None = None,
    lumi: str | float | None = None,
    summary: Path | str | None = None,
) -> PlotResult:
    """Histogram ``branch`` (nominal, plus ``syst`` up/down with a ratio panel) into ``output``.

    ``path`` may be several files of one sample. ``xsec`` (pb) and ``lumi`` (fb^-1, or with a
    unit) normalise to events; ``summary`` takes the sum of weights from a summary JSON.
    The PNG is written to a temporary file beside ``output`` and renamed, so a failed plot never
    leaves a broken image behind.
    """
    import hist
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    if bins is not None and bins < 1:
        raise ntuple.NtupleError(f"--bins must be at least 1, got {bins}")
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    if not paths:
        raise ntuple.NtupleError("no ntuple file given")
    norm = None
    if (xsec is None) != (lumi is None):
        raise ntuple.NtupleError("give both --xsec (pb) and --lumi (fb^-1) to normalise")
    if xsec is not None:
        if not weighted:
            raise ntuple.NtupleError("--xsec/--lumi normalise weighted events; drop --unweighted")
        from .normalisation import normalisation_for
        from .summary import SummaryError

        try:
            norm = normalisation_for(paths, xsec_pb=xsec, lumi=lumi, summary_path=summary)
        except SummaryError as exc:
            raise ntuple.NtupleError(str(exc)) from None
    out = Path(output)
    f = ntuple.open_root(paths[0])
    with f:
        emulated = ntuple.emulator_marker(f) is not None
        info = _pick_tree(f, branch, tree)
        branches = set(info.branches)
        if branch not in branches:
            raise ntuple.NtupleError(
                f"no branch '{branch}' in tree '{info.name}'{_suggest(branch, sorted(branches))}"
            )
        if region is not None and f"pass_{region}_NOSYS" not in branches:
            regions = sorted(
                b[5:-6] for b in branches if b.startswith("pass_") and b.endswith("_NOSYS")
            )
            raise ntuple.NtupleError(
                f"no region '{region}' (branch pass_{region}_NOSYS) in tree '{info.name}'"
                + (f"; regions: {', '.join(regions)}" if regions else "; the tree has no regions")
                + _suggest(region, regions)
            )
        tobj = f[info.name]
        wbases, wplain = _weight_bases(info.branches, tobj) if weighted else ([], [])
        variations: list[str] = []
        if syst is not None:
            available = ntuple.systematics_from_labels(f)
            for s in ntuple.systematics_from_branches(info.branches, available):
                if s not in available:
                    available.append(s)
            variations = resolve_variations(syst, available)
        curves = [ntuple.NOSYS, *[v for v in variations if v != ntuple.NOSYS]]
        plan = {
            c: _curve_branches(branch, c, branches, region, wbases, wplain) for c in curves
        }
        needed = sorted({b for var, flag, ws in plan.values() for b in [var, flag, *ws] if b})
        arrays = _read_all(paths, f, info.name, needed)
    for p in paths[1:]:
        with ntuple.open_root(p) as other:
            emulated = emulated or ntuple.emulator_marker(other) is not None

    energy = is_energy(branch) if gev is None else gev
    scale, unit = (1e-3, "GeV") if energy else (1.0, "")
    data = {c: _values_and_weights(arrays, *plan[c], scale, norm.factor(c) if norm else 1.0)
            for c in curves}
    x_nom = data[ntuple.NOSYS][0]
    if len(x_nom) == 0 and all(len(d[0]) == 0 for d in data.values()):
        where = f" in region '{region}'" if region else ""
        hint = (f"; tree '{info.name}' has no events (all filtered out by the event selection:"
                " rerun 'topcp-sx run' with --no-filter to keep them)" if len(arrays) == 0
                else "")
        shown = ", ".join(str(p) for p in paths)
        raise ntuple.NtupleError(f"no entries of '{branch}'{where} to plot in {shown}{hint}")
    everything = np.concatenate([d[0] for d in data.values()])
    lo = float(np.min(everything)) if xmin is None else xmin
    hi = float(np.quantile(everything, 0.98)) if xmax is None else xmax
    if hi <= lo:
        hi = lo + 1.0
    if bins is None:  # ~sqrt(N) bins: 100-event test files stay readable, big files detailed
        bins = int(np.clip(np.sqrt(max(len(x_nom), 1)) * 1.5, 10, 50))
    var_label = branch[: -len("_NOSYS")] if branch.endswith("_NOSYS") else branch
    axis_label = f"{var_label} [{unit}]" if unit else var_label

    hists = {}
    for c in curves:
        h = hist.Hist.new.Reg(bins, lo, hi, name="x", label=axis_label).Weight()
        h.fill(x=data[c][0], weight=data[c][1])
        hists[c] = h

    mplhep.style.use("ATLAS")
    ratio = len(curves) > 1
    if ratio:
        fig, (ax, rax) = plt.subplots(
            2, 1, figsize=(8, 7.5), sharex=True, gridspec_kw={"height_ratios": (3, 1), "hspace": 0.05}
        )
    else:
        fig, ax = plt.subplots(figsize=(8, 6))
        rax = None
    styles = {ntuple.NOSYS: ("black", "-", "Nominal")}
    for v in variations:
        if v.endswith("up"):
            styles[v] = ("tab:red", "--", f"{_VARIATION.sub('', v)} up")
        elif v.endswith("down"):
            styles[v] = ("tab:blue", ":", f"{_VARIATION.sub('', v)} down")
        else:
            styles[v] = ("tab:green", "-.", v)
    # Our weights are real event weights even when integer-valued: no Poisson-interval guess.
    warnings.filterwarnings("ignore", message="Integer weights indicate poissonian data")
    for c in curves:
        color, ls, label = styles[c]
        mplhep.histplot(
            hists[c], ax=ax, color=color, linestyle=ls, linewidth=1.8, label=label,
            # explicit errors: sqrt(sum w^2), not mplhep's Poisson guess for integer weights
            yerr=np.sqrt(hists[c].variances()) if c == ntuple.NOSYS else False,
        )
    ax.set_ylabel("Events" if norm else "Weighted entries" if weighted else "Entries")
    if logy:
        ax.set_yscale("log")
    else:
        ax.set_ylim(0, max(float(h.values().max()) for h in hists.values()) * 1.45 or 1.0)
    ax.set_xlim(lo, hi)
    subtitle = f"tree '{info.name}'" + (f", region {region}" if region else "")
    if norm:
        subtitle += f", {norm.lumi_fb:g} fb$^{{-1}}$"
    # An emulated ntuple is a preview, never physics: say so on the figure itself, where it
    # survives being pasted into slides.
    mplhep.atlas.label("Internal", data=False, ax=ax, loc=1, rlabel=subtitle)
    if emulated:
        ax.text(0.05, 0.80, "EMULATED preview (topcp-emulate), not physics", transform=ax.transAxes,
                fontsize="small", color="tab:red", ha="left", va="top")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] != "Nominal")
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper right",
              frameon=False, fontsize="small")
    if rax is not None:
        nom = hists[ntuple.NOSYS].values()
        with np.errstate(divide="ignore", invalid="ignore"):
            for c in curves[1:]:
                color, ls, _ = styles[c]
                r = np.where(nom > 0, hists[c].values() / nom, np.nan)
                rax.stairs(r, hists[c].axes[0].edges, color=color, linestyle=ls, linewidth=1.8,
                           baseline=None)
            nom_err = np.where(nom > 0, np.sqrt(hists[ntuple.NOSYS].variances()) / nom, np.nan)
        edges = hists[ntuple.NOSYS].axes[0].edges
        rax.stairs(1 + nom_err, edges, baseline=1 - nom_err, fill=True, color="grey", alpha=0.3,
                   label="Stat. unc.")
        rax.axhline(1.0, color="black", linewidth=1)
        rax.set_ylabel("Var. / Nom.")
        finite = [np.nanmax(np.abs(hists[c].values() / np.where(nom > 0, nom, np.nan) - 1))
                  for c in curves[1:] if np.any(nom > 0)]
        spread = min(max([x for x in finite if np.isfinite(x)] + [0.05]), 0.9)
        rax.set_ylim(1 - 1.3 * spread, 1 + 1.3 * spread)
        rax.set_xlabel(axis_label)
        ax.set_xlabel("")
    else:
        ax.set_xlabel(axis_label)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{out.suffix or '.png'}")
    try:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        tmp.replace(out)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)

    result = PlotResult(out, info.name, branch, unit, ratio=ratio,
                        weights=[w for w in plan[ntuple.NOSYS][2]], emulated=emulated,
                        files=[str(p) for p in paths],
                        normalisation=norm.to_dict() if norm else None)
    for c in curves:
        result.curves[c] = {"entries": float(len(data[c][0])), "sum": float(hists[c].sum().value)}
    return result
