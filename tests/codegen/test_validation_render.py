"""Compiler-style findings, the strict mode, and the codegen's schema-file settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from topcp_client.cli import app
from topcp_codegen import create_app
from topcp_codegen.validation import ConfigError, render_json, render_text, validate
from topcp_codegen.validation.active import default_strict
from typer.testing import CliRunner

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ttbar-ljets"
#: a config whose only findings are warnings (an FTag SF WP that fails on MC only)
MC_ONLY = (EXAMPLES / "reco.yaml").read_text().replace(
    "        btagWP: 'Continuous'", "        btagWP: 'FixedCutBEff_77'")


@pytest.fixture(autouse=True)
def packaged_schema():
    """Every test starts and ends with the packaged schema and lenient severities."""
    from topcp_codegen.validation import configure

    configure(schema_file=None, strict=False)
    yield
    configure(schema_file=None, strict=False)


def test_render_points_at_the_token_with_help_and_note() -> None:
    text = "CommonServices:\n  FilterSystematics: '.*'\n"
    (err,) = validate({"reco.yaml": text})
    out = render_text([err], {"reco.yaml": text})
    assert out.splitlines()[:5] == [
        "reco.yaml:2:3: error[unknown-option]: CommonServices.FilterSystematics: unknown option "
        "'FilterSystematics' for CommonServices",
        " 2 |   FilterSystematics: '.*'",
        "   |   ^^^^^^^^^^^^^^^^^",
        "   = help: did you mean 'filterSystematics'?",
        "   = note: " + err.note,
    ]
    assert "athena/AsgAnalysisConfig@2025" in err.note
    assert out.rstrip().endswith("1 error(s), 0 warning(s)")
    (found,) = json.loads(render_json([err]))
    assert found["rule"] == "unknown-option" and found["note"] == err.note


def test_render_without_source_or_position() -> None:
    err = ConfigError(file="", line=0, column=0, path="", message="configs checked against X",
                      severity="warning", rule="release-mismatch")
    assert render_text([err]) == ("warning[release-mismatch]: configs checked against X\n\n"
                                  "OK: no errors (1 warning(s))\n")


def test_strict_turns_warnings_into_errors() -> None:
    lenient = validate({"reco.yaml": MC_ONLY})
    assert [e.severity for e in lenient] == ["warning"]
    assert lenient[0].rule == "ftag-sf-continuous"
    strict = validate({"reco.yaml": MC_ONLY}, strict=True)
    assert [(e.severity, e.rule) for e in strict] == [("error", "ftag-sf-continuous")]


def test_client_validate_strict_flag(tmp_path: Path) -> None:
    path = tmp_path / "reco.yaml"
    path.write_text(MC_ONLY)
    runner = CliRunner()
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 0 and "warning[ftag-sf-continuous]" in res.output
    res = runner.invoke(app, ["validate", str(path), "--strict"])
    assert res.exit_code == 1 and "error[ftag-sf-continuous]" in res.output


def _post(client, reco: str):
    code = json.dumps({"reco": reco, "particle": None, "parton": None, "max_events": -1,
                       "no_systematics": True, "no_filter": False})
    return client.post("/servicex/generated-code", json={"code": code})


def test_codegen_strict_setting(app_config) -> None:
    client = create_app(app_config).test_client()
    assert _post(client, MC_ONLY).status_code == 200
    strict = create_app({**app_config, "TOPCP_VALIDATION_STRICT": "1"}).test_client()
    assert default_strict()
    resp = _post(strict, MC_ONLY)
    assert resp.status_code == 400 and resp.json["errors"][0]["rule"] == "ftag-sf-continuous"
    with pytest.raises(ValueError, match="TOPCP_VALIDATION_STRICT must be true or false"):
        create_app({**app_config, "TOPCP_VALIDATION_STRICT": "maybe"})


def test_codegen_schema_file_setting(app_config, tmp_path: Path) -> None:
    packaged = Path(__file__).resolve().parents[2] / "codegen" / "topcp_codegen" / \
        "validation" / "topcp-schema.json"
    doc = json.loads(packaged.read_text())
    doc["x-release"] = {"analysisbase": "25.2.99", "topcptoolkit": "v9.9.9"}
    custom = tmp_path / "release.json"
    custom.write_text(json.dumps(doc))
    client = create_app({**app_config, "TOPCP_SCHEMA_FILE": str(custom)}).test_client()
    assert client.get("/servicex/info").json["schema_release"]["analysisbase"] == "25.2.99"
    assert _post(client, (EXAMPLES / "reco.yaml").read_text()).status_code == 200
    for bad, reason in ((tmp_path / "absent.json", "cannot read"), (packaged.parent, "cannot read")):
        with pytest.raises(ValueError, match=f"TOPCP_SCHEMA_FILE: .*{reason}"):
            create_app({**app_config, "TOPCP_SCHEMA_FILE": str(bad)})
