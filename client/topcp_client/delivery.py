"""``topcp-sx deliver``: ``servicex.deliver()`` with a TopCP query, configs validated first.

A thin layer on purpose: the spec, cache, backends and downloads are servicex 3.3.1's own; we
only build the spec from flags (or load the user's spec YAML), refuse to submit configs the
code generator would reject anyway, and make failed files impossible to miss.

Why the last part: servicex 3.3.1 raises "Transform ... completed with failures" inside an
asyncio done-callback (``query_core.py`` ``transform_complete``), where asyncio only logs it,
so ``deliver()`` returns the good files (or none) even with ``fail_if_incomplete=True``. The
client does log ``Transform Request id: <id>`` for exactly those requests; ``deliver`` below
collects those ids while ``servicex.deliver()`` runs, then asks the server which files
failed (``GET /servicex/transformation/<id>/results``: entries with
``transform_status == "failure"``; the harness adds their error line as ``info``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import ConfigValidationError, check_query
from .configs import UsageError, only_errors

_DID = re.compile(r"^(rucio://)?[A-Za-z0-9_.\-]+:[A-Za-z0-9_.\-]+$")


def make_dataset(items: Sequence[str]) -> Any:
    """One ``scope:name`` (or ``rucio://scope:name``) -> Rucio; anything else -> FileList.

    Local paths are made absolute, as the transformer does not share the user's working folder.
    """
    from servicex import dataset

    if not items:
        raise UsageError("no dataset given; pass --dataset FILE_OR_DID (repeatable)")
    if len(items) == 1 and _DID.match(items[0]) and not Path(items[0]).exists():
        return dataset.Rucio(items[0].removeprefix("rucio://"))
    files = []
    for item in items:
        if "://" in item:
            files.append(item)
        else:
            p = Path(item)
            if not p.is_file():
                raise UsageError(f"{item}: no such input file (and not a rucio scope:name DID)")
            files.append(str(p.resolve()))
    return dataset.FileList(files)


def spec_from_flags(
    *, name: str, datasets: Sequence[str], reco: Path | None, particle: Path | None,
    parton: Path | None, max_events: int, systematics: bool, no_filter: bool,
    image: str | None,
) -> Any:
    """A one-sample ServiceXSpec with a ``servicex.query.TopCP`` query."""
    from servicex import General, Sample, ServiceXSpec
    from servicex.query import TopCP

    if reco is None and particle is None and parton is None:
        raise UsageError("give a spec file or at least --reco (or --particle/--parton)")
    query = TopCP(
        reco=str(reco) if reco else None,
        particle=str(particle) if particle else None,
        parton=str(parton) if parton else None,
        max_events=max_events, no_systematics=not systematics, no_filter=no_filter, image=image,
    )
    return ServiceXSpec(
        General=General(),
        Sample=[Sample(Name=name, Dataset=make_dataset(datasets), Query=query)],
    )


def load_spec(path: Path) -> Any:
    """Load a servicex spec YAML (``!TopCP`` tags and all) the way ``deliver()`` would."""
    from servicex.servicex_client import _load_ServiceXSpec

    if not path.is_file():
        raise UsageError(f"{path}: no such spec file")
    try:
        return _load_ServiceXSpec(path)
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: a file it names is missing: {exc.filename or exc}") from None
    except Exception as exc:
        raise UsageError(f"{path}: not a valid ServiceX spec: {exc}") from None


def check_spec(spec: Any) -> list:
    """Validate every TopCP sample's configs; raise ConfigValidationError on errors."""
    from servicex.topcp.topcp import TopCPQuery

    problems = []
    for sample in spec.Sample:
        if isinstance(sample.Query, TopCPQuery):
            problems += check_query(sample.Query)
    if only_errors(problems):
        raise ConfigValidationError(problems)
    return problems


@dataclass(frozen=True)
class FailedFile:
    path: str
    reason: str


@dataclass
class SampleResult:
    """One sample of a delivery: its files, and what went wrong, if anything."""

    name: str
    files: list[str] = field(default_factory=list)
    error: str | None = None  # the whole sample failed (canceled, refused, unreachable...)
    request_id: str | None = None
    failed: list[FailedFile] = field(default_factory=list)
    failed_count: int = 0  # as the server counts them (>= len(failed))
    total: int | None = None
    failed_files_url: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.failed_count == 0


_REQUEST_ID = re.compile(r"^Transform Request id: (\S+)")
NO_REASON = "the server gives no reason; see `servicex transforms logs {id}`"


class _FailedRequestIds(logging.Handler):
    """Collects the ids servicex 3.3.1 logs after a transform that completed with failures."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.ids: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        m = _REQUEST_ID.match(record.getMessage())
        if m and m.group(1) not in self.ids:
            self.ids.append(m.group(1))


async def _failures_of(adapter: Any, request_id: str) -> tuple[Any, list[FailedFile]]:
    """The request's status and its failed files, from the server the client used."""
    import httpx

    status = await adapter.get_transform_status(request_id)
    headers = await adapter._get_authorization()  # the client's own auth (token refresh)
    failed: list[FailedFile] = []
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=120)) as client:
            r = await client.get(f"{adapter.url}/servicex/transformation/{request_id}/results",
                                 params={"status": "failure"}, headers=headers)
        entries = r.json().get("results", []) if r.status_code == 200 else []
    except (httpx.HTTPError, ValueError, AttributeError):
        entries = []
    for e in entries:
        if isinstance(e, dict) and e.get("transform_status") == "failure":
            failed.append(FailedFile(str(e.get("file-path", "?")),
                                     str(e.get("info") or NO_REASON.format(id=request_id))))
    return status, failed


def _guardlist_error(files: Any) -> str | None:
    if not hasattr(files, "valid") or files.valid():
        return None
    exc = getattr(getattr(files, "_data", None), "_exc", None) or getattr(files, "_data", None)
    return f"{type(exc).__name__}: {exc}"


def deliver(spec: Any, *, backend: str | None, config_path: Path | None,
            ignore_cache: bool = False) -> list[SampleResult]:
    """Submit through servicex 3.3.1; one ``SampleResult`` per sample, failures included."""
    import servicex
    from servicex.servicex_client import ServiceXClient

    cfg = str(config_path) if config_path else None
    watcher = _FailedRequestIds()
    query_log = logging.getLogger("servicex.query_core")
    query_log.addHandler(watcher)
    try:
        results = servicex.deliver(spec, servicex_name=backend, config_path=cfg,
                                   ignore_local_cache=ignore_cache)
    finally:
        query_log.removeHandler(watcher)
    samples = {name: SampleResult(name=name, error=_guardlist_error(files),
                                  files=[] if _guardlist_error(files) else [str(f) for f in files])
               for name, files in results.items()}
    if watcher.ids:
        adapter = ServiceXClient(backend=backend, config_path=cfg).servicex

        async def collect() -> list:
            return await asyncio.gather(*(_failures_of(adapter, rid) for rid in watcher.ids),
                                        return_exceptions=True)

        for rid, got in zip(watcher.ids, asyncio.run(collect()), strict=True):
            if isinstance(got, BaseException):
                continue
            status, failed = got
            title = status.title or ""
            match = samples.get(title) or next(
                (s for n, s in samples.items() if title and n.startswith(title)), None)
            if match is None:
                continue
            match.request_id, match.failed = rid, failed
            match.failed_count = max(status.files_failed or 0, len(failed))
            match.total = status.files
            match.failed_files_url = (f"{adapter.url}/transformation-request/{rid}/results"
                                      "?status=failure")
    return list(samples.values())
