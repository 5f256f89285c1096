"""Human views of a sample summary (the dict of ``Summary.to_dict`` / the JSON file).

Kept apart from the arithmetic in ``summary.py`` so ``inspect`` can show a file's sample with
one call, and the JSON stays the single source of numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

NOSYS = "NOSYS"


def _g(value: float) -> str:
    return f"{value:.10g}" if abs(value) < 1e7 else f"{value:.6e}"


def _sample_title(s: dict[str, Any]) -> str:
    if s.get("is_data"):
        head = f"data {s.get('campaign') or ''}".strip()
    else:
        head = f"DSID {s.get('dsid')}" + (f" run {s['run']}" if s.get("run") else "")
    extra = " ".join(str(s[k]) for k in ("campaign", "data_type", "etag")
                     if s.get(k) and not (s.get("is_data") and k == "campaign"))
    return f"{head}  {extra}  ({s['n_files']} file{'s' if s['n_files'] != 1 else ''})"


def render_sample(s: dict[str, Any], console: Console, *, cutflow_systematic: str = NOSYS) -> None:
    """One sample: events per tree, nominal sum of weights, the nominal cutflows."""
    console.print(f"[bold]{_sample_title(s)}[/bold]", highlight=False)
    events = ", ".join(f"{tree} {n:,}" for tree, n in s.get("events", {}).items()) or "no trees"
    console.print(f"  events per tree: {events}", highlight=False)
    sow = s.get("sum_of_weights", {})
    if NOSYS in sow:
        n = sow[NOSYS]
        console.print(f"  CutBookkeepers (NOSYS): initial events {n['events']:.0f}, "
                      f"sum of weights {_g(n['sumw'])}, sum of squares {_g(n['sumw2'])}"
                      + (f"; {len(sow) - 1} more systematic(s) in the JSON" if len(sow) > 1
                         else ""), highlight=False)
    elif not s.get("is_data"):
        console.print("  [yellow]no CutBookkeepers: cannot be normalised[/yellow]")
    flows = {region: per[cutflow_systematic] for region, per in s.get("cutflows", {}).items()
             if cutflow_systematic in per}
    if flows:
        width = max(len(f["values"]) for f in flows.values())
        table = Table(title=f"  event cutflows ({cutflow_systematic}, summed)",
                      title_justify="left")
        table.add_column("region")
        for i in range(width):
            table.add_column(str(i + 1), justify="right")
        for region, f in flows.items():
            cells = [f"{lab}: {v:g}" for lab, v in zip(f["labels"], f["values"], strict=True)]
            table.add_row(region, *cells, *[""] * (width - len(cells)))
        console.print(table)


def render_checks(checks: dict[str, Any], console: Console) -> None:
    """Duplicates, missing inputs, problems and notes; green when everything was counted once."""
    if checks.get("ok"):
        console.print(f"[green]each input counted once[/green] ({checks['files_counted']} "
                      "file(s))", highlight=False)
    for d in checks.get("duplicates", []):
        console.print(f"[red]duplicate:[/red] {d['reason']}: " + ", ".join(d["files"]),
                      highlight=False)
    for m in checks.get("missing", []):
        console.print(f"[red]missing:[/red] no output for input {m}", highlight=False)
    for p in checks.get("problems", []):
        console.print(f"[yellow]problem:[/yellow] {p}", highlight=False)
    for n in checks.get("notes", []):
        console.print(f"note: {n}", highlight=False)


def render_summary(data: dict[str, Any], console: Console) -> None:
    """The whole summary, sample by sample, then the checks."""
    checks = data.get("checks", {})
    emulated = data.get("emulated")
    console.print(f"[bold]Sample summary[/bold]: {checks.get('files_counted', '?')} file(s) "
                  f"counted ({checks.get('files_given', '?')} given)"
                  + ("  [yellow]EMULATED preview, not physics[/yellow]" if emulated else ""),
                  highlight=False)
    for s in data.get("samples", []):
        render_sample(s, console)
    render_checks(checks, console)


def render_membership(path: Path | str, source: Path, data: dict[str, Any],
                      console: Console) -> None:
    """For ``inspect FILE``: which sample of the summary beside it this file belongs to."""
    p = Path(path).resolve()
    name = next((f["name"] for f in data.get("files", [])
                 if Path(f.get("path", "")).resolve() == p), p.name)
    for s in data.get("samples", []):
        if name in s.get("files", []):
            console.print(f"[bold]Sample[/bold] (from {source}): this file is 1 of "
                          f"{s['n_files']} in {_sample_title(s)}", highlight=False)
            sow = s.get("sum_of_weights", {}).get(NOSYS)
            if sow:
                console.print(f"  sample sum of weights (NOSYS) {_g(sow['sumw'])} over "
                              f"{sow['events']:.0f} initial events: use it, not this file's "
                              "own CutBookkeeper, to normalise", highlight=False)
            checks = data.get("checks", {})
            if not checks.get("ok"):
                render_checks(checks, console)
            return
