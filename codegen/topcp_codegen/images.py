"""Which transformer image a query may ask for.

A custom ``image`` runs user-chosen code inside the cluster, so operators list what is allowed
in ``ALLOWED_DOCKER_REGISTRIES``, JSON in ServiceX's format::

    {"docker.io": {"allowedImagePrefixes": ["sslhep/servicex_science_image_topcp:"]}}

An image is allowed when its registry is listed and the rest of its reference (``repo[:tag]``)
starts with one of that registry's prefixes. Images without a registry host are Docker Hub
(``docker.io``), as with ``docker pull``. The default image is always allowed: asking for it
explicitly changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .query import QueryError

DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPO_RE = re.compile(
    rf"^(?P<repo>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)
_HOST_RE = re.compile(
    r"^(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]{1,5})?$"
)


@dataclass(frozen=True)
class ImageRef:
    """An image reference split the way ``docker pull`` does: registry and the rest."""

    registry: str
    remainder: str

    def candidates(self) -> tuple[str, ...]:
        """Forms of the remainder a prefix may match (``ubuntu`` is ``library/ubuntu``)."""
        if self.registry == DOCKER_HUB and "/" not in self.remainder.split("@")[0].split(":")[0]:
            return (self.remainder, "library/" + self.remainder)
        return (self.remainder,)


def parse_image(image: str) -> ImageRef | None:
    """Split a Docker image reference; ``None`` when it is not a valid reference."""
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        if not _HOST_RE.match(first):
            return None
        registry = DOCKER_HUB if first.lower() in _HUB_ALIASES else first.lower()
        remainder = rest
    else:
        registry, remainder = DOCKER_HUB, image
    if not _REPO_RE.match(remainder):
        return None
    return ImageRef(registry, remainder)


def parse_allowed_registries(raw: str | Mapping[str, object] | None) -> dict[str, tuple[str, ...]]:
    """Read ``ALLOWED_DOCKER_REGISTRIES``; an operator mistake raises ``ValueError`` at start-up.

    ``None`` or an empty string means no custom image is allowed.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, str):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"ALLOWED_DOCKER_REGISTRIES is not valid JSON: {exc}") from None
    else:
        data = raw
    example = '{"docker.io": {"allowedImagePrefixes": ["sslhep/servicex_science_image_topcp:"]}}'
    if not isinstance(data, Mapping):
        raise ValueError(f"ALLOWED_DOCKER_REGISTRIES must be a JSON object such as {example}")
    allowed: dict[str, tuple[str, ...]] = {}
    for registry, entry in data.items():
        prefixes = entry.get("allowedImagePrefixes") if isinstance(entry, Mapping) else None
        if (
            not isinstance(registry, str)
            or not registry
            or not isinstance(prefixes, list)
            or not all(isinstance(p, str) and p for p in prefixes)
        ):
            raise ValueError(
                f"ALLOWED_DOCKER_REGISTRIES[{registry!r}] must be "
                f'{{"allowedImagePrefixes": [non-empty strings]}}, as in {example}'
            )
        key = DOCKER_HUB if registry.lower() in _HUB_ALIASES else registry.lower()
        allowed[key] = allowed.get(key, ()) + tuple(prefixes)
    return allowed


def describe_allowed(allowed: Mapping[str, tuple[str, ...]]) -> str:
    """Human-readable list of what may be asked for, used in error messages and /info."""
    parts = []
    for registry, prefixes in sorted(allowed.items()):
        shown = " or ".join(f"'{p}'" for p in prefixes) if prefixes else "(no prefix)"
        parts.append(f"images on {registry} starting with {shown}")
    return "; ".join(parts)


def resolve_image(
    requested: str | None, *, default_image: str, allowed: Mapping[str, tuple[str, ...]]
) -> str:
    """The image the transformers will run, or :class:`QueryError` saying what is allowed."""
    if requested is None or requested == default_image:
        return default_image
    ref = parse_image(requested)
    if ref is None:
        raise QueryError(
            f"image: {requested!r} is not a valid Docker image reference "
            f"(expected something like {default_image!r})"
        )
    if not allowed:
        raise QueryError(
            f"image: custom transformer images are not allowed on this ServiceX deployment; "
            f"leave image unset to use the default {default_image!r}"
        )
    prefixes = allowed.get(ref.registry, ())
    if any(c.startswith(p) for c in ref.candidates() for p in prefixes):
        return requested
    raise QueryError(
        f"image: {requested!r} is not allowed on this ServiceX deployment; allowed are "
        f"{describe_allowed(allowed)} (or leave image unset to use {default_image!r})"
    )
