"""``topcp-sx inspect``: what is in a TopCP output file, as a dict (for ``--json``) or rich tables.

Generator-weight systematics are many (318 for a Sherpa sample, 193 for the mc23 ttbar one), so
the human view collapses them to a count and a range (``GEN_w001 ... GEN_w318``, or the first
names and the last one when the sample's metadata named them), in the systematics lists and
among the CutBookkeepers alike; ``--all`` lists every one, ``--json`` always has them all.
They are recognised by their ``GEN_`` prefix: TopCPToolkit names every generator-weight
systematic ``GEN_<weight name>``, and writes one ``CutBookkeeper_<DSID>_<RUN>_<SYS>``
histogram per such systematic (TopCPToolkit docs, output format; reference/topcp-toolkit.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from . import ntuple

GENERATOR_PREFIX = "GEN_"
# The emulator numbers the weights when the input has no names (GEN_w001 ...).
_NUMBERED = re.compile(r"^GEN_w\d+$")
_BOOKKEEPER = re.compile(r"^CutBookkeeper_(\d+)_(\d+)_(.+)$")
NAMES_SHOWN = 3  # named weights in a collapsed line, before "... <last>"


def is_generator_weight(systematic: str) -> bool:
    """A generator-weight systematic (``GEN_<name>``), as opposed to NOSYS and kinematic ones."""
    return systematic.startswith(GENERATOR_PREFIX)


def split_generator(systematics: Iterable[str]) -> tuple[list[str], list[str]]:
    """(other systematics, generator-weight ones), each in the given order."""
    others: list[str] = []
    generator: list[str] = []
    for s in systematics:
        (generator if is_generator_weight(s) else others).append(s)
    return others, generator


@dataclass(frozen=True)
class GeneratorWeights:
    """The generator-weight systematics of a file, collapsed: count, first and last, names."""

    count: int
    first: str | None
    last: str | None
    numbered: bool  # GEN_w001 ...: the sample's metadata had no weight names
    names: list[str]

    def range_text(self) -> str:
        """``GEN_w001 ... GEN_w318``; named ones show their first few names, then the last."""
        if len(self.names) <= 1:
            return self.names[0] if self.names else "-"
        head = self.names[:1] if self.numbered else self.names[:NAMES_SHOWN]
        if len(head) >= len(self.names) - 1:  # nothing would be left out
            return ", ".join(self.names)
        return ", ".join(head) + " ... " + self.names[-1]


def generator_weights(systematics: Sequence[str]) -> GeneratorWeights:
    """Collapse the ``GEN_`` systematics of ``systematics`` (order kept)."""
    _, names = split_generator(systematics)
    numbered = bool(names) and all(_NUMBERED.match(n) for n in names)
    return GeneratorWeights(len(names), names[0] if names else None,
                            names[-1] if names else None, numbered, list(names))


@dataclass(frozen=True)
class BookkeeperGroup:
    """The CutBookkeepers of one (DSID, run): NOSYS and others row by row, GEN_ ones collapsed."""

    dsid: int
    run: int
    labels: list[str]
    rows: list[tuple[str, list[float]]]  # histograms kept as they are (NOSYS first)
    generator: GeneratorWeights
    generator_min: list[float]  # per bin, over the generator-weight histograms
    generator_max: list[float]


def bookkeeper_groups(cutflows: Iterable[dict[str, Any]]) -> list[BookkeeperGroup]:
    """Group ``CutBookkeeper_<DSID>_<RUN>_<SYS>`` entries of a report's ``cutflows``."""
    by_key: dict[tuple[int, int], list[tuple[str, str, list[str], list[float]]]] = {}
    for flow in cutflows:
        m = _BOOKKEEPER.match(flow["name"])
        if not m:
            continue
        labels = [lab for lab, _ in flow["bins"]]
        values = [float(v) for _, v in flow["bins"]]
        by_key.setdefault((int(m[1]), int(m[2])), []).append((flow["name"], m[3], labels, values))
    groups = []
    for (dsid, run), entries in by_key.items():
        rows = [(name, vals) for name, sys, _, vals in entries if not is_generator_weight(sys)]
        rows.sort(key=lambda r: not r[0].endswith("_NOSYS"))
        gen = [(sys, vals) for _, sys, _, vals in entries if is_generator_weight(sys)]
        width = max(len(v) for _, _, _, v in entries)
        lows = [min(v[i] for _, v in gen if i < len(v)) for i in range(width)] if gen else []
        highs = [max(v[i] for _, v in gen if i < len(v)) for i in range(width)] if gen else []
        groups.append(BookkeeperGroup(dsid, run, entries[0][2], rows,
                                      generator_weights([s for s, _ in gen]), lows, highs))
    return groups


def inspect_file(path: Path | str) -> dict[str, Any]:
    """Describe an output file: trees, branch groups, systematics, cutflows, emulator marker."""
    f = ntuple.open_root(path)
    with f:
        labelled = ntuple.systematics_from_labels(f)
        trees = ntuple.trees(f)
        tree_reports = []
        suffix_systs: list[str] = []
        for t in trees:
            systs = ntuple.systematics_from_branches(t.branches, labelled)
            for s in systs:
                if s not in suffix_systs:
                    suffix_systs.append(s)
            tree_reports.append(
                {
                    "name": t.name,
                    "kind": t.kind,
                    "entries": t.entries,
                    "branches": len(t.branches),
                    "groups": {
                        prefix: len(names)
                        for prefix, names in ntuple.branch_groups(t.branches).items()
                    },
                    "regions": sorted(
                        b[len("pass_") : -len("_NOSYS")]
                        for b in t.branches
                        if b.startswith("pass_") and b.endswith("_NOSYS")
                    ),
                    "systematics": systs,
                }
            )
        flows = [
            {"name": h.name, "bins": [[lab, val] for lab, val in zip(h.labels, h.values, strict=True)]}
            for h in ntuple.cutflows(f)
        ]
        marker = ntuple.emulator_marker(f)
    all_systs = list(labelled) + [s for s in suffix_systs if s not in labelled]
    # Branch suffixes come sorted; put their GEN_ ones in the labelled (file) order.
    order = {s: i for i, s in enumerate(labelled)}
    suffix_gen = sorted(split_generator(suffix_systs)[1],
                        key=lambda s: (order.get(s, len(order)), s))
    return {
        "file": str(path),
        "size": Path(path).stat().st_size,
        "emulated": marker is not None,
        "emulator_marker": marker,
        "trees": tree_reports,
        "systematics": {
            "all": all_systs,
            "from_listOfSystematics": labelled,
            "from_branch_suffixes": suffix_systs,
            "generator_weights": {
                "from_listOfSystematics": asdict(generator_weights(labelled)),
                "from_branch_suffixes": asdict(generator_weights(suffix_gen)),
            },
        },
        "cutflows": flows,
        "sample_summary": sample_summary_of(path),
    }


def render(report: dict[str, Any], console: Console, *, show_all: bool = False) -> None:
    """Human view of ``inspect_file``'s report; ``show_all`` lists every generator weight."""
    console.print(f"[bold]{report['file']}[/bold]  ({report['size']:,} bytes)")
    if report["emulated"]:
        console.print(
            f"[yellow]Emulated output[/yellow] (marker '{ntuple.MARKER_KEY}'): made without "
            "AnalysisBase, a preview, not physics.", highlight=False
        )
        try:
            marker = json.loads(report["emulator_marker"])
        except ValueError:
            marker = None
        if isinstance(marker, dict):
            for item in marker.get("approximated", []):
                console.print(f"  approximated: {item}", highlight=False)
            for item in marker.get("skipped", []):
                console.print(f"  skipped: {item}", highlight=False)
        else:
            console.print(f"  {report['emulator_marker']}", highlight=False)
    if not report["trees"]:
        console.print("[red]No trees in this file.[/red]")
    for t in report["trees"]:
        table = Table(title=f"{t['kind']} '{t['name']}': {t['entries']:,} entries, "
                            f"{t['branches']} branches", title_justify="left")
        table.add_column("prefix", style="cyan")
        table.add_column("branches", justify="right")
        for prefix, n in t["groups"].items():
            table.add_row(prefix, str(n))
        console.print(table)
        if t["regions"]:
            console.print(f"  regions (pass_<region>_NOSYS): {', '.join(t['regions'])}")
    _render_systematics(report["systematics"], console, show_all=show_all)
    _render_bookkeepers(report["cutflows"], console, show_all=show_all)
    for flow in report["cutflows"]:
        if flow["name"].startswith("CutBookkeeper_"):
            continue
        table = Table(title=flow["name"], title_justify="left")
        table.add_column("bin")
        table.add_column("value", justify="right")
        for label, value in flow["bins"]:
            table.add_row(label, f"{value:g}")
        console.print(table)
    if not report["cutflows"]:
        console.print("Cutflows: none (no cflow_* or CutBookkeeper_* histograms)")
    render_sample_summary(report, console)


def _collapsed(gen: GeneratorWeights) -> str:
    how = "numbered: the sample had no weight names" if gen.numbered else "named as in the sample"
    return f"{gen.count} generator weights {gen.range_text()} ({how}; --all lists them)"


def _render_systematics(systs: dict[str, Any], console: Console, *, show_all: bool) -> None:
    collapsed = systs["generator_weights"]
    gen_labelled = GeneratorWeights(**collapsed["from_listOfSystematics"])
    gen_suffix = GeneratorWeights(**collapsed["from_branch_suffixes"])
    n_gen = len(split_generator(systs["all"])[1])
    head = f" ({len(systs['all'])}"
    head += f", {n_gen} of them generator weights)" if n_gen else ")"
    console.print(f"[bold]Systematics[/bold]{head}:", highlight=False)
    for title, names, gen, absent in (
        ("from listOfSystematics: ", systs["from_listOfSystematics"], gen_labelled,
         "(histogram absent)"),
        ("from branch suffixes:   ", systs["from_branch_suffixes"], gen_suffix, "-"),
    ):
        if show_all or not gen.count:
            console.print("  " + title + (", ".join(names) or absent), highlight=False)
            continue
        others, _ = split_generator(names)
        console.print("  " + title + ", ".join(others), highlight=False)
        console.print("  " + " " * len(title) + "+ " + _collapsed(gen), highlight=False)


def _render_bookkeepers(cutflows: list[dict[str, Any]], console: Console, *,
                        show_all: bool) -> None:
    for group in bookkeeper_groups(cutflows):
        n = len(group.rows) + group.generator.count
        title = f"CutBookkeepers of DSID {group.dsid}, run {group.run} ({n}"
        title += f", {group.generator.count} for generator weights)" if group.generator.count \
            else ")"
        table = Table(title=title, title_justify="left")
        table.add_column("histogram")
        for label in group.labels:
            table.add_column(label, justify="right")
        for name, values in group.rows:
            table.add_row(name, *[f"{v:g}" for v in values])
        if group.generator.count and show_all:
            by_name = {f["name"]: f for f in cutflows}
            prefix = f"CutBookkeeper_{group.dsid}_{group.run}_"
            for sys in group.generator.names:
                table.add_row(prefix + sys, *[f"{v:g}" for _, v in by_name[prefix + sys]["bins"]])
        elif group.generator.count:
            table.add_row(
                f"{group.generator.count} x {group.generator.range_text()} (--all lists them)",
                *[f"{lo:g} .. {hi:g}" if lo != hi else f"{lo:g}"
                  for lo, hi in zip(group.generator_min, group.generator_max, strict=True)])
        console.print(table)


def sample_summary_of(path: Path | str) -> dict[str, Any] | None:
    """The topcp-summary.json beside this file, if it lists it (see ``topcp-sx summary``)."""
    from .summary import summary_beside

    found = summary_beside(path)
    if found is None:
        return None
    source, data = found
    me = [f for f in data.get("files", []) if Path(f.get("path", "")).resolve()
          == Path(path).resolve()]
    names = {f["name"] for f in me}
    samples = [x for x in data.get("samples", []) if names & set(x.get("files", []))]
    return {"path": str(source), "summary": {"files": me, "samples": samples,
                                             "checks": data.get("checks", {})}}


def render_sample_summary(report: dict[str, Any], console: Console) -> None:
    """Which sample (of the summary beside the file) this file belongs to, and its totals."""
    from .summary_view import render_membership

    found = report.get("sample_summary")
    if found:
        render_membership(report["file"], Path(found["path"]), found["summary"], console)
