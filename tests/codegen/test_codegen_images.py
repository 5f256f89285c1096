"""Custom transformer images: ServiceX's ALLOWED_DOCKER_REGISTRIES format and its checks."""

from __future__ import annotations

import pytest
from topcp_codegen.images import parse_allowed_registries, parse_image, resolve_image
from topcp_codegen.query import QueryError

DEFAULT = "sslhep/servicex_science_image_topcp:25.2.74-v2.23.0"
ALLOWED = parse_allowed_registries(
    '{"docker.io": {"allowedImagePrefixes": ["sslhep/servicex_science_image_topcp:"]},'
    ' "gitlab-registry.cern.ch": {"allowedImagePrefixes": ["atlas/topcp/"]}}'
)


def resolve(image: str | None, allowed=ALLOWED) -> str:
    return resolve_image(image, default_image=DEFAULT, allowed=allowed)


def test_no_image_means_the_default() -> None:
    assert resolve(None) == DEFAULT


@pytest.mark.parametrize(
    "image",
    [
        "sslhep/servicex_science_image_topcp:25.2.66-v2.17.0",
        "docker.io/sslhep/servicex_science_image_topcp:2.17.0-25.2.45",
        "index.docker.io/sslhep/servicex_science_image_topcp:latest",
        "gitlab-registry.cern.ch/atlas/topcp/science:v2",
    ],
)
def test_images_matching_an_allowed_prefix_are_accepted(image) -> None:
    assert resolve(image) == image


@pytest.mark.parametrize(
    "image",
    [
        "sslhep/servicex_science_image_uproot:latest",
        "evil/servicex_science_image_topcp:1",
        "ghcr.io/sslhep/servicex_science_image_topcp:25.2.74-v2.23.0",
        "gitlab-registry.cern.ch/other/topcp:1",
    ],
)
def test_other_images_are_refused_with_what_is_allowed(image) -> None:
    with pytest.raises(QueryError) as info:
        resolve(image)
    msg = info.value.message
    assert "is not allowed" in msg
    assert "images on docker.io starting with 'sslhep/servicex_science_image_topcp:'" in msg
    assert "images on gitlab-registry.cern.ch starting with 'atlas/topcp/'" in msg
    assert DEFAULT in msg


def test_without_a_policy_only_the_default_image_may_be_named() -> None:
    assert resolve(DEFAULT, allowed={}) == DEFAULT
    with pytest.raises(QueryError, match="custom transformer images are not allowed"):
        resolve("sslhep/servicex_science_image_topcp:other", allowed={})


@pytest.mark.parametrize(
    "image", ["UPPER/case:1", "a b:1", "sslhep/x:tag with space", "sslhep/x:", "-x", "a//b"]
)
def test_invalid_references_are_refused(image) -> None:
    with pytest.raises(QueryError, match="not a valid Docker image reference"):
        resolve(image)


def test_library_images_match_their_canonical_form() -> None:
    allowed = parse_allowed_registries('{"docker.io": {"allowedImagePrefixes": ["library/"]}}')
    assert resolve("python:3.11", allowed) == "python:3.11"
    ref = parse_image("localhost:5000/topcp/sci:1")
    assert ref is not None and (ref.registry, ref.remainder) == ("localhost:5000", "topcp/sci:1")


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '{"docker.io": ["sslhep/"]}',
        '{"docker.io": {"allowedImagePrefixes": "sslhep/"}}',
        '{"docker.io": {"allowedImagePrefixes": [""]}}',
    ],
)
def test_a_broken_policy_is_an_operator_error(raw) -> None:
    with pytest.raises(ValueError, match="ALLOWED_DOCKER_REGISTRIES"):
        parse_allowed_registries(raw)


def test_unset_policy_allows_nothing() -> None:
    assert parse_allowed_registries(None) == {}
    assert parse_allowed_registries("  ") == {}
