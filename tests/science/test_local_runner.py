"""topcp_science.local_runner.run_transform: the in-process entry of the harness and CLI."""

from __future__ import annotations

import pytest
from topcp_science.local_runner import TransformOutcome, parse_outcome, run_transform


def test_success_outcome_and_streamed_lines(bundle, env, tmp_path, physlite_ttree):
    seen: list[str] = []
    out = tmp_path / "o.root"
    outcome = run_transform(bundle, physlite_ttree, out, env=env, on_line=seen.append)
    assert isinstance(outcome, TransformOutcome)
    assert outcome.ok and outcome.returncode == 0
    assert outcome.events == 100
    assert outcome.size == out.stat().st_size
    assert outcome.error is None
    assert outcome.seconds > 0
    assert seen == outcome.log.splitlines()
    assert any("Processing events 0-100" in ln for ln in seen)


def test_failure_outcome_carries_the_error_line(bundle, env, tmp_path, physlite_ttree):
    env["STUB_MODE"] = "config_error"
    outcome = run_transform(bundle, physlite_ttree, tmp_path / "o.root", env=env)
    assert outcome.returncode == 10
    assert not outcome.ok
    assert outcome.events is None and outcome.size is None
    # the child's own "ConfigText ERROR" line came first; the outcome names the wrapper's cause
    assert outcome.error.startswith("ERROR: runTop_el.py rejected the configuration")


def test_timeout_is_passed_to_the_script(bundle, env, tmp_path, physlite_ttree):
    env["STUB_MODE"] = "hang"
    outcome = run_transform(bundle, physlite_ttree, tmp_path / "o.root", env=env, timeout=1)
    assert outcome.returncode == 12
    assert "TOPCP_TIMEOUT_S=1" in outcome.error


def test_format_is_passed_through(bundle, env, tmp_path, physlite_ttree):
    outcome = run_transform(bundle, physlite_ttree, tmp_path / "o", fmt="parquet", env=env)
    assert outcome.returncode == 2
    assert "parquet" in outcome.error


def test_not_a_bundle(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an unpacked bundle"):
        run_transform(tmp_path, "in.root", tmp_path / "o.root")


def test_parse_outcome_without_error_line():
    outcome = parse_outcome(-9, ["something"], 1.0)
    assert outcome.error == "transform script exited with code -9 without an ERROR line"
