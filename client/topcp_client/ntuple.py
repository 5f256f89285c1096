"""Reading TopCPToolkit output ntuples: trees, systematics, cutflows, the emulator marker.

TopCP writes one tree per level with every systematic in the same tree, as branch suffixes
(``jet_pt_NOSYS``, ``jet_pt_JET_JER_EffectiveNP_1__1up``), plus labelled histograms
(``listOfSystematics``, ``CutBookkeeper_*``, ``cflow_*``). Users should not need hand-written
uproot code to see what is in a file; ``inspect`` and ``plot`` are built on these helpers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import uproot

NOSYS = "NOSYS"
MARKER_KEY = "topcp_emulator"
_VARIATION = re.compile(r"__\d+(up|down)$")
_SYST_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]*$")
_CUTFLOW_PREFIXES = ("cflow_", "CutBookkeeper_")


class NtupleError(ValueError):
    """The file is missing, not ROOT, or lacks what the caller asked for (a clear user error)."""


@dataclass
class TreeInfo:
    name: str
    kind: str  # "TTree" or "RNTuple"
    entries: int
    branches: list[str] = field(default_factory=list)


def open_root(path: Path | str) -> uproot.ReadOnlyDirectory:
    """Open a ROOT file with an error that names the file and says what went wrong."""
    p = Path(path)
    if not p.exists():
        raise NtupleError(f"{p}: no such file")
    if p.is_dir():
        raise NtupleError(f"{p}: is a folder, expected a ROOT file")
    try:
        return uproot.open(p)
    except Exception as exc:  # uproot raises many types for non-ROOT input
        raise NtupleError(f"{p}: not a readable ROOT file ({type(exc).__name__}: {exc})") from None


def _top_level(f: uproot.ReadOnlyDirectory) -> dict[str, str]:
    """name -> class name, highest cycle only, without the ``;N`` suffix."""
    out: dict[str, str] = {}
    for key, cls in f.classnames(recursive=False).items():
        out.setdefault(key.split(";")[0], cls)
    return out


def _visible_branches(tree: object) -> list[str]:
    """Branch names without uproot's jagged-array counter branches (``n<name>``)."""
    keys = list(tree.keys())
    if not isinstance(tree, uproot.TTree):
        return keys
    counters = set()
    for name in keys:
        count = getattr(tree[name], "count_branch", None)
        if count is not None:
            counters.add(count.name)
    return [k for k in keys if k not in counters]


def trees(f: uproot.ReadOnlyDirectory) -> list[TreeInfo]:
    """Every TTree and RNTuple at top level, with entries and branch names."""
    out = []
    for name, cls in _top_level(f).items():
        if cls == "TTree" or cls.endswith("RNTuple"):
            obj = f[name]
            kind = "TTree" if cls == "TTree" else "RNTuple"
            out.append(TreeInfo(name, kind, int(obj.num_entries), _visible_branches(obj)))
    return out


def branch_groups(branches: Iterable[str]) -> dict[str, list[str]]:
    """Group branches by their prefix up to the first ``_`` (``jet_``, ``weight_``, ``pass_``)."""
    groups: dict[str, list[str]] = {}
    for name in branches:
        prefix = name.split("_", 1)[0] + "_" if "_" in name else name
        groups.setdefault(prefix, []).append(name)
    return dict(sorted(groups.items()))


def systematics_from_labels(f: uproot.ReadOnlyDirectory) -> list[str]:
    """Bin labels of ``listOfSystematics*`` histograms, in file order, without duplicates."""
    found: list[str] = []
    for name, cls in _top_level(f).items():
        if name.startswith("listOfSystematics") and cls.startswith("TH1"):
            labels = f[name].axis().labels() or []
            for lab in labels:
                if lab and lab not in found:
                    found.append(lab)
    return found


def systematic_of(branch: str, bases: Iterable[str], known: Iterable[str] = ()) -> str | None:
    """The systematic a branch belongs to, given the nominal bases (``jet_pt`` for ``jet_pt_NOSYS``).

    The split between variable and systematic is ambiguous in the name alone
    (``jet_pt_JET_JER_..``), so we anchor on a known nominal base and accept the rest when it is
    a listed systematic, a ``__1up``/``__1down`` variation, or an upper-case ATLAS-style name.
    """
    if branch.endswith("_" + NOSYS):
        return NOSYS
    known = set(known)
    best: str | None = None
    for base in bases:
        if branch.startswith(base + "_") and (best is None or len(base) > len(best)):
            rest = branch[len(base) + 1 :]
            if rest in known or _VARIATION.search(rest) or _SYST_NAME.match(rest):
                best = base
    return branch[len(best) + 1 :] if best is not None else None


def nominal_bases(branches: Iterable[str]) -> set[str]:
    """``jet_pt`` for every ``jet_pt_NOSYS`` in the list."""
    suffix = "_" + NOSYS
    return {b[: -len(suffix)] for b in branches if b.endswith(suffix)}


def systematics_from_branches(branches: Iterable[str], known: Iterable[str] = ()) -> list[str]:
    """Systematics that appear as branch suffixes (NOSYS first, then sorted)."""
    branches = list(branches)
    bases = nominal_bases(branches)
    found = {s for b in branches if (s := systematic_of(b, bases, known))}
    return sorted(found, key=lambda s: (s != NOSYS, s))


@dataclass
class Histogram1D:
    name: str
    labels: list[str]
    values: list[float]


def cutflows(f: uproot.ReadOnlyDirectory) -> list[Histogram1D]:
    """``cflow_*`` and ``CutBookkeeper_*`` histograms, as (label, value) rows."""
    out = []
    for name, cls in _top_level(f).items():
        if name.startswith(_CUTFLOW_PREFIXES) and cls.startswith("TH1"):
            h = f[name]
            values = [float(v) for v in h.values()]
            labels = list(h.axis().labels() or [])
            if len(labels) != len(values):
                labels = [str(i + 1) for i in range(len(values))]
            out.append(Histogram1D(name, labels, values))
    return out


def emulator_marker(f: uproot.ReadOnlyDirectory) -> str | None:
    """The emulator's marker text (``topcp_emulator`` TNamed/TObjString), None for real output."""
    if MARKER_KEY not in _top_level(f):
        return None
    obj = f[MARKER_KEY]
    if isinstance(obj, str):
        return str(obj)
    members = getattr(obj, "all_members", {}) or {}
    title = members.get("fTitle") or members.get("fString")
    name = members.get("fName")
    return str(title or name or obj)
