"""The committed schema is reproducible from committed fact tables, each with its provenance.

derive_schema.py reads only codegen/schema-tools/facts/; extract_facts.py makes tables from a
checkout of athena or TopCPToolkit. A third party can re-derive the schema byte for byte, and
can see, for every option, which declaration (stored copy or commit, dated) it rests on.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "codegen" / "schema-tools"
FACTS = TOOLS / "facts"
SCHEMA = ROOT / "codegen" / "topcp_codegen" / "validation" / "topcp-schema.json"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def derive() -> ModuleType:
    return _module("derive_schema")


def test_committed_schema_is_rebuilt_byte_for_byte_from_the_facts(derive) -> None:
    text = derive.render(derive.build(derive.Facts(FACTS)))
    assert text == SCHEMA.read_text(encoding="utf-8"), \
        "topcp-schema.json differs from the facts: run codegen/schema-tools/derive_schema.py"
    assert derive.main(["--check"]) == 0


def test_the_derivation_reads_the_facts_and_nothing_else(derive, tmp_path: Path) -> None:
    facts = tmp_path / "facts"
    shutil.copytree(FACTS, facts)
    table = facts / "options" / "athena_MetAnalysisConfig_2025.tsv"
    table.write_text(table.read_text() + "MetAnalysisConfig\tnewOption\tint\t3\t0\tignore\toption\n")
    out = tmp_path / "schema.json"
    assert derive.main(["--facts", str(facts), "--out", str(out)]) == 0
    schema = json.loads(out.read_text())
    Draft202012Validator.check_schema(schema)
    new = schema["$defs"]["opts_MissingET"]["properties"]["newOption"]
    assert new["x-pytype"] == "int" and new["default"] == 3
    assert new["x-seen"] == ["athena/MetAnalysisConfig@2025"]
    assert derive.main(["--facts", str(facts), "--out", str(SCHEMA), "--check"]) == 1


def test_every_fact_table_names_a_dated_source(derive) -> None:
    facts = derive.Facts(FACTS)
    assert facts.options, "no option tables"
    for key, row in facts.sources.items():
        kind, _, ref = row["locator"].partition(":")
        assert kind in ("stored-copy", "commit") and ref, key
        assert row["era"] in ("pinned", "older") and row["date"][:4].isdigit(), key
    for row in facts.registry:
        assert row["source"] in facts.sources, row
    for path, row in facts.enums.items():
        assert row["source"] in facts.sources, path
    for rule, body in facts.rules.items():
        assert body["source"] in facts.sources and body["certainty"] in (
            "certain", "mc-only", "unverified"), rule


def test_the_pinned_era_is_2025_26_not_a_union_with_2024() -> None:
    schema = json.loads(SCHEMA.read_text())
    for name, body in schema["$defs"].items():
        if not name.startswith("opts_") or body["x-evidence"]["era"] != "pinned":
            continue
        for opt, prop in body["properties"].items():
            if prop.get("x-subblock"):
                continue
            assert not any(s.startswith("athena/2024") for s in prop["x-seen"]), (name, opt)
    # an option of 2024 that the 2025 declarations dropped is a documented removal, not accepted
    removed = schema["$defs"]["opts_Jets.FlavourTagging"]["x-removed"]
    assert {"generator", "minPt", "noEffSF"} <= set(removed)
    assert "generator" not in schema["$defs"]["opts_Jets.FlavourTagging"]["properties"]


def test_extract_facts_reads_declarations_and_parameters(tmp_path: Path, capsys) -> None:
    extract = _module("extract_facts")
    src = Path(__file__).parent / "data" / "schema-src"
    assert extract.main(["options", str(src / "athena"), "--source", "athena/test"]) == 0
    out = capsys.readouterr().out
    assert "# source: athena/test" in out
    rows = {tuple(r.split("\t")[:2] + r.split("\t")[-1:]): r.split("\t")
            for r in out.splitlines() if r and not r.startswith("#") and not r.startswith("class")}
    assert rows[("ElectronCalibrationConfig", "minPt", "option")][2:4] == ["float", "4500.0"]
    assert rows[("ElectronCalibrationConfig", "containerName", "option")][5] == "error"
    assert rows[("ElectronCalibrationConfig", "files", "option")][2] == "any"
    assert ("ElectronCalibrationConfig", "ignoreDependencies", "option") in rows
    assert rows[("ElectronCalibrationConfig", "postfix", "arg")][4] == "0"
    assert rows[("makeJetAnalysisConfig", "jetCollection", "arg")][4] == "1"  # no default
    assert ("makeJetAnalysisConfig", "seq", "arg") not in rows
    assert extract.main(["docs", str(src / "topcp" / "docs" / "settings"), "--source", "t"]) == 0
    docs = capsys.readouterr().out
    assert "Electrons\tdecorateTruth\tfake.md" in docs and "hiddenOption" not in docs
    assert extract.main(["modules", str(src / "topcp" / "source" / "TopCPToolkit" / "python"),
                         "--source", "t"]) == 0
    assert "TopCPToolkit.FakeTopConfig\ttruthConfig\tclass" in capsys.readouterr().out
