"""Service settings: where each comes from and its default, in one place.

Settings are read once when the app is created, so an operator mistake (bad JSON in
``ALLOWED_DOCKER_REGISTRIES``, a non-numeric size limit) stops gunicorn at start-up with a clear
message instead of turning every user request into an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .images import parse_allowed_registries, parse_image
from .query import MAX_IMAGE_LENGTH

#: Upstream's TopCP science image for the release our schema validates (AnalysisBase 25.2.74 +
#: TopCPToolkit v2.23.0). Our transform script needs only python and runTop_el.py, which it has.
DEFAULT_SCIENCE_IMAGE = "sslhep/servicex_science_image_topcp:25.2.74-v2.23.0"
#: Kubernetes ConfigMaps (where ServiceX puts the bundle) hold about 1 MiB; so does our body limit.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

#: Environment variables the service reads (documented in docs/codegen.md).
ENV_IMAGE = "TRANSFORMER_SCIENCE_IMAGE"
ENV_ALLOWED = "ALLOWED_DOCKER_REGISTRIES"
ENV_MAX_BODY = "TOPCP_CODEGEN_MAX_BODY_BYTES"
ENV_CONFIG_FILE = "CODEGEN_CONFIG_FILE"
#: A schema file to validate against instead of the packaged one: the release dump that
#: dump_release_schema.py writes into the science image (/topcp-schema.json), docs/schema.md.
ENV_SCHEMA_FILE = "TOPCP_SCHEMA_FILE"
#: "1"/"true": report validation warnings (what the schema cannot verify) as errors.
ENV_STRICT = "TOPCP_VALIDATION_STRICT"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    """What the view needs to answer a request."""

    default_image: str
    allowed_registries: dict[str, tuple[str, ...]]
    max_body_bytes: int
    schema_file: str | None = None
    strict_validation: bool = False


def config_from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Flask config keys taken from the environment (only those that are set)."""
    env = os.environ if env is None else env
    out: dict[str, Any] = {}
    for key in (ENV_IMAGE, ENV_ALLOWED, ENV_MAX_BODY, ENV_SCHEMA_FILE, ENV_STRICT):
        if env.get(key, "") != "":
            out[key] = env[key]
    return out


def check_default_image(image: str) -> None:
    """Refuse, at start-up, a default science image ServiceX could not run.

    The helm chart sets ``TRANSFORMER_SCIENCE_IMAGE="<defaultScienceContainerImage>:<Tag>"``
    (templates/codegen/deployment.yaml, ssl-hep/ServiceX 2024-10 and 4dc318b), so values that
    leave either out give ``":"``, ``"repo:"`` or ``":tag"``; every transformer pod would then
    fail with InvalidImageName. The app stores the image in a 128-character column
    (``requests.image``, models.py 2024-10 line 176 and @036b2e5).
    """
    if parse_image(image) is None:
        raise ValueError(
            f"{ENV_IMAGE}={image!r} is not a Docker image reference such as "
            f"{DEFAULT_SCIENCE_IMAGE!r}; with the ServiceX helm chart, set both "
            "codeGen.topcp.defaultScienceContainerImage and defaultScienceContainerTag "
            "(docs/deploy-servicex.md)"
        )
    if len(image) > MAX_IMAGE_LENGTH:
        raise ValueError(
            f"{ENV_IMAGE} is {len(image)} characters long; ServiceX stores the transformer "
            f"image in a {MAX_IMAGE_LENGTH}-character column, so use a shorter reference "
            "(a tag rather than a digest, or a shorter registry path)"
        )


def settings_from_config(config: Mapping[str, Any]) -> Settings:
    """Check and convert raw config values; raises ``ValueError`` naming the bad setting."""
    image = config.get(ENV_IMAGE) or DEFAULT_SCIENCE_IMAGE
    if not isinstance(image, str) or not image.strip():
        raise ValueError(f"{ENV_IMAGE} must be a Docker image reference, got {image!r}")
    check_default_image(image.strip())
    raw_limit = config.get(ENV_MAX_BODY, DEFAULT_MAX_BODY_BYTES)
    try:
        limit = int(raw_limit)
    except (TypeError, ValueError):
        raise ValueError(f"{ENV_MAX_BODY} must be a number of bytes, got {raw_limit!r}") from None
    if limit < 1024:
        raise ValueError(f"{ENV_MAX_BODY} must be at least 1024 bytes, got {limit}")
    schema_file, strict = _validation_settings(config)
    return Settings(
        default_image=image.strip(),
        allowed_registries=parse_allowed_registries(config.get(ENV_ALLOWED)),
        max_body_bytes=limit,
        schema_file=schema_file,
        strict_validation=strict,
    )


def _validation_settings(config: Mapping[str, Any]) -> tuple[str | None, bool]:
    """Load the schema named by ``TOPCP_SCHEMA_FILE`` (or the packaged one) and the strictness.

    An unreadable or invalid schema file stops start-up with the file and the reason, rather
    than validating every request against a schema the deployment did not ask for.
    """
    from .validation import SchemaFileError, configure

    raw = config.get(ENV_STRICT, False)
    text = str(raw).strip().lower()
    if isinstance(raw, bool):
        strict = raw
    elif text in _TRUE or text in _FALSE:
        strict = text in _TRUE
    else:
        raise ValueError(f"{ENV_STRICT} must be true or false, got {raw!r}")
    schema_file = config.get(ENV_SCHEMA_FILE) or None
    try:
        configure(schema_file=schema_file, strict=strict)
    except SchemaFileError as exc:
        raise ValueError(f"{ENV_SCHEMA_FILE}: {exc}") from None
    return (str(schema_file) if schema_file else None), strict
