"""``topcp-sx inspect``: what is in a TopCP output file, as a dict (for ``--json``) or rich tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from . import ntuple

BOOKKEEPER_ROWS = 5  # hundreds exist with generator weights; --json has them all


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
        },
        "cutflows": flows,
        "sample_summary": sample_summary_of(path),
    }


def render(report: dict[str, Any], console: Console) -> None:
    """Human view of ``inspect_file``'s report."""
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
    systs = report["systematics"]
    console.print(f"[bold]Systematics[/bold] ({len(systs['all'])}):")
    if systs["from_listOfSystematics"]:
        console.print("  from listOfSystematics: " + ", ".join(systs["from_listOfSystematics"]))
    else:
        console.print("  from listOfSystematics: (histogram absent)")
    console.print("  from branch suffixes:   " + (", ".join(systs["from_branch_suffixes"]) or "-"))
    bookkeepers = [fl for fl in report["cutflows"] if fl["name"].startswith("CutBookkeeper_")]
    if bookkeepers:
        table = Table(title=f"CutBookkeepers ({len(bookkeepers)})", title_justify="left")
        table.add_column("histogram")
        for label, _ in bookkeepers[0]["bins"]:
            table.add_column(label, justify="right")
        for fl in bookkeepers[:BOOKKEEPER_ROWS]:
            table.add_row(fl["name"], *[f"{v:g}" for _, v in fl["bins"]])
        if len(bookkeepers) > BOOKKEEPER_ROWS:
            table.add_row(f"... {len(bookkeepers) - BOOKKEEPER_ROWS} more (see --json)")
        console.print(table)
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
