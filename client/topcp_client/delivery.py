"""``topcp-sx deliver``: ``servicex.deliver()`` with a TopCP query, configs validated first.

A thin layer on purpose: the spec, cache, backends and downloads are servicex 3.3.1's own; we
only build the spec from flags (or load the user's spec YAML) and refuse to submit configs the
code generator would reject anyway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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


def deliver(spec: Any, *, backend: str | None, config_path: Path | None,
            ignore_cache: bool = False) -> dict[str, Any]:
    """Submit through servicex 3.3.1 and return ``{sample name: GuardList}``."""
    import servicex

    return servicex.deliver(
        spec, servicex_name=backend, config_path=str(config_path) if config_path else None,
        ignore_local_cache=ignore_cache,
    )
