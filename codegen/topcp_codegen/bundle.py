"""Turn a TopCP query into the bundle a transformer runs, and unpack such a bundle.

The bundle is a flat zip (ServiceX mounts it as a ConfigMap at ``/generated`` and flattens
folders): ``transformer_capabilities.json``, ``transform_single_file.py``, the user's YAMLs and
``run_manifest.json``, from which the transform script builds the ``runTop_el.py`` command.
The same query always gives a byte-identical zip (fixed order, timestamps and permissions), so
caches keyed on it behave and a bundle can be compared across deployments.

:func:`generate` is the one code path for the Flask view and for in-process callers
(``topcp-sx run``, the harness): a config rejected here is rejected everywhere.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from . import __version__
from .images import parse_allowed_registries, resolve_image
from .nofilter import inject_no_filter
from .query import LEVELS, QueryError, TopCPRequest, parse_query
from .validation.errors import ConfigError
from .zipwriter import build_zip

CAPABILITIES_NAME = "transformer_capabilities.json"
SCRIPT_NAME = "transform_single_file.py"
MANIFEST_NAME = "run_manifest.json"
MANIFEST_VERSION = 1
#: Uncompressed bundle size we accept. ServiceX stores the files in one ConfigMap (~1 MiB,
#: including its own metadata), so leave headroom.
MAX_BUNDLE_BYTES = 900 * 1024
#: What :func:`unpack_bundle` accepts: a bundle is a handful of small files.
MAX_UNPACK_FILES = 64
MAX_UNPACK_BYTES = 16 * 1024 * 1024
#: Entries whose bytes never change within a process: their compression is cached.
_STATIC = frozenset({CAPABILITIES_NAME, SCRIPT_NAME})

__all__ = [
    "GeneratedCode",
    "QueryError",
    "build_bundle",
    "format_config_errors",
    "generate",
    "unpack_bundle",
]


@dataclass(frozen=True)
class GeneratedCode:
    """What the code generator returns: the four reply parts plus, for local callers, details."""

    image: str
    language: str
    command: str
    zip_bytes: bytes
    manifest: dict[str, Any] = field(default_factory=dict, compare=False)
    #: Validation findings of severity "warning" (they do not stop the request).
    warnings: tuple[ConfigError, ...] = ()


@lru_cache(maxsize=1)
def capabilities_bytes() -> bytes:
    """The capabilities file shipped with this package (identical in every bundle)."""
    return resources.files("topcp_codegen").joinpath(CAPABILITIES_NAME).read_bytes()


@lru_cache(maxsize=1)
def capabilities() -> dict[str, Any]:
    return json.loads(capabilities_bytes())


@lru_cache(maxsize=1)
def transform_script_bytes() -> bytes:
    """The science runtime's entry point, from the installed ``topcp_science`` package."""
    try:
        return resources.files("topcp_science").joinpath(SCRIPT_NAME).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise RuntimeError(
            f"topcp_science/{SCRIPT_NAME} is missing from this installation ({exc}); "
            "reinstall servicex-topcp"
        ) from None


def format_config_errors(errors: Sequence[ConfigError]) -> str:
    """The user-facing text for validation findings: a summary line, then one line each."""
    errs = [e for e in errors if e.severity == "error"]
    warns = [e for e in errors if e.severity != "error"]
    noun = "error" if len(errs) == 1 else "errors"
    lines = [f"TopCP config validation failed with {len(errs)} {noun} (nothing was run):"]
    lines += [str(e) for e in errs]
    lines += [f"warning: {e}" for e in warns]
    return "\n".join(lines)


def _manifest(request: TopCPRequest, injected: list[str]) -> dict[str, Any]:
    from .validation import SCHEMA_RELEASE

    return {
        "manifest_version": MANIFEST_VERSION,
        "generator": f"servicex-topcp {__version__}",
        "schema_release": dict(SCHEMA_RELEASE),
        "levels": {lvl: (f"{lvl}.yaml" if lvl in request.configs else None) for lvl in LEVELS},
        "max_events": request.max_events,
        "no_systematics": request.no_systematics,
        "no_filter": request.no_filter,
        "no_filter_injected": injected,
        "query_hash": request.query_hash(),
    }


def build_bundle(request: TopCPRequest) -> tuple[bytes, dict[str, Any]]:
    """Zip an already validated request; returns (zip bytes, manifest)."""
    files = request.config_files()
    injected: list[str] = []
    if request.no_filter:
        for name, text in files.items():
            files[name], found = inject_no_filter(text, name)
            injected.extend(found)
    manifest = _manifest(request, injected)
    entries: list[tuple[str, bytes, int]] = [
        (CAPABILITIES_NAME, capabilities_bytes(), 0o644),
        (SCRIPT_NAME, transform_script_bytes(), 0o755),
    ]
    entries += [(name, text.encode("utf-8"), 0o644) for name, text in files.items()]
    entries.append(
        (MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"), 0o644)
    )
    total = sum(len(data) for _, data, _ in entries)
    if total > MAX_BUNDLE_BYTES:
        sizes = ", ".join(f"{n} {len(text.encode('utf-8'))} bytes" for n, text in files.items())
        raise QueryError(
            f"the bundle would be {total} bytes, more than the {MAX_BUNDLE_BYTES} bytes a "
            f"ServiceX ConfigMap can carry ({sizes}); shorten the configs"
        )
    return build_zip(entries, cached=_STATIC), manifest


def _allowed(
    allowed_registries: Mapping[str, Any] | str | None,
) -> dict[str, tuple[str, ...]]:
    """Accept the raw env JSON, its decoded form, or an already parsed registry -> prefixes map."""
    if allowed_registries is None or isinstance(allowed_registries, str):
        return parse_allowed_registries(allowed_registries)
    if all(isinstance(v, Mapping) for v in allowed_registries.values()):
        return parse_allowed_registries(allowed_registries)
    return {k: tuple(v) for k, v in allowed_registries.items()}


def generate(
    code: str | Mapping[str, Any],
    *,
    default_image: str,
    allowed_registries: Mapping[str, Any] | str | None,
) -> GeneratedCode:
    """Check the query and its configs, and build the bundle.

    ``allowed_registries`` is ``ALLOWED_DOCKER_REGISTRIES`` as raw JSON text, decoded, or
    parsed to registry -> prefixes (None: no custom images). Raises :class:`QueryError` for
    every user mistake, all found at once; its ``errors`` holds the :class:`ConfigError` list
    when the configs are at fault.
    """
    from .validation import validate

    allowed = _allowed(allowed_registries)
    request = parse_query(code)
    image_problem = None
    try:
        image = resolve_image(request.image, default_image=default_image, allowed=allowed)
    except QueryError as exc:  # reported together with any config errors
        image, image_problem = default_image, exc.message
    findings = validate(request.config_files())
    if any(e.severity == "error" for e in findings):
        message = format_config_errors(findings)
        if image_problem:
            message = f"{image_problem}\n{message}"
        raise QueryError(message, findings)
    if image_problem:
        raise QueryError(image_problem)
    zip_bytes, manifest = build_bundle(request)
    caps = capabilities()
    return GeneratedCode(
        image=image,
        language=caps["language"],
        command=caps["command"],
        zip_bytes=zip_bytes,
        manifest=manifest,
        warnings=tuple(findings),
    )


def _member_names(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_UNPACK_FILES:
        raise ValueError(f"bundle has {len(infos)} entries, more than {MAX_UNPACK_FILES}")
    if sum(i.file_size for i in infos) > MAX_UNPACK_BYTES:
        raise ValueError(f"bundle unpacks to more than {MAX_UNPACK_BYTES} bytes")
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if (
            not name
            or name in (".", "..")
            or "/" in name
            or "\\" in name
            or "\x00" in name
            or info.is_dir()
        ):
            raise ValueError(f"bundle entry {name!r} is not a flat file name")
        if name in seen:
            raise ValueError(f"bundle has two entries named {name!r}")
        seen.add(name)
    return infos


def unpack_bundle(zip_bytes: bytes, dest: Path) -> Path:
    """Unpack a bundle into the folder ``dest`` (created; it must not exist or be empty).

    All or nothing: files go to a temporary folder beside ``dest`` that is renamed into place,
    so a failure never leaves a half-unpacked bundle. Entries must be flat file names (as
    ServiceX mounts them); anything else is refused with ``ValueError``.
    """
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"{dest} exists and is not an empty folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(io.BytesIO(zip_bytes))
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a zip bundle: {exc}") from None
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        with zf:
            for info in _member_names(zf):
                mode = (info.external_attr >> 16) & 0o777 or 0o644
                target = tmp / info.filename
                try:
                    data = zf.read(info)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise ValueError(f"bundle entry {info.filename!r} is corrupt: {exc}") from None
                target.write_bytes(data)
                target.chmod(mode & 0o755 | 0o600)
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
