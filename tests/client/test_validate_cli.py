"""`topcp-sx validate`: compiler-style messages and exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import re
import subprocess

from conftest import TOPCP_SX
from topcp_client.cli import app
from typer.testing import CliRunner

runner = CliRunner()
LOCATION = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): ", re.M)


def _broken_reco(tmp_path, ttbar_configs):
    text = ttbar_configs["reco"].read_text().replace("\nJets:", "\nJetz:", 1)
    path = tmp_path / "reco.yaml"
    path.write_text(text)
    return path, text.splitlines().index("Jetz:") + 1


def test_clean_example_configs_exit_zero(ttbar_configs):
    res = runner.invoke(app, ["validate", *map(str, ttbar_configs.values())])
    assert res.exit_code == 0, res.output
    assert "no errors" in res.output


def test_error_points_at_file_line_and_column(tmp_path, ttbar_configs):
    path, line = _broken_reco(tmp_path, ttbar_configs)
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 1
    first = LOCATION.search(res.output)
    assert first and first["file"] == str(path)
    assert f"{path}:{line}:1: error[unknown-block]: Jetz: unknown block 'Jetz'" in res.output
    assert "= help: did you mean 'Jets'?" in res.output
    assert f"{line:>2} | Jetz:" in res.output  # the source line, then a caret under the name
    assert "   | ^^^^" in res.output


def test_explicit_level_option_keeps_the_users_file_name(tmp_path, ttbar_configs):
    path, _ = _broken_reco(tmp_path, ttbar_configs)
    mine = path.rename(tmp_path / "my_selection.yaml")
    res = runner.invoke(app, ["validate", "--reco", str(mine)])
    assert res.exit_code == 1
    assert f"{mine}:" in res.output and "reco.yaml:" not in res.output.replace(str(mine), "")


def test_json_output_lists_every_finding(tmp_path, ttbar_configs):
    path, line = _broken_reco(tmp_path, ttbar_configs)
    res = runner.invoke(app, ["validate", str(path), "--json"])
    assert res.exit_code == 1
    start = res.stdout.index("[")
    findings = json.loads(res.stdout[start:])
    assert {"file", "line", "column", "path", "message", "severity", "suggestion", "rule",
            "note"} <= set(findings[0])
    assert any(f["line"] == line and f["path"] == "Jetz" for f in findings)


def test_usage_errors_exit_two(tmp_path):
    # (a file whose name says no level is validated as guessed: test_validate_levels.py)
    res = runner.invoke(app, ["validate", str(tmp_path / "reco.yaml")])
    assert res.exit_code == 2 and "no such file" in res.output
    assert runner.invoke(app, ["validate"]).exit_code == 2


def test_real_subprocess_exit_codes(tmp_path, ttbar_configs):
    path, line = _broken_reco(tmp_path, ttbar_configs)
    bad = subprocess.run([str(TOPCP_SX), "validate", str(path)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert f"{path}:{line}:1:" in bad.stderr
    good = subprocess.run([str(TOPCP_SX), "validate", str(ttbar_configs["reco"])],
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
