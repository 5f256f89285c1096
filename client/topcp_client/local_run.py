"""``topcp-sx run``: the service's bundle, built in-process, run on local files by a worker pool.

The point is fidelity: the bundle comes from ``topcp_codegen.bundle.generate`` exactly as the
code generator would serve it, and each file goes through the same ``transform_single_file.py``
(the real runTop_el.py when on PATH, the emulator otherwise). Output names: the input's base name,
plus ``.root`` unless it already ends in ``.root`` (``PHYSLITE_example.root`` ->
``OUTDIR/PHYSLITE_example.root``). The transform script writes atomically, so an output is
either complete or absent.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from .configs import UsageError

DOCKER_GENERATED = "/generated"
DOCKER_OUTPUT = "/servicex/output"
DOCKER_INPUT = "/servicex/input"


@dataclass
class FileResult:
    """The outcome for one input file (what ``run_local`` returns, one per input)."""

    input: str
    output: Path
    ok: bool
    events_in: int | None = None
    events_out: int | None = None
    regions: dict[str, int] = field(default_factory=dict)
    size: int | None = None
    seconds: float = 0.0
    error: str | None = None
    log: str = ""


def output_name(input_path: str) -> str:
    """Output file name for an input path or URL (see module docstring)."""
    name = Path(urlparse(input_path).path if "://" in input_path else input_path).name
    if not name:
        raise UsageError(f"{input_path}: cannot derive an output file name from this input")
    return name if name.endswith(".root") else f"{name}.root"


def plan_outputs(inputs: Sequence[str], outdir: Path) -> dict[str, Path]:
    """Input -> output path; refuses collisions and outputs that would overwrite an input."""
    if not inputs:
        raise UsageError("no input file given")
    plan: dict[str, Path] = {}
    taken: dict[Path, str] = {}
    for item in inputs:
        if "://" not in item:
            p = Path(item)
            if not p.is_file():
                raise UsageError(f"{item}: no such input file")
        out = outdir / output_name(item)
        if out in taken:
            raise UsageError(
                f"{taken[out]} and {item} would both write {out}; run them into separate -o folders"
            )
        if "://" not in item and out.resolve() == Path(item).resolve():
            raise UsageError(f"{item}: the output {out} would overwrite this input; pick another -o")
        taken[out] = item
        plan[item] = out
    return plan


def build_query(
    texts: Mapping[str, str], *, max_events: int = -1, systematics: bool = False,
    no_filter: bool = False, image: str | None = None,
) -> dict[str, object]:
    """The query the servicex client would send for these configs (TopCPQuery's fields)."""
    query: dict[str, object] = {
        "reco": texts.get("reco"),
        "parton": texts.get("parton"),
        "particle": texts.get("particle"),
        "max_events": max_events,
        "no_systematics": not systematics,
        "no_filter": no_filter,
    }
    if image:
        query["image"] = image
    return query


def build_bundle(query: Mapping[str, object], dest: Path, *, image: str | None = None) -> Path:
    """Generate the bundle in-process (as the service would) and unpack it into ``dest``."""
    from topcp_codegen.bundle import generate, unpack_bundle
    from topcp_codegen.config import DEFAULT_SCIENCE_IMAGE

    q = dict(query)
    q.pop("image", None)  # the local image is the user's choice; no registry policy applies
    generated = generate(q, default_image=image or DEFAULT_SCIENCE_IMAGE, allowed_registries=None)
    return unpack_bundle(generated.zip_bytes, dest)


def docker_spec(
    image: str, bundle_dir: Path, input_path: str, output: Path, *, fmt: str = "root-file",
    user: str | None = None,
) -> dict[str, object]:
    """Keyword arguments of the Docker SDK's ``containers.run`` for one file (no shell).

    Mounted like a transformer pod: the bundle read-only at /generated, the output folder at
    /servicex/output, a local input read-only at /servicex/input/<name> (URLs are passed as
    they are). ``user`` (default: the caller's uid:gid) owns what the container writes, so the
    outputs belong to whoever ran ``topcp-sx run``; the science images run as any uid.
    """
    volumes: dict[str, dict[str, str]] = {
        str(Path(bundle_dir).resolve()): {"bind": DOCKER_GENERATED, "mode": "ro"},
        str(output.parent.resolve()): {"bind": DOCKER_OUTPUT, "mode": "rw"},
    }
    if "://" in input_path:
        container_input = input_path
    else:
        src = Path(input_path).resolve()
        container_input = f"{DOCKER_INPUT}/{src.name}"
        volumes[str(src)] = {"bind": container_input, "mode": "ro"}
    return {
        "image": image,
        "command": ["python3", f"{DOCKER_GENERATED}/transform_single_file.py",
                    container_input, f"{DOCKER_OUTPUT}/{output.name}", fmt],
        "network_mode": "host",
        "volumes": volumes,
        "user": user if user is not None else f"{os.getuid()}:{os.getgid()}",
        "detach": True,
    }


def docker_client():
    """A Docker SDK client for the engine ``DOCKER_HOST`` names, or a UsageError saying why not."""
    import docker.errors

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        raise UsageError(
            f"--runner docker: the Docker engine is not reachable ({str(exc)[:200]}); "
            "start it (or set DOCKER_HOST) or use --runner process"
        ) from None
    return client


def run_in_container(client, spec: Mapping[str, object],
                     on_line: Callable[[str], None] | None = None) -> tuple[int, list[str]]:
    """Run one container to its end: (exit code, output lines), the container removed after.

    Like ``docker run --rm`` but with the SDK: create + start, follow the merged stdout/stderr
    line by line, wait for the exit code, remove the container by its ID whatever happened.
    """
    container = client.containers.run(**spec)
    lines: list[str] = []
    try:
        pending = b""
        for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=True):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                lines.append(raw.decode("utf-8", "replace").rstrip("\r"))
                if on_line:
                    on_line(lines[-1])
        if pending:
            lines.append(pending.decode("utf-8", "replace").rstrip("\r"))
            if on_line:
                on_line(lines[-1])
        code = int(container.wait()["StatusCode"])
    finally:
        container.remove(force=True, v=True)
    return code, lines


def summarize_output(path: Path) -> tuple[int | None, dict[str, int]]:
    """(entries of the first tree, passing events per ``pass_<region>_NOSYS``) of an output."""
    import awkward as ak

    from . import ntuple

    f = ntuple.open_root(path)
    with f:
        infos = ntuple.trees(f)
        if not infos:
            return 0, {}
        main = next((t for t in infos if t.name == "reco"), infos[0])
        flags = [b for b in main.branches if b.startswith("pass_") and b.endswith("_NOSYS")]
        regions: dict[str, int] = {}
        if flags:
            arrays = f[main.name].arrays(flags, library="ak")
            for b in flags:
                regions[b[5:-6]] = int(ak.sum(ak.values_astype(arrays[b], bool)))
        return main.entries, regions


def _run_one(
    item: str, out: Path, bundle_dir: Path, *, runner: str, image: str | None,
    on_line: Callable[[str], None] | None, client: object = None,
) -> FileResult:
    from topcp_science.local_runner import parse_outcome, run_transform

    if runner == "docker":
        t0 = time.monotonic()
        try:
            code, lines = run_in_container(client or docker_client(),
                                           docker_spec(image or "", bundle_dir, item, out), on_line)
        except Exception as exc:  # docker.errors.*: image missing, engine gone mid-run...
            code, lines = 125, [f"ERROR: docker: {type(exc).__name__}: {exc}"]
        outcome = parse_outcome(code, lines, time.monotonic() - t0)
    else:
        outcome = run_transform(bundle_dir, item, out, on_line=on_line)
    result = FileResult(item, out, outcome.ok and out.is_file(), events_in=outcome.events,
                        seconds=outcome.seconds, error=outcome.error, log=outcome.log)
    if result.ok:
        result.size = out.stat().st_size
        try:
            result.events_out, result.regions = summarize_output(out)
        except Exception as exc:  # a broken output is a failure, not a crash of the whole run
            result.ok, result.error = False, f"output unreadable: {exc}"
    elif result.error is None:
        result.error = (f"transform exited with code {outcome.returncode}"
                        if outcome.returncode else "no output file was written")
    return result


def run_local(
    configs: Mapping[str, Path],
    inputs: Sequence[str | Path],
    outdir: Path | str,
    *,
    systematics: bool = False,
    max_events: int = -1,
    no_filter: bool = False,
    workers: int = 1,
    runner: str = "process",
    image: str | None = None,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Validate the configs, build the bundle, transform every input; one result per input.

    Config errors raise ``ConfigValidationError`` before anything runs. A failing file does not
    stop the others; check ``FileResult.ok``.
    """
    from .api import ConfigValidationError
    from .configs import only_errors, read_configs, validate_texts

    if runner not in ("process", "docker"):
        raise UsageError(f"--runner must be 'process' or 'docker', not '{runner}'")
    if runner == "docker" and not image:
        raise UsageError("--runner docker needs --image (the science image to run)")
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if max_events < -1 or max_events == 0:
        raise UsageError(f"--max-events must be -1 (all) or positive, got {max_events}")
    outdir = Path(outdir)
    items = [str(i) for i in inputs]
    plan = plan_outputs(items, outdir)
    texts = read_configs(configs)
    problems = validate_texts(texts, display_names={k: str(v) for k, v in configs.items()})
    if only_errors(problems):
        raise ConfigValidationError(problems)
    client = docker_client() if runner == "docker" else None  # a usage error now, not per file
    query = build_query(texts, max_events=max_events, systematics=systematics,
                        no_filter=no_filter)
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="topcp-sx-bundle-") as tmp:
        bundle_dir = build_bundle(query, Path(tmp) / "generated", image=image)
        results: dict[str, FileResult] = {}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {}
            for item, out in plan.items():
                if on_start:
                    on_start(item)
                futures[pool.submit(_run_one, item, out, bundle_dir, runner=runner,
                                    image=image, on_line=None, client=client)] = item
            for fut in as_completed(futures):
                item = futures[fut]
                try:
                    res = fut.result()
                except Exception as exc:
                    res = FileResult(item, plan[item], False, error=f"{type(exc).__name__}: {exc}")
                results[item] = res
                if on_done:
                    on_done(res)
    return [results[i] for i in items]
