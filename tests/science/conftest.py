"""Fixtures for the science-runtime tests (helpers live in sciencekit.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sciencekit import base_env, make_bundle


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "bundle")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return base_env(tmp_path)


@pytest.fixture
def record(tmp_path: Path):
    def read() -> dict:
        return json.loads((tmp_path / "record.json").read_text())

    return read
