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


def _print_problems(problems, *, as_json: bool = False, summary: bool = False) -> None:
    """Findings compiler-style on stderr (or JSON on stdout); the rendering lives with the
    validator (topcp_codegen.validation.render) so the codegen and the client agree."""
    from topcp_codegen.validation import render_json, render_text

    if as_json:
        out.print_json(render_json(problems))
        return
    if problems or summary:
        err.print(render_text(problems, summary=summary).rstrip("\n"), markup=False)


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
        help="Config files; the level comes from the name (reco.yaml, my_particle.yaml...), "
        "else from the blocks (PL_* for particle, PartonHistory for parton), else reco, with "
        "a note. --reco/--particle/--parton set it.")] = None,
    reco: RecoOpt = None,
    particle: ParticleOpt = None,
    parton: PartonOpt = None,
    release: Annotated[str | None, typer.Option(
        help="AnalysisBase release to check against (default: the schema's pinned release).")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as a JSON list "
                                          "(file, line, column, path, message, severity, "
                                          "suggestion, rule, note) on stdout.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Report warnings (what the schema "
                                         "cannot verify for the pinned release) as errors.")]
    = False,
) -> None:
    """Check TopCPToolkit YAML configs offline, with the code generator's own validator.

    Prints compiler-style findings (error[rule]: ..., the source line with a caret, help and
    note). Exit 0 clean (warnings allowed), 1 errors found, 2 usage mistake.
    """
    from .api import validate as api_validate
    from .configs import only_errors

    try:
        problems = api_validate(*(files or []), reco=reco, particle=particle, parton=parton,
                                release=release, strict=strict,
                                on_note=lambda note: err.print(f"note: {note}", markup=False))
    except UsageError as exc:
        raise _usage(str(exc)) from None
    _print_problems(problems, as_json=as_json, summary=True)
    raise typer.Exit(1 if only_errors(problems) else 0)


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
    skip_check: Annotated[bool, typer.Option(
        "--skip-check", help="Run even when the pre-flight check finds errors between the "
        "inputs' metadata and the config (see 'topcp-sx check').")] = False,
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

    with _user_errors("nothing was run"):
        _preflight_gate(levels, inputs, skip=skip_check, nothing_done="nothing was run")
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
    show_all: Annotated[bool, typer.Option(
        "--all", help="List every generator-weight systematic and CutBookkeeper (by default "
        "they are collapsed to a count and a range).")] = False,
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
        render(report, out, show_all=show_all)


@app.command()
def plot(
    ntuple_files: Annotated[list[Path], typer.Argument(
        help="TopCP output ntuple(s) (.root); several files of one sample make one histogram.")],
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
    xsec: Annotated[float | None, typer.Option(
        help="Cross-section in pb (times filter efficiency and k-factor) to normalise MC: "
        "weight x xsec x lumi / sum of weights (CutBookkeepers, per systematic).")] = None,
    lumi: Annotated[str | None, typer.Option(
        help="Integrated luminosity: a number in fb^-1 (140), or with its unit (140/fb, "
        "140000/pb).")] = None,
    summary: Annotated[Path | None, typer.Option(
        help="Take the sum of weights from this topcp-summary.json (the whole sample) "
        "instead of the plotted files' own CutBookkeepers.")] = None,
) -> None:
    """Histogram one branch (ATLAS style), weighted, with a systematic's variations and ratio."""
    from .ntuple import NtupleError
    from .plotting import plot_branch

    try:
        res = plot_branch(ntuple_files, branch, output, tree=tree, region=region, syst=syst,
                          bins=bins, xmin=xmin, xmax=xmax, gev=gev, weighted=not unweighted,
                          logy=logy, xsec=xsec, lumi=lumi, summary=summary)
    except NtupleError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    if res.normalisation:
        n = res.normalisation
        out.print(f"normalised: {n['xsec_pb']:g} pb x {n['lumi_pb'] / 1000:g} fb^-1 "
                  f"(= {n['lumi_pb']:g} pb^-1) / sum of weights {n['sumw_nosys']:.8g} (NOSYS, "
                  f"{n['source']}) = {n['factor_nosys']:.6g} per unit weight", highlight=False)
        for note in n["notes"]:
            err.print(f"[yellow]note:[/yellow] {note}", highlight=False)
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
    skip_check: Annotated[bool, typer.Option(
        "--skip-check", help="Submit even when the pre-flight check of local input files "
        "finds errors against the config.")] = False,
) -> None:
    """Validate the configs, then submit the TopCP query with servicex.deliver()."""
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
    with _user_errors("nothing was submitted"):
        for sample_spec in spec.Sample:
            _preflight_gate(_query_levels(sample_spec.Query),
                            [str(f) for f in getattr(sample_spec.Dataset, "files", None) or []],
                            skip=skip_check, nothing_done="nothing was submitted")
    try:
        results = do_deliver(spec, backend=backend, config_path=config, ignore_cache=ignore_cache)
    except Exception as exc:  # servicex raises NameError/ValueError/RuntimeError for setup issues
        err.print(f"[red]error:[/red] ServiceX delivery failed: {type(exc).__name__}: {exc}",
                  highlight=False)
        raise typer.Exit(1) from None
    failed = 0
    for sample_name, files in results.items():
        if hasattr(files, "valid") and not files.valid():
            failed += 1
            err.print(f"[red]{sample_name}: failed[/red]")
            continue
        out.print(f"{sample_name}: {len(files)} file(s)")
        for f in files:
            out.print(f"  {f}", highlight=False)
    raise typer.Exit(1 if failed else 0)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 for the ServiceX API.")] = 5001,
    workers: Annotated[int | None, typer.Option(
        help="Files transformed in parallel (default: the harness's choice).")] = None,
    runner: Annotated[str, typer.Option(
        help="'process' (local transform script) or 'docker' (science image).")] = "process",
    state_dir: Annotated[Path | None, typer.Option(
        help="Folder for the harness's state and outputs (default: the harness's choice).")]
    = None,
    image: Annotated[str | None, typer.Option(
        help="Science image for --runner docker.")] = None,
) -> None:
    """Start the local 'ServiceX in a box' that the servicex client can deliver() to."""
    if runner not in ("process", "docker"):
        raise _usage(f"--runner must be 'process' or 'docker', not '{runner}'")
    from topcp_harness.server import serve as harness_serve

    harness_serve(port=port, workers=workers, runner=runner, state_dir=state_dir, image=image)


def _expected_inputs(values: list[str] | None) -> list[str] | None:
    """``--inputs``: names, or ``.txt``/``.list`` files listing them (one or more per line)."""
    if not values:
        return None
    names: list[str] = []
    for v in values:
        p = Path(v)
        if p.suffix in (".txt", ".list"):
            if not p.is_file():
                raise _usage(f"--inputs {v}: no such list file")
            names += [x.strip() for line in p.read_text(encoding="utf-8").splitlines()
                      for x in line.split(",") if x.strip()]
        else:
            names.append(v)
    return names


@app.command()
def summary(
    outputs: Annotated[list[Path], typer.Argument(
        help="An output folder (every *.root in it) or the output files of one or more "
        "samples.")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Where to write the JSON (default: topcp-summary.json in the "
        "output folder).")] = None,
    inputs: Annotated[list[str] | None, typer.Option(
        "--inputs", help="The inputs the outputs were made from (names/URLs, or a .txt list): "
        "inputs without an output are named. Repeatable.")] = None,
    expected_events: Annotated[int | None, typer.Option(
        help="The dataset's total number of events (AMI/rucio), compared with the summed "
        "CutBookkeepers.")] = None,
    no_write: Annotated[bool, typer.Option("--no-write", help="Only print, write no JSON.")]
    = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary JSON.")] = False,
) -> None:
    """Add up CutBookkeepers (sum of weights per systematic), cutflows and tree entries per sample.

    Checks that each input was counted once (duplicates and, with --inputs, missing files are
    named) and writes topcp-summary.json atomically next to the outputs; 'plot --xsec --lumi'
    and 'inspect' use it. Exit 0 when every input was counted once, 1 otherwise, 2 usage.
    """
    from . import summary as summ
    from .ntuple import NtupleError
    from .summary_view import render_summary

    expected = _expected_inputs(inputs)
    try:
        files = summ.output_files(outputs)
        dest = None if no_write else (output or summ.default_destination(outputs, files))
        result = summ.summarize(files, expected_inputs=expected, expected_events=expected_events)
    except (summ.SummaryError, NtupleError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1 if isinstance(exc, NtupleError) else 2) from None
    data = result.to_dict()
    if dest is not None:
        summ.write_summary(result, dest)
    if as_json:
        out.print_json(json.dumps(data))
    else:
        render_summary(data, out)
        if dest is not None:
            out.print(f"wrote {dest}", highlight=False)
    raise typer.Exit(0 if result.ok else 1)


def _report_preflight(report, *, as_json: bool = False) -> None:
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
        return
    for m in report.findings:
        err.print(m.render(), style="red" if m.severity == "error" else "yellow", markup=False,
                  highlight=False)
    for item in report.skipped:
        err.print(f"note: {item}: remote input, metadata not checked", highlight=False)


def _query_levels(query) -> dict[str, Path]:
    return {lv: Path(getattr(query, lv)) for lv in ("reco", "particle", "parton")
            if getattr(query, lv, None)}


def _preflight_gate(levels: dict[str, Path], inputs: list[str], *, skip: bool,
                    nothing_done: str) -> None:
    """``run``/``deliver``: check local inputs first; errors stop unless --skip-check."""
    from .preflight import is_local, preflight

    local = [i for i in inputs if is_local(i) and Path(str(i)).is_file()]
    if skip or not local or not levels:
        return
    report = preflight(levels, local)
    _report_preflight(report)
    if report.errors:
        err.print(f"pre-flight: {len(report.errors)} error(s) between the inputs' metadata and "
                  f"the config: {nothing_done} (use --skip-check to run anyway)")
        raise typer.Exit(1)


@app.command()
def check(
    inputs: Annotated[list[str], typer.Argument(help="PHYSLITE input files to check.")],
    reco: RecoOpt = None,
    particle: ParticleOpt = None,
    parton: PartonOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print findings and the metadata "
                                          "read as JSON.")] = False,
) -> None:
    """Pre-flight: compare each input's metadata (format, data/MC, simulation, campaign, years,
    DSID, AMI tags) with the config before anything runs.

    Each mismatch names the input file, the metadata value and the config file:line. Exit 0
    when no errors (warnings allowed), 1 on errors, 2 usage.
    """
    from .preflight import preflight

    levels = {k: v for k, v in (("reco", reco), ("particle", particle), ("parton", parton)) if v}
    if not levels:
        raise _usage("give at least --reco FILE (and optionally --particle/--parton)")
    with _user_errors("nothing was checked"):
        report = preflight(levels, inputs)
    _report_preflight(report, as_json=as_json)
    if not as_json:
        for facts in report.facts:
            out.print(f"{facts.path}: {facts.describe()}", highlight=False)
        n_err, n_warn = len(report.errors), len(report.warnings)
        if n_err:
            err.print(f"{n_err} error(s), {n_warn} warning(s)")
        else:
            err.print(f"[green]OK[/green]: inputs fit the config ({n_warn} warning(s))")
    raise typer.Exit(1 if report.errors else 0)


def _estimate_table(est) -> Table:
    from .estimate import PER_MILLION

    data = est.to_dict()
    table = Table(title=f"topcp-sx estimate: {est.input} (ran {est.nominal.events_in:,} of "
                        f"{est.input_events:,} events" + (", EMULATED" if est.emulated else "")
                        + ")", title_justify="left")
    table.add_column("")
    table.add_column("nominal only", justify="right")
    table.add_column("with systematics", justify="right")
    runs = (est.nominal, est.systematics)
    table.add_row("output size per 1M input events",
                  *[_fmt_size(int(m.projected_size(PER_MILLION))) for m in runs])
    if est.dataset_events:
        table.add_row(f"output size for {est.dataset_events:,} events",
                      *[_fmt_size(int(m.projected_size(est.dataset_events))) for m in runs])
    table.add_row("output branches", *[", ".join(f"{t} {n}" for t, n in m.branch_counts().items())
                                       or "-" for m in runs])
    table.add_row("events written / processed",
                  *[", ".join(f"{t.name} {t.entries / max(m.events_in, 1):.3g}" for t in m.trees)
                    or "-" for m in runs])
    if est.cpu_per_event is None:
        table.add_row("CPU per event", "-", "not projectable from the emulator"
                      if est.emulated else "-")
    else:
        table.add_row("CPU per event (start-up excluded)", "-", f"{est.cpu_per_event:.3g} s")
        table.add_row("core-hours per 1M events", "-", f"{data['core_hours_per_million']:.3g}")
        if est.dataset_events:
            table.add_row(f"core-hours for {est.dataset_events:,} events "
                          f"({data['dataset_files']} files)", "-",
                          f"{data['core_hours_dataset']:.3g}")
    return table


@app.command()
def estimate(
    input_file: Annotated[Path, typer.Argument(help="One PHYSLITE input file to sample.")],
    reco: RecoOpt = None,
    particle: ParticleOpt = None,
    parton: PartonOpt = None,
    events: Annotated[int, typer.Option(
        help="Events to run (default: one emulator chunk, 20000, or the whole file).")]
    = 20_000,
    no_filter: Annotated[bool, typer.Option("--no-filter", help="Estimate a --no-filter job "
                                            "(every event written).")] = False,
    dataset_events: Annotated[int | None, typer.Option(
        help="Project the output size (and core-hours) of a dataset with this many events.")]
    = None,
    dataset_size: Annotated[str | None, typer.Option(
        help="...or of a dataset of this size (e.g. 2.5TB), converted with this file's "
        "bytes per event.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
) -> None:
    """Run N events with and without systematics; project output size per 1M events and branches.

    With the real runTop_el.py also CPU per event and core-hours for a dataset; the emulator
    cannot predict CPU. Exit 0 on success, 1 when the short run fails or configs have errors,
    2 usage.
    """
    from .estimate import EstimateError, parse_size
    from .estimate import estimate as do_estimate

    levels = {k: v for k, v in (("reco", reco), ("particle", particle), ("parton", parton)) if v}
    if not levels:
        raise _usage("give at least --reco FILE (and optionally --particle/--parton)")
    if dataset_events is not None and dataset_size is not None:
        raise _usage("give --dataset-events or --dataset-size, not both")
    with _user_errors("nothing was estimated"):
        size = parse_size(dataset_size) if dataset_size else None
        try:
            est = do_estimate(levels, input_file, events=events, no_filter=no_filter,
                              dataset_events=dataset_events, dataset_bytes=size)
        except EstimateError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from None
    if as_json:
        out.print_json(json.dumps(est.to_dict()))
        return
    out.print(_estimate_table(est))
    for note in est.notes:
        err.print(f"note: {note}", highlight=False)


def main() -> None:
    """Console-script entry point (``topcp-sx``)."""
    app(prog_name="topcp-sx")


if __name__ == "__main__":
    main()
    sys.exit(0)
