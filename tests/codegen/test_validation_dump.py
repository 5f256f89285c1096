"""dump_release_schema.py against the stand-in AnalysisBase (docker/standin-analysisbase).

The stand-in implements the documented config-block API (ConfigBlock, ConfigSequence,
ConfigFactory, TextConfig) with a few invented blocks; putting its python folders on
PYTHONPATH is what sourcing the stand-in's setup scripts does in its image, so the dumper
runs here exactly as in the image (the docker end-to-end runs it there).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from topcp_codegen.validation import Schema, SchemaFileError, validate

ROOT = Path(__file__).resolve().parents[2]
DUMPER = ROOT / "codegen" / "schema-tools" / "dump_release_schema.py"
STANDIN = ROOT / "docker" / "standin-analysisbase"


def _run(out: Path, *, standin: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if standin:
        env["PYTHONPATH"] = f"{STANDIN / 'python'}{os.pathsep}{STANDIN / 'topcp-python'}"
        env["AnalysisBase_VERSION"] = "25.2.74"
    return subprocess.run([sys.executable, str(DUMPER), "--out", str(out),
                           "--topcptoolkit", "v2.23.0"], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def dumped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dump") / "topcp-schema.json"
    proc = _run(out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_dump_walks_blocks_sub_blocks_and_group_options(dumped: Path) -> None:
    doc = json.loads(dumped.read_text())
    assert doc["x-derivation"]["kind"] == "release-dump"
    assert doc["x-release"] == {"analysisbase": "25.2.74", "topcptoolkit": "v2.23.0"}
    defs = doc["$defs"]
    assert {"opts_Jets", "opts_Jets.JVT", "opts_Jets.PtEtaSelection", "opts_PtEtaSelection",
            "opts_Electrons.WorkingPoint", "opts_EventSelection"} <= set(defs)
    jets = defs["opts_Jets"]["properties"]
    # both radius variants of the grouped factory are reached (small-R and large-R blocks)
    assert {"runNNJvtUpdate", "standinLargeROnly", "minPt", "jetCollection"} <= set(jets)
    assert jets["minPt"]["x-pytype"] == "float" and jets["containerName"]["x-none"] == "error"
    assert defs["opts_Jets"]["x-evidence"]["args_required"]["release"] == [
        "containerName", "jetCollection"]
    # a factory function: its parameters and the last block's (the merger's) options
    assert {"selectionCutsDict", "selections", "noFilter"} <= set(
        defs["opts_EventSelection"]["properties"])
    assert "ignoreDependencies" in defs["opts_Jets.JVT"]["properties"]  # addDependency
    modules = doc["x-topcp-modules"]
    assert modules["complete"] and "StandinTopConfig" in modules["modules"][
        "TopCPToolkit.StandinTopConfig"]
    assert "standinThreshold" in defs["topcp_StandinTopConfig"]["properties"]
    # carried over from the packaged schema: rules and enums of options the release declares
    assert "jes-model" in doc["x-rules"]
    assert "enum" in defs["opts_Jets"]["properties"]["systematicsModelJER"]


def test_dump_is_deterministic(dumped: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.json"
    assert _run(again).returncode == 0
    assert again.read_bytes() == dumped.read_bytes()


def test_validation_against_the_dump_is_exact(dumped: Path) -> None:
    schema = Schema.from_file(dumped)
    ok = ("CommonServices:\n  standinDecoration: 'x'\nJets:\n  - containerName: 'J'\n"
          "    jetCollection: 'AntiKt4EMPFlowJets'\n    runNNJvtUpdate: True\n"
          "    PtEtaSelection: {minPt: 25000}\nOutput: {treeName: 'reco'}\n")
    assert validate({"reco.yaml": ok}, schema=schema) == []
    # the packaged schema does not know the stand-in's invented option
    assert any(e.rule == "unknown-option" for e in validate({"reco.yaml": ok}))
    # and the dump does not know options the 2025 athena declares: certain errors there
    bad = ok.replace("runNNJvtUpdate: True", "runJvtUpdate: True")
    (err,) = [e for e in validate({"reco.yaml": bad}, schema=schema) if e.severity == "error"]
    assert err.rule == "unknown-option" and "release itself" in err.note
    # TopCPToolkit modules are checked against the complete list: unknown is certain
    acb = ok + ("AddConfigBlocks:\n  - modulePath: 'TopCPToolkit.TopSpaNetConfig'\n"
                "    functionName: 'TopSpaNetConfig'\n    algName: 'SpaNet'\n    pos: 'Output'\n")
    (err,) = [e for e in validate({"reco.yaml": acb}, schema=schema) if e.severity == "error"]
    assert err.rule == "acb-module" and "release dump" in err.note


def test_dumper_outside_a_release_says_so(tmp_path: Path) -> None:
    proc = _run(tmp_path / "x.json", standin=False)
    assert proc.returncode == 2 and "source /release_setup.sh" in proc.stderr
    assert not (tmp_path / "x.json").exists()


def test_schema_files_that_cannot_be_used_are_refused_with_the_reason(tmp_path: Path) -> None:
    for text, reason in (("{", "not JSON"), ("[]", "JSON object"), ('{"a": 1}', "missing")):
        path = tmp_path / "s.json"
        path.write_text(text)
        with pytest.raises(SchemaFileError, match=reason):
            Schema.from_file(path)
    with pytest.raises(SchemaFileError, match="cannot read"):
        Schema.from_file(tmp_path / "absent.json")
