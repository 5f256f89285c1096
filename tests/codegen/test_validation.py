"""Specifications for topcp_codegen.validation (issue 2, item 3; issue 11 severities)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from topcp_codegen.validation import (
    SCHEMA_RELEASE,
    ConfigError,
    CutSyntaxError,
    load_yaml,
    parse_cuts,
    validate,
)
from topcp_codegen.validation.schema import load_schema

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ttbar-ljets"


def _reco() -> str:
    return (EXAMPLES / "reco.yaml").read_text()


def _errors(errs: list[ConfigError]) -> list[ConfigError]:
    return [e for e in errs if e.severity == "error"]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_public_api_and_release() -> None:
    assert SCHEMA_RELEASE == {"analysisbase": "25.2.74", "topcptoolkit": "v2.23.0"}
    assert load_schema()["x-release"] == SCHEMA_RELEASE


def test_import_without_flask() -> None:
    import subprocess

    code = ("import sys; sys.modules['flask'] = None; import topcp_codegen.validation as v; "
            "print(v.validate({'reco.yaml': 'CommonServices: {}'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_schema_is_valid_draft_2020_12_with_provenance() -> None:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")
    for name in ("Jets", "Electrons", "EventSelection", "Output", "LeptonSF"):
        block = schema["$defs"][f"opts_{name}"]
        assert block["x-evidence"]["era"] == "pinned", name
        assert block["x-evidence"]["option_sources"], name
    minpt = schema["$defs"]["opts_Jets.PtEtaSelection"]["properties"]["minPt"]
    assert minpt["x-pytype"] == "float" and minpt["x-seen"] == ["athena/AsgAnalysisConfig@2025"]
    assert "TightLH" in schema["$defs"]["opts_Electrons.WorkingPoint"]["properties"][
        "identificationWP"]["x-enum"]["values"]


def test_schema_has_the_shape_the_block_walker_relies_on() -> None:
    # validator.py checks each instance against its own opts_* validator instead of evaluating
    # the document's blk_* if/then/else: a regenerated schema must keep exactly that shape.
    schema = load_schema()
    defs = schema["$defs"]
    refs = []

    def collect(node, where):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append((where, node["$ref"].rsplit("/", 1)[-1]))
            for value in node.values():
                collect(value, where)
        elif isinstance(node, list):
            for value in node:
                collect(value, where)

    collect(schema["properties"], "")
    for name, body in defs.items():
        collect(body, name)
    for where, target in refs:
        if where.startswith("blk_"):  # a block: one opts_* def for a mapping or list items
            assert target == "opts_" + where[4:], (where, target)
            assert defs[where]["then"] == defs[where]["else"]["items"] == {"$ref": f"#/$defs/{target}"}
            assert defs[where]["x-block"] == defs[target]["x-block"]
        else:  # a top-level block or a sub-block option: always a blk_* def
            assert target.startswith("blk_") and target in defs, (where, target)


@pytest.mark.parametrize(
    "edit",
    [
        ("", ""),
        ("minPt: 25000.0", "minPt: 25000"),
        ("PileupReweighting: {}", "PileupReweighting: 3\nBPhyVerte: {}"),
        ("isolationWP: 'Tight_VarRad'", "isolationWP: 'Tight_VarRadd'\n        foo: 1"),
        ("      minPt: 25000.0", "      JVT: [1, {bar: 2}]\n      minPt: 25000.0"),
        ("Jets:", "Jets:\n  - PtEtaSelection:\n    FlavourTagging: 4\nTauJets: [7]\nOld:"),
    ],
)
def test_block_walker_finds_what_the_whole_document_schema_finds(edit) -> None:
    from topcp_codegen.validation.schema import TopCPValidator
    from topcp_codegen.validation.validator import _schema_errors

    data, errs = load_yaml(_reco().replace(*edit, 1), "reco.yaml")
    assert errs == [] and isinstance(data, dict)
    whole = TopCPValidator(load_schema()).iter_errors(data)
    walked = _schema_errors(data, {})
    key = lambda e: (tuple(e.absolute_path), e.validator, repr(e.instance))  # noqa: E731
    assert sorted(map(key, walked)) == sorted(map(key, whole))


def test_examples_validate_clean(ttbar_configs) -> None:
    texts = {f"{level}.yaml": path.read_text() for level, path in ttbar_configs.items()}
    assert validate(texts) == []


def test_the_four_classic_mistakes_in_one_call() -> None:
    text = _reco()
    text = text.replace("  systematicsHistogram: 'listOfSystematics'",
                        "  systematicsHistogram: 'listOfSystematics'\n  FilterSystematics: '.*'")
    text = text.replace("      minPt: 25000.0\n      maxEta: 2.5\n    FlavourTagging",
                        "      minPt: '25000'\n      maxEta: 2.5\n    FlavourTagging")
    text = text.replace("PileupReweighting: {}", "PileupReweighting: {}\n\nBPhyVerte: {}")
    text = text.replace("    electrons: 'AnaElectrons.tight'\n    muons: 'AnaMuons.tight'\n\nOverlapRemoval",
                        "    electrons: 'AnaElectrons.tigth'\n    muons: 'AnaMuons.tight'\n\nOverlapRemoval")
    errs = _errors(validate({"reco.yaml": text}))
    by_path = {e.path: e for e in errs}
    assert len(errs) == 4, [str(e) for e in errs]

    e = by_path["CommonServices.FilterSystematics"]
    assert (e.line, e.column) == (_line_of(text, "FilterSystematics"), 3)
    assert e.suggestion == "did you mean 'filterSystematics'?" and e.rule == "unknown-option"

    e = by_path["Jets[0].PtEtaSelection.minPt"]
    assert text.splitlines()[e.line - 1].strip() == "minPt: '25000'"
    assert e.column == 14 and e.rule == "type-mismatch"
    assert e.message == "expected float, got str '25000' (write 25000.0 without quotes)"
    assert str(e) == (f"reco.yaml:{e.line}:14: Jets[0].PtEtaSelection.minPt: expected float, "
                      "got str '25000' (write 25000.0 without quotes)")
    assert "setOptionValue" in e.note

    e = by_path["BPhyVerte"]
    assert "unknown block 'BPhyVerte'" in e.message and "Unkown block" in e.message
    assert (e.line, e.column) == (_line_of(text, "BPhyVerte"), 1)

    e = by_path["MissingET[0].electrons"]
    assert "'AnaElectrons' has no selection 'tigth'" in e.message
    assert e.suggestion == "did you mean 'AnaElectrons.tight'?"
    assert e.line == _line_of(text, "AnaElectrons.tigth")


def test_an_int_for_a_float_option_is_accepted_silently() -> None:
    # athena ConfigBlock.setOptionValue (2025): "convert int to float to prevent crash"
    text = _reco().replace("minPt: 25000.0", "minPt: 25000")
    assert validate({"reco.yaml": text}) == []


def test_renamed_option_gets_the_new_name() -> None:
    text = _reco().replace("identificationWP: 'TightLH'\n        isolationWP: 'NonIso'",
                           "likelihoodWP: 'TightLH'\n        isolationWP: 'NonIso'")
    errs = _errors(validate({"reco.yaml": text}))
    assert [e.path for e in errs] == ["Electrons[0].WorkingPoint[0].likelihoodWP"]
    assert errs[0].suggestion == "write 'identificationWP' instead"
    assert errs[0].rule == "removed-option" and "renamed" not in errs[0].message


def test_enum_value_with_suggestion() -> None:
    text = _reco().replace("isolationWP: 'Tight_VarRad'", "isolationWP: 'Tight_VarRadd'")
    (err,) = _errors(validate({"reco.yaml": text}))
    assert err.path == "Electrons[0].WorkingPoint[1].isolationWP"
    assert err.suggestion == "did you mean 'Tight_VarRad'?"


def test_block_shapes() -> None:
    ok = "CommonServices: {}\nPileupReweighting: {}\nMuons:\n  - containerName: 'A'\n  - containerName: 'B'\n"
    assert _errors(validate({"reco.yaml": ok})) == []
    bad = "CommonServices:\nPileupReweighting: 3\nMuons:\n"
    found = validate({"reco.yaml": bad})
    assert [(e.path, e.line, e.severity) for e in found] == [
        # no sub-blocks: ConfigText's merge() never adds the block, it silently does not run
        ("CommonServices", 1, "warning"),
        # addBlock(path, **3): TypeError
        ("PileupReweighting", 2, "error"),
        # merge() tests 'blockName in None' for each Muons sub-block: TypeError
        ("Muons", 3, "error")]
    assert "skips it silently" in found[0].message and "{}" in (found[0].suggestion or "")
    assert "mapping of options or a list of mappings" in found[1].message
    assert "fails on it" in found[2].message


def test_common_options_accepted_everywhere() -> None:
    text = ("Bootstraps:\n  nReplicas: 2000\n  skipOnMC: False\n  skipOnData: True\n"
            "  onlyForDSIDs: ['410470', '601.*']\n  groupName: 'x'\n")
    assert _errors(validate({"reco.yaml": text})) == []


def test_duplicate_keys_are_warnings() -> None:
    # yaml.safe_load (athena ConfigText.readYaml) keeps the last value without complaint, so
    # the config runs: a warning that names the ignored line, never a refusal
    text = "CommonServices:\n  runSystematics: True\n  runSystematics: False\n"
    assert _errors(validate({"reco.yaml": text})) == []
    (err,) = validate({"reco.yaml": text})
    assert err.severity == "warning" and err.rule == "duplicate-key"
    assert (err.line, err.column) == (3, 3)
    assert "duplicate key 'runSystematics'" in err.message and "keeps only the last" in err.message


def test_yaml_syntax_error_has_line_and_column() -> None:
    data, errs = load_yaml("CommonServices:\n  a: [1, 2\nOutput: {}\n", "reco.yaml")
    assert data is None
    (err,) = errs
    assert err.file == "reco.yaml" and err.line == 3 and err.column >= 1
    assert "YAML syntax error" in err.message


def test_safe_loading_only() -> None:
    data, errs = load_yaml("a: !!python/object/apply:os.system ['true']\n", "reco.yaml")
    assert data is None and errs and "YAML" in errs[0].message


def test_alias_bomb_rejected_fast() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    # 10**10 values if expanded: refused from the node graph, before anything is built
    data, errs = load_yaml("\n".join(lines) + "\n", "reco.yaml")
    assert data is None and "alias" in errs[0].message
    assert (errs[0].line, errs[0].column) >= (1, 1)


def test_absurd_nesting_rejected() -> None:
    for text in ("[" * 200_000, "a:\n" + "".join(" " * (2 * i) + f"k{i}:\n" for i in range(1, 300))):
        data, errs = load_yaml(text, "reco.yaml")
        assert data is None and errs and "deeper" in errs[0].message


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("CommonServices:\n  runSystematics: " + "7" * 5000 + "\n", "777"),  # > 4300 digits
        ("CommonServices:\n  filterSystematics: 2024-13-45\n", "2024-13-45"),  # no such date
        ("CommonServices:\n  2024-02-30: 1\n", "2024-02-30"),  # the same, as a key
    ],
)
def test_values_python_cannot_hold_are_yaml_errors(text: str, shown: str) -> None:
    # PyYAML raises a bare ValueError for these; they must be positioned errors, not crashes.
    data, errs = load_yaml(text, "reco.yaml")
    assert data is None
    (err,) = errs
    assert (err.line, err.column) == (2, text.splitlines()[1].index(shown[0]) + 1)
    assert err.message.startswith("YAML error: cannot read the value")


@pytest.mark.parametrize(
    ("text", "line"), [("", 1), ("# nothing yet\n", 1), ("---\n", 2), ("{}\n", 1)])
def test_a_config_without_blocks_is_refused(text: str, line: int) -> None:
    # None (empty text) and {} are the same to the real reader: no block, no ntuple.
    (err,) = validate({"reco.yaml": text})
    assert (err.file, err.line, err.column, err.path) == ("reco.yaml", line, 1, "")
    assert err.message == ("the config has no blocks, so runTop_el.py would run nothing and "
                           "write no ntuple; a level config needs at least CommonServices and "
                           "Output")
    assert err.suggestion and "exampleTtbarLjets" in err.suggestion


def test_recursive_alias_rejected() -> None:
    data, errs = load_yaml("a: &a [*a]\n", "reco.yaml")
    assert data is None and "recursive" in errs[0].message


def test_add_config_blocks_registers_topcp_blocks() -> None:
    parton = (EXAMPLES / "parton.yaml").read_text()
    assert validate({"parton.yaml": parton}) == []
    # Without the declaration, PartonHistory is the 2026 athena built-in: maybe unknown to the
    # pinned release (TopCPToolkit 2.19 declares it), so a warning, not a refusal.
    without = parton.split("AddConfigBlocks:")[0]
    found = validate({"parton.yaml": without})
    assert _errors(found) == []
    (warn,) = [e for e in found if e.path == "PartonHistory"]
    assert warn.rule == "block-unverified" and "AddConfigBlocks" in warn.message
    typo = parton.replace("histories: 'Ttbar'", "historys: 'Ttbar'")
    (err,) = _errors(validate({"parton.yaml": typo}))  # a near miss of a declared option
    assert err.path == "PartonHistory[0].historys" and err.suggestion == "did you mean 'histories'?"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (" 3", "SpaNet must be a mapping of options or a list of mappings, got int 3"),
        (" [{btagger: 'GN2v01'}, 3]", "must be a mapping of options or a list of mappings, got int 3"),
    ],
)
def test_declared_topcp_block_must_be_a_mapping_or_list(value: str, message: str) -> None:
    # The shape rule holds for blocks registered through AddConfigBlocks as for built-in ones.
    text = ("AddConfigBlocks:\n  - modulePath: 'TopCPToolkit.TopSpaNetConfig'\n"
            "    functionName: 'TopSpaNetConfig'\n    algName: 'SpaNet'\n    pos: 'Output'\n"
            f"SpaNet:{value}\n")
    (err,) = _errors(validate({"reco.yaml": text}))
    assert err.line == 6 and err.message.endswith(message)
    assert err.path == ("SpaNet[1]" if "[" in value else "SpaNet")


def test_declared_topcp_block_without_value_is_skipped_with_a_warning() -> None:
    # ConfigText.loadConfig's merge() never adds a block whose value is null when the block has
    # no sub-blocks (an AddConfigBlocks block has none): it silently does not run.
    text = ("AddConfigBlocks:\n  - modulePath: 'TopCPToolkit.TopSpaNetConfig'\n"
            "    functionName: 'TopSpaNetConfig'\n    algName: 'SpaNet'\n    pos: 'Output'\n"
            "SpaNet:\n")
    assert _errors(validate({"reco.yaml": text})) == []
    (warn,) = [e for e in validate({"reco.yaml": text}) if e.rule == "block-shape"]
    assert warn.line == 6 and "skips it silently" in warn.message


def test_add_config_blocks_cannot_reregister_a_builtin_block() -> None:
    text = ("Output: {}\nAddConfigBlocks:\n  - modulePath: 'X.Y'\n    functionName: 'f'\n"
            "    algName: 'Jets'\n    pos: 'Output'\n")
    (err,) = _errors(validate({"reco.yaml": text}))
    assert err.path == "AddConfigBlocks[0].algName" and "already been added" in err.message


def test_include_is_a_warning() -> None:
    # the reader accepts include (combineConfigFiles); only the level files reach the
    # transformer, so a fragment resolves only from the science image's DATAPATH: a warning
    found = validate({"reco.yaml": "include: ['common.yaml']\nCommonServices: {}\n"})
    assert _errors(found) == []
    (warn,) = found
    assert warn.path == "include" and warn.rule == "include-unsupported"
    assert "not sent with the query" in warn.message and "DATAPATH" in warn.message


def test_include_makes_whole_file_findings_warnings() -> None:
    # a fragment may define the container, the block or the option this file lacks
    text = ("include: ['common.yaml']\nCommonServices: {}\nMissingET:\n  containerName: 'AnaMET'\n"
            "  jets: 'FragmentJets'\nJets:\n  - containerName: 'AnaJets'\n"
            "    jetCollection: 'AntiKt4EMPFLOWJETS'\n")
    found = validate({"reco.yaml": text})
    assert [(e.rule, e.severity) for e in found if e.severity == "error"] == [
        ("jet-collection", "error")]  # this file's own value: certain whatever is included
    assert {e.rule for e in found if e.severity == "warning"} >= {
        "include-unsupported", "dangling-container"}


def test_all_files_reported_together() -> None:
    errs = _errors(validate({"reco.yaml": "Jetz: {}\n", "particle.yaml": "PL_Jetz: {}\n"}))
    assert [(e.file, e.suggestion) for e in errs] == [
        ("particle.yaml", "did you mean 'PL_Jets'?"), ("reco.yaml", "did you mean 'Jets'?")]


@pytest.mark.parametrize("window, warned", [("MLLWINDOW 100000 80000", "no event passes"),
                                             ("MLLWINDOW 100000 80000 veto", "every event passes"),
                                             ("MLLWINDOW 80000 100000", None)])
def test_an_empty_mll_window_is_a_warning_with_the_edges_swapped(window: str, warned) -> None:
    # DileptonInvariantMassWindowSelectorAlg (athena 2025): lower < mll < upper as written; the
    # reader accepts the line (TopCPToolkit's exampleTtbarLjets has 'MLLWINDOW 100000 80000')
    text = _reco().replace("        MWT > 30000\n", f"        MWT > 30000\n        {window}\n", 1)
    found = validate({"reco.yaml": text})
    assert _errors(found) == []
    windows = [e for e in found if e.rule == "cut-window"]
    if warned is None:
        assert windows == []
    else:
        (err,) = windows
        assert err.severity == "warning" and warned in err.message
        assert err.line == _line_of(text, window)
        assert "write the lower edge first: MLLWINDOW 80000 100000" in (err.suggestion or "")


def test_cut_grammar_ast() -> None:
    cuts = parse_cuts("JET_N_BTAG GN2v01:FixedCutBEff_70 >= 1\n# comment\n\nEL_N tight 25000 == 1\n"
                      "MLLWINDOW 80000 100000 veto\nMET+MWT > 40000\nOS el mu\nIMPORT SUBcommon\nSAVE")
    assert [c.keyword for c in cuts] == ["JET_N_BTAG", "EL_N", "MLLWINDOW", "MET+MWT", "OS",
                                         "IMPORT", "SAVE"]
    assert cuts[0].btag == ("GN2v01", "FixedCutBEff_70") and cuts[0].count == 1
    assert (cuts[1].selections, cuts[1].value, cuts[1].comparator, cuts[1].count, cuts[1].line) == (
        ("tight",), 25000.0, "==", 1, 4)
    assert cuts[2].values == (80000.0, 100000.0) and cuts[2].veto
    assert cuts[4].leptons == ("el", "mu") and cuts[5].region == "SUBcommon"


def test_cut_grammar_errors_listed() -> None:
    with pytest.raises(CutSyntaxError) as info:
        parse_cuts("EL_N 25000 >= 1.5\nJET_N 25000 => 4\nMETT > 3\nSAVE now")
    msgs = [p.message for p in info.value.problems]
    assert len(msgs) == 4
    assert "whole number" in msgs[0] and "comparator" in msgs[1]
    assert info.value.problems[2].suggestion == "did you mean 'MET'?"


def test_cuts_in_config_import_and_positions() -> None:
    text = _reco().replace("        IMPORT SUBcommon\n        MWT", "        IMPORT SUBcomon\n        MWT")
    text = text.replace("        MET+MWT > 60000", "        MET+MWT >> 60000")
    errs = _errors(validate({"reco.yaml": text}))
    assert len(errs) == 2
    imp = next(e for e in errs if "IMPORT" in e.message)
    assert "undefined region 'SUBcomon'" in imp.message
    assert imp.suggestion == "did you mean 'SUBcommon'?"
    assert imp.line == _line_of(text, "IMPORT SUBcomon")
    bad = next(e for e in errs if "comparator" in e.message)
    assert (bad.line, bad.column) == (_line_of(text, "MET+MWT >>"), 9)
    assert imp.column == 9


def test_cut_positions_for_inline_strings() -> None:
    text = ("EventSelection:\n  - electrons: 'E'\n    selectionCutsDict:\n"
            "      'ee': 'EL_N 25000 >> 2'\n")
    errs = [e for e in _errors(validate({"reco.yaml": text})) if "comparator" in e.message]
    assert [e.line for e in errs] == [4]


def test_import_of_region_defined_later() -> None:
    text = _reco().replace("'SUBcommon'", "'SUBzzz'", 1).replace(
        "      'mujets': |", "      'SUBcommon': |\n        SAVE\n      'mujets': |")
    errs = _errors(validate({"reco.yaml": text}))
    assert any("defined later" in e.message for e in errs)


def test_btag_cut_needs_matching_flavour_tagging() -> None:
    text = _reco().replace("JET_N_BTAG >= 1", "JET_N_BTAG GN2v01:FixedCutBEff_77 >= 1")
    (err,) = _errors(validate({"reco.yaml": text}))
    assert "no FlavourTagging entry" in err.message and "GN2v01" in err.message


def test_release_mismatch_is_a_warning() -> None:
    errs = validate({"reco.yaml": "CommonServices: {}\n"}, release="25.2.88")
    assert [e.severity for e in errs] == ["warning"]


def _upstream_configs() -> str | None:
    """TopCPToolkit's own example configs (flat, e.g. ``exampleTtbarLjets__reco.yaml``).

    Upstream files may not be committed here, so they come from outside the checkout:
    ``$TOPCP_UPSTREAM_CONFIGS``, or ``../shared/topcp-configs`` beside the checkout when present.
    """
    env = os.environ.get("TOPCP_UPSTREAM_CONFIGS")
    if env:
        return env
    shared = Path(__file__).resolve().parents[2].parent / "shared" / "topcp-configs"
    return str(shared) if any(shared.glob("*.yaml")) else None


UPSTREAM = _upstream_configs()


@pytest.mark.skipif(not UPSTREAM, reason="set TOPCP_UPSTREAM_CONFIGS to a folder of upstream configs")
@pytest.mark.parametrize("name", sorted(p.name for p in Path(UPSTREAM or ".").glob("*.yaml"))
                         if UPSTREAM else ["none"])
def test_upstream_example_configs_have_no_errors(name: str) -> None:
    """TopCPToolkit's own share/configs run in its CI: our checks must not reject them."""
    text = (Path(UPSTREAM) / name).read_text()
    assert _errors(validate({name: text})) == []


@pytest.mark.skipif(not UPSTREAM, reason="set TOPCP_UPSTREAM_CONFIGS")
def test_upstream_reco_broken_variants() -> None:
    path = next(Path(UPSTREAM).glob("*exampleTtbarLjets*reco*.yaml"), None)
    if path is None:
        pytest.skip("no exampleTtbarLjets reco.yaml in the folder")
    text = path.read_text().replace("        minPt: 25000.0\n        maxEta: 2.5\n    FlavourTagging",
                                    "        minPt: 25000\n        maxEta: 2.5\n    FlavourTagging")
    text = text.replace("electrons: 'AnaElectrons.tight'\n    #photons", "electrons: 'AnaElectrons.tigth'\n    #photons")
    errs = _errors(validate({"reco.yaml": text}))
    # the int is converted; AddConfigBlocks blocks could add selections, but 'tigth' is a near
    # miss of the defined 'tight', i.e. a typo whatever those blocks add
    assert [(e.path, e.rule) for e in errs] == [("MissingET[0].electrons", "dangling-selection")]


@pytest.mark.parametrize("text", [
    "- a\n- b\n", "42\n", "''\n", "1: {}\n", "Jets: [1, 2]\n", "Jets:\n  - PtEtaSelection: 5\n",
    "EventSelection:\n  selectionCutsDict: [a]\n", "EventSelection:\n  selectionCutsDict:\n    1: 2\n",
    "AddConfigBlocks: 'x'\n", "AddConfigBlocks:\n  - algName: 3\n", "Output:\n  containers: [a]\n",
    "Output:\n  vars: [1, {a: b}]\n  commands: ['frobnicate x']\n", "MissingET:\n  jets: 5\n",
    "Thinning:\n  containerName: [x]\n", "x: !!binary aGVsbG8=\n", "? [a, b]\n: c\n",
    "a: &x {b: 1}\nc:\n  <<: *x\n  b: 2\n", "Jets: {containerName: J, jetCollection: K, JVT: null}\n",
    "---\na: 1\n---\nb: 2\n", "\t- bad\n", "a: 'unterminated\n",
])
def test_odd_inputs_never_crash(text: str) -> None:
    errs = validate({"reco.yaml": text})
    assert all(isinstance(e, ConfigError) and e.line >= 0 for e in errs)
    assert errs, "every one of these is a mistake the real reader would reject"


def test_selection_in_a_cut_is_checked_at_its_line() -> None:
    text = _reco().replace("EL_N 25000 == 1\n        MU_N", "EL_N tigth 25000 == 1\n        MU_N")
    (err,) = _errors(validate({"reco.yaml": text}))
    assert (err.line, err.column) == (_line_of(text, "EL_N tigth"), 9)
    assert err.suggestion == "did you mean 'tight'?"


def test_output_references_and_commands() -> None:
    text = _reco().replace("    jet_: 'OutJets'", "    jet_: 'OutJet'").replace(
        "  metVars: []", "  metVars: []\n  commands:\n    - 'disable jet_.*'\n    - 'drop el_.*'")
    errs = _errors(validate({"reco.yaml": text}))
    assert {(e.path, e.suggestion) for e in errs} == {
        ("Output.containers.jet_", "did you mean 'OutJets'?"), ("Output.commands[1]", None)}


def test_add_config_blocks_super_blocks_register_sub_blocks() -> None:
    text = ("Jets:\n  - containerName: 'AnaJets'\n    jetCollection: 'AntiKt4EMPFlowJets'\n"
            "    MyDeco: {}\nAddConfigBlocks:\n  - modulePath: 'My.Module'\n"
            "    functionName: 'f'\n    algName: 'MyDeco'\n    superBlocks: 'Jets'\n")
    assert _errors(validate({"reco.yaml": text})) == []


def test_an_old_style_config_gets_a_migration_report() -> None:
    """A TopCP 2.8-2.10 era config (written here in that style): every stale piece is named with
    what to do instead, not just as 'unknown'."""
    text = (
        "Electrons:\n  - containerName: 'AnaElectrons'\n    WorkingPoint:\n"
        "      - selectionName: 'tight'\n        likelihoodWP: 'TightLH'\n"
        "        isolationWP: 'Tight_VarRad'\n"
        "Jets:\n  - containerName: 'AnaJets'\n    jetCollection: 'AntiKt4EMPFlowJets'\n"
        "    FlavourTagging:\n      - btagger: 'DL1dv01'\n        btagWP: 'FixedCutBEff_77'\n"
        "        generator: 'default'\n        minPt: 20000.0\n"
        "BTaggingScores:\n  - containerName: 'AnaJets'\n"
        "Output: {treeName: 'reco'}\n"
        "AddConfigBlocks:\n"
        "  - modulePath: 'TopCPToolkit.BTagScoresConfig'\n    functionName: 'BTagScoresConfig'\n"
        "    algName: 'BTaggingScores'\n    pos: 'Output'\n"
        "  - modulePath: 'TopCPToolkit.KLFitterConfig'\n    functionName: 'KLFitterConfig'\n"
        "    algName: 'KLFitter'\n    pos: 'Output'\n"
        "  - modulePath: 'TopCPToolkit.LeptonSFCalculatorConfig'\n"
        "    functionName: 'LeptonSFCalculatorConfig'\n    algName: 'LeptonSF'\n    pos: 'Output'\n"
    )
    report = {(e.rule, e.suggestion) for e in validate({"reco.yaml": text})
              if e.severity == "error"}
    assert ("removed-option", "write 'identificationWP' instead") in report
    assert ("removed-option", "move it to Jets: FlavourTaggingEventSF") in report
    assert ("removed-option", "cut on jets with a PtEtaSelection sub-block instead") in report
    assert any(r == "acb-module-moved" and "saveScores" in s for r, s in report)
    assert ("acb-module-moved", "use modulePath 'KLFitterAnalysisAlgorithms.KLFitterConfig' "
            "(athena)") in report
    assert ("acb-already-registered", "remove this AddConfigBlocks entry: LeptonSF is a "
            "built-in athena block") in report
