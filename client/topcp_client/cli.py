"""The ``topcp-sx`` command line (typer, like the servicex CLI).

Exit codes everywhere: 0 success, 1 a problem with the content (config errors, failed files,
bad output file), 2 a usage mistake (missing file, wrong option).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated  # noqa: UP035 (typer reads Optional)

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .configs import UsageError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="TopCPToolkit on ServiceX: validate configs offline, run them locally on PHYSLITE, "
    "deliver through ServiceX, inspect and plot the ntuples.",
)
# Wide when piped (CI logs, CliRunner): summary tables must not be squeezed to 80 columns.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160, emoji=False,
              highlight=False)
# emoji=False: "reco.yaml:100:9" must never become an emoji.
err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)


def _usage(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(2)


def _print_problems(problems, *, as_json: bool = False) -> None:
    if as_json:
        out.print_json(json.dumps([p.to_dict() for p in problems]))
        return
    for p in problems:
        style = "red" if p.severity == "error" else "yellow"
        err.print(str(p), style=style, markup=False)


@contextmanager
def _user_errors(nothing_done: str) -> Iterator[None]:
    """Turn the two kinds of user mistakes into exits: usage (2) and config errors (1).

    Config errors are printed compiler-style, then ``nothing_done`` says what did not happen.
    """
    from .api import ConfigValidationError

    try:
        yield
    except UsageError as exc:
        raise _usage(str(exc)) from None
    except ConfigValidationError as exc:
        _print_problems(exc.errors)
        err.print(f"config errors: {nothing_done}")
        raise typer.Exit(1) from None


RecoOpt = Annotated[Path | None, typer.Option("--reco", help="Reco-level (detector) config "
                                                 "YAML, whatever its file name.")]
ParticleOpt = Annotated[Path | None, typer.Option("--particle", help="Particle-level config "
                                                     "YAML (runs runTop_el.py --particle).")]
PartonOpt = Annotated[Path | None, typer.Option("--parton", help="Parton-level config YAML "
                                                   "(runs runTop_el.py --parton).")]


@app.command()
def validate(
    files: Annotated[list[Path] | None, typer.Argument(
        help="Config files; the level comes from the name (reco.yaml, particle.yaml, "
        "parton.yaml). Use --reco/--particle/--parton for other names.")] = None,
    reco: RecoOpt = None,
    particle: ParticleOpt = None,
    parton: PartonOpt = None,
    release: Annotated[str | None, typer.Option(
        help="AnalysisBase release to check against (default: the schema's pinned release).")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as a JSON list "
                                          "(file, line, column, path, message, severity, "
                                          "suggestion) on stdout.")] = False,
) -> None:
    """Check TopCPToolkit YAML configs offline, with the code generator's own validator.

    Prints compiler-style 'file:line:col: path: message' lines. Exit 0 clean (warnings allowed),
    1 errors found, 2 usage mistake.
    """
    from .api import validate as api_validate
    from .configs import only_errors

    try:
        problems = api_validate(*(files or []), reco=reco, particle=particle, parton=parton,
                                release=release)
    except UsageError as exc:
        raise _usage(str(exc)) from None
    _print_problems(problems, as_json=as_json)
    errors = only_errors(problems)
    if not as_json:
        n_warn = len(problems) - len(errors)
        if errors:
            err.print(f"{len(errors)} error(s), {n_warn} warning(s)")
        else:
            err.print(f"[green]OK[/green]: no errors ({n_warn} warning(s))")
    raise typer.Exit(1 if errors else 0)


def _fmt_size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _summary_table(results) -> Table:
    regions = sorted({r for res in results for r in res.regions})
    table = Table(title="topcp-sx run summary", title_justify="left")
    for col in ("input", "status", "events in", "events out"):
        table.add_column(col, justify="right" if col.startswith("events") else "left")
    for r in regions:
        table.add_column(f"pass {r}", justify="right")
    table.add_column("size", justify="right")
    table.add_column("time", justify="right")
    for res in results:
        cells = [
            Path(res.input).name,
            "[green]ok[/green]" if res.ok else "[red]FAILED[/red]",
            "-" if res.events_in is None else str(res.events_in),
            "-" if res.events_out is None else str(res.events_out),
            *[str(res.regions[r]) if r in res.regions else "-" for r in regions],
            _fmt_size(res.size),
            f"{res.seconds:.1f} s",
        ]
        table.add_row(*cells)
    return table


@app.command()
def run(
    inputs: Annotated[list[str], typer.Argument(
        help="PHYSLITE input files (TTree or RNTuple) or root:// URLs.")],
    output_dir: Annotated[Path, typer.Option(
        "-o", "--output-dir", help="Folder for the ntuples: one per input, named after the "
        "input ('x.root' -> OUTDIR/x.root, 'x.pool.root.1' -> OUTDIR/x.pool.root.1.root).")],
    reco: RecoOpt = None,
    particle: ParticleOpt = None,
    parton: PartonOpt = None,
    systematics: Annotated[bool, typer.Option(
        "--systematics", help="Run systematics (the servicex default is nominal only).")]
    = False,
    max_events: Annotated[int, typer.Option(
        help="Events per file to process; -1 means all.")] = -1,
    no_filter: Annotated[bool, typer.Option(
        "--no-filter", help="Keep all events (noFilter is set on the selection blocks); the "
        "pass_<region> decisions are still stored.")] = False,
    workers: Annotated[int, typer.Option(help="Files transformed in parallel.")] = 1,
    runner: Annotated[str, typer.Option(
        help="'process': run transform_single_file.py here (real runTop_el.py when on PATH, "
        "else the emulator); 'docker': one 'docker run' of --image per file.")] = "process",
    image: Annotated[str | None, typer.Option(
        help="Science image for --runner docker, e.g. "
        "sslhep/servicex_science_image_topcp:25.2.74-v2.23.0.")] = None,
) -> None:
    """Run TopCPToolkit configs on local PHYSLITE files, as ServiceX would (the main job).

    Builds the same bundle as the code generator, in-process, then transforms each file with a
    pool of workers. Exit 0 when every file succeeded, 1 on config errors (nothing is run) or
    when any file failed (the others are still done), 2 on usage mistakes.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .local_run import run_local

    levels = {k: v for k, v in (("reco", reco), ("particle", particle), ("parton", parton)) if v}
    if not levels:
        raise _usage("give at least --reco FILE (and optionally --particle/--parton)")
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, transient=False)
    task = progress.add_task("transforming", total=len(inputs))

    def done(res) -> None:
        progress.advance(task)
        if not res.ok:
            progress.console.print(f"[red]FAILED[/red] {res.input}: {res.error}", highlight=False)

    with _user_errors("nothing was run"), progress:
        results = run_local(levels, inputs, output_dir, systematics=systematics,
                            max_events=max_events, no_filter=no_filter, workers=workers,
                            runner=runner, image=image, on_done=done)
    out.print(_summary_table(results))
    for r in results:
        if r.ok:
            out.print(f"wrote {r.output}", highlight=False)
    failed = [r for r in results if not r.ok]
    for r in failed:
        err.print(f"[red]error:[/red] {r.input}: {r.error}", highlight=False)
    if failed:
        err.print(f"{len(failed)} of {len(results)} file(s) failed")
        raise typer.Exit(1)



@app.command()
def inspect(
    output: Annotated[Path, typer.Argument(help="A TopCP output ntuple (.root).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Show what a TopCP ntuple holds: trees, branch groups, systematics, cutflows, emulator marker."""
    from .inspect_output import inspect_file, render
    from .ntuple import NtupleError

    try:
        report = inspect_file(output)
    except NtupleError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(json.dumps(report))
    else:
        render(report, out)


@app.command()
def plot(
    ntuple_file: Annotated[Path, typer.Argument(help="A TopCP output ntuple (.root).")],
    branch: Annotated[str, typer.Option(help="Branch to histogram, e.g. jet_pt_NOSYS or "
                                        "met_met_NOSYS (jagged branches fill every object).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG (or PDF/SVG) to write.")]
    = Path("plot.png"),
    region: Annotated[str | None, typer.Option(
        help="Only events with pass_<region>_<SYS> set, e.g. ejets.")] = None,
    syst: Annotated[str | None, typer.Option(
        help="Systematic to overlay: a name (both __1up and __1down are drawn) or one "
        "variation; adds a ratio panel.")] = None,
    tree: Annotated[str | None, typer.Option(
        help="Tree to read (default: the one holding --branch, preferring 'reco').")] = None,
    bins: Annotated[int | None, typer.Option(
        help="Number of bins (default: about 1.5*sqrt(entries), 10 to 50).")] = None,
    xmin: Annotated[float | None, typer.Option(help="Lower edge, in displayed units (GeV "
                                                  "for energies). Default: smallest value.")]
    = None,
    xmax: Annotated[float | None, typer.Option(help="Upper edge, in displayed units. "
                                                  "Default: the 98% quantile (the arrow marks overflow).")] = None,
    gev: Annotated[bool | None, typer.Option(
        "--gev/--raw-units", help="Divide by 1000 and label GeV (default: automatic for "
        "pt, e, m, met, sumet...).")] = None,
    unweighted: Annotated[bool, typer.Option(
        "--unweighted", help="Count entries instead of weighting by the nominal weight "
        "(product of weight_*_NOSYS and systematics-free weight_* branches).")] = False,
    logy: Annotated[bool, typer.Option("--logy", help="Logarithmic y axis.")] = False,
) -> None:
    """Histogram one branch (ATLAS style), weighted, with a systematic's variations and ratio."""
    from .ntuple import NtupleError
    from .plotting import plot_branch

    try:
        res = plot_branch(ntuple_file, branch, output, tree=tree, region=region, syst=syst,
                          bins=bins, xmin=xmin, xmax=xmax, gev=gev, weighted=not unweighted,
                          logy=logy)
    except NtupleError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    for name, c in res.curves.items():
        out.print(f"{name}: {c['entries']:.0f} entries, sum of weights {c['sum']:.6g}",
                  highlight=False)
    out.print(f"wrote {res.output}", highlight=False)


@app.command()
def sample(
    dest: Annotated[Path, typer.Option(help="Folder to put PHYSLITE_example.root in.")]
    = Path("samples"),
) -> None:
    """Get a real 100-event PHYSLITE file (from the coffea 2026.9.0 sdist on PyPI).

    Reuses DEST/PHYSLITE_example.root when its sha256 matches. The last line printed is the path.
    """
    from .sample import SampleError, fetch_sample

    try:
        path = fetch_sample(dest)
    except SampleError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    print(path)


@app.command()
def deliver(
    spec_file: Annotated[Path | None, typer.Argument(
        help="A servicex spec YAML (with 'Query: !TopCP ...'); or use the flags below.")]
    = None,
    reco: RecoOpt = None,
    particle: ParticleOpt = None,
    parton: PartonOpt = None,
    dataset: Annotated[list[str] | None, typer.Option(
        "--dataset", "-d", help="Input files/URLs (a FileList) or one rucio 'scope:name' DID; "
        "repeatable.")] = None,
    name: Annotated[str, typer.Option(help="Sample name (the transform title).")] = "topcp",
    max_events: Annotated[int, typer.Option(help="Events per file; -1 means all.")] = -1,
    systematics: Annotated[bool, typer.Option("--systematics", help="Run systematics.")]
    = False,
    no_filter: Annotated[bool, typer.Option("--no-filter", help="Keep all events.")] = False,
    image: Annotated[str | None, typer.Option(help="Custom science image (the server must "
                                                 "allow its registry).")] = None,
    backend: Annotated[str | None, typer.Option(
        "--backend", "-b", help="Endpoint name from servicex.yaml (default: its "
        "default-endpoint).")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Path to servicex.yaml (default: servicex's own lookup).")]
    = None,
    ignore_cache: Annotated[bool, typer.Option("--ignore-cache", help="Resubmit even if "
                                               "the local cache has this query.")] = False,
) -> None:
    """Validate the configs, then submit the TopCP query with servicex.deliver().

    Exit 0 when every file of every sample came back; 1 on config errors (nothing is
    submitted), a failed sample, or any failed file (each one is named with its reason;
    the delivered files are still listed); 2 on usage mistakes.
    """
    from .delivery import check_spec, load_spec, spec_from_flags
    from .delivery import deliver as do_deliver

    with _user_errors("nothing was submitted"):
        if spec_file is not None:
            if reco or particle or parton or dataset:
                raise UsageError("give either a spec file or --reco/--dataset flags, not both")
            spec = load_spec(spec_file)
        else:
            spec = spec_from_flags(name=name, datasets=dataset or [], reco=reco,
                                   particle=particle, parton=parton, max_events=max_events,
                                   systematics=systematics, no_filter=no_filter, image=image)
        problems = check_spec(spec)
    _print_problems(problems)
    # (further pre-flight checks of the spec go here, before anything is submitted)
    try:
        samples = do_deliver(spec, backend=backend, config_path=config, ignore_cache=ignore_cache)
    except Exception as exc:  # servicex raises NameError/ValueError/RuntimeError for setup issues
        err.print(f"[red]error:[/red] ServiceX delivery failed: {type(exc).__name__}: {exc}",
                  highlight=False)
        raise typer.Exit(1) from None
    _print_delivery(samples)
    raise typer.Exit(0 if all(s.ok for s in samples) else 1)


def _print_delivery(samples) -> None:
    for s in samples:
        if s.error is not None:
            err.print("[red]error:[/red] " + escape(f"{s.name}: failed: {s.error}"),
                      highlight=False)
            continue
        out.print(f"{s.name}: {len(s.files)} file(s)", highlight=False)
        for f in s.files:
            out.print(f"  {f}", highlight=False)
        if s.failed_count:
            of = f" of {s.total}" if s.total else ""
            err.print("[red]error:[/red] " + escape(f"{s.name}: {s.failed_count}{of} file(s) "
                                                    f"failed (request {s.request_id}):"),
                      highlight=False)
            for f in s.failed:
                err.print(f"  {f.path}: {f.reason}", highlight=False, markup=False)
            if len(s.failed) < s.failed_count:
                err.print(f"  ({s.failed_count - len(s.failed)} more not listed by the server)")
            err.print(f"  failed files: {s.failed_files_url}; logs: servicex transforms logs "
                      f"{s.request_id}", highlight=False, markup=False)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port for the ServiceX API.")] = 5001,
    host: Annotated[str, typer.Option(
        help="Address to bind; anything but loopback needs --auth.")] = "127.0.0.1",
    workers: Annotated[int | None, typer.Option(
        help="Files transformed in parallel (default: the harness's choice).")] = None,
    runner: Annotated[str, typer.Option(
        help="'process' (local transform script) or 'docker' (science image).")] = "process",
    state_dir: Annotated[Path | None, typer.Option(
        help="Folder for the harness's state and outputs (default: the harness's choice).")]
    = None,
    image: Annotated[str | None, typer.Option(
        help="Science image for --runner docker.")] = None,
    data_dir: Annotated[list[Path] | None, typer.Option(
        "--data-dir", help="Folder local inputs must lie in (repeatable; default: the "
        "current folder).")] = None,
    allow_remote_inputs: Annotated[bool, typer.Option(
        "--allow-remote-inputs", help="Let transforms fetch root:// and https:// inputs.")]
    = False,
    auth: Annotated[bool, typer.Option(
        "--auth", help="Require a token on every API call (kept in the state folder and "
        "printed in the servicex.yaml snippet).")] = False,
    token_file: Annotated[Path | None, typer.Option(
        help="Require the token stored in this file (implies --auth).")] = None,
) -> None:
    """Start the local 'ServiceX in a box' that the servicex client can deliver() to.

    Prints what it serves (URL, workers, state and data folders, the servicex.yaml to use)
    once ready; runs until Ctrl-C. A busy port or a state folder in use is one error line
    (exit 1).
    """
    if runner not in ("process", "docker"):
        raise _usage(f"--runner must be 'process' or 'docker', not '{runner}'")
    import logging

    from topcp_harness.config import default_state_dir
    from topcp_harness.security import resolve_token
    from topcp_harness.server import serve as harness_serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    state = state_dir or default_state_dir()
    try:
        token = resolve_token(auth=auth, token_file=token_file, state_dir=state)
        harness_serve(port=port, host=host, workers=workers, runner=runner, state_dir=state,
                      image=image, token=token, allow_remote=allow_remote_inputs,
                      data_dirs=tuple(data_dir) if data_dir else None)
    except (ValueError, OSError, RuntimeError) as exc:
        err.print("[red]error:[/red] " + escape(str(exc)), highlight=False)
        raise typer.Exit(1) from None


def main() -> None:
    """Console-script entry point (``topcp-sx``)."""
    app(prog_name="topcp-sx")


if __name__ == "__main__":
    main()
    sys.exit(0)
