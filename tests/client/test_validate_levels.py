"""`topcp-sx validate FILE` picks the level: the file name, else the blocks, else reco + a note."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from topcp_client import validate
from topcp_client.cli import app
from topcp_client.levels import choose_level, level_from_blocks, level_from_name
from typer.testing import CliRunner

runner = CliRunner()
UPSTREAM = Path(__file__).resolve().parents[2].parent / "shared" / "topcp-configs"


@pytest.mark.parametrize(("name", "level"), [
    ("reco.yaml", "reco"), ("particle.yml", "particle"), ("parton.yaml", "parton"),
    ("my_reco.yaml", "reco"), ("exampleTtbarLjets__particle.yaml", "particle"),
    ("partonLevel.yaml", "parton"), ("RECO-v2.yaml", "reco"), ("ttbar.reco.yaml", "reco"),
    ("recoil.yaml", None), ("selection.yaml", None), ("reco_vs_particle.yaml", None),
    ("PL_stuff.yaml", None),
])
def test_the_level_a_file_name_names(name, level):
    assert level_from_name(Path("/some/dir") / name) == level


def test_reco_blocks_win_over_the_pl_and_parton_blocks_a_reco_config_may_hold():
    # exampleTtbarLjets_SoftMuons/reco.yaml holds PL_Jets and PartonHistory besides Jets...
    assert level_from_blocks(["CommonServices", "Jets", "PL_Jets", "PartonHistory"]) == (
        "reco", ["Jets"])
    assert level_from_blocks(["CommonServices", "GeneratorLevelAnalysis", "PL_Jets",
                              "EventSelection"]) == ("particle", ["PL_Jets"])
    assert level_from_blocks(["GeneratorLevelAnalysis", "PartonHistory", "TtbarNNLO"]) == (
        "parton", ["PartonHistory", "TtbarNNLO"])
    assert level_from_blocks(["CommonServices", "Output", "AddConfigBlocks"]) is None


@pytest.mark.parametrize("level", ["reco", "particle", "parton"])
def test_our_example_configs_under_any_name_are_told_apart_by_their_blocks(
        level, ttbar_configs, tmp_path):
    neutral = tmp_path / "config.yaml"
    shutil.copy(ttbar_configs[level], neutral)
    choice = choose_level(neutral, neutral.read_text())
    assert (choice.level, choice.source) == (level, "blocks")
    assert f"validating it as {level} level, from its blocks (" in choice.note


@pytest.mark.skipif(not any(UPSTREAM.glob("*.yaml")),
                    reason="TopCPToolkit's example configs (../shared/topcp-configs) absent")
def test_every_upstream_example_config_gets_its_level_from_name_and_from_blocks(tmp_path):
    for path in sorted(UPSTREAM.glob("*__*.yaml")):
        level = path.stem.rsplit("__", 1)[1]
        text = path.read_text()
        assert choose_level(path, text).level == level, path.name
        assert choose_level(path, text).note is None, path.name  # name and blocks agree
        blind = choose_level(tmp_path / "config.yaml", text)
        assert (blind.level, blind.source) == (level, "blocks"), path.name


def test_validate_says_which_level_it_guessed(ttbar_configs, tmp_path):
    mine = tmp_path / "my_config.yaml"
    shutil.copy(ttbar_configs["particle"], mine)
    res = runner.invoke(app, ["validate", str(mine)])
    assert res.exit_code == 0, res.output
    assert f"note: {mine}: validating it as particle level, from its blocks (PL_" in res.stderr
    assert "--reco/--particle/--parton" in res.stderr


def test_a_file_with_nothing_level_specific_is_validated_as_reco_with_a_note(tmp_path):
    odd = tmp_path / "selection.yaml"
    odd.write_text("CommonServices:\n  runSystematics: False\n")
    res = runner.invoke(app, ["validate", str(odd), "--json"])
    assert res.exit_code == 0, res.output
    assert (f"note: {odd}: validating it as reco level: neither its name nor its blocks say "
            "which level it is for") in res.stderr
    assert res.stdout.strip().startswith("[")  # --json keeps stdout for the findings


def test_the_name_wins_over_the_blocks_with_a_note(ttbar_configs, tmp_path):
    named = tmp_path / "particle.yaml"
    shutil.copy(ttbar_configs["reco"], named)
    choice = choose_level(named, named.read_text())
    assert (choice.level, choice.source) == ("particle", "name")
    assert "as its name says, though its blocks (" in choice.note
    assert "are those of a reco-level config" in choice.note


def test_two_files_guessed_to_one_level_are_a_usage_error(ttbar_configs, tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    for p in (a, b):
        shutil.copy(ttbar_configs["reco"], p)
    res = runner.invoke(app, ["validate", str(a), str(b)])
    assert res.exit_code == 2 and "two reco-level configs given" in res.stderr
    assert "was guessed" in res.stderr


def test_the_api_warns_about_a_guessed_level(ttbar_configs, tmp_path):
    mine = tmp_path / "ttbar_truth.yaml"
    shutil.copy(ttbar_configs["parton"], mine)
    with pytest.warns(UserWarning, match="validating it as parton level, from its blocks"):
        problems = validate(mine)
    assert not [p for p in problems if p.severity == "error"]
    heard: list[str] = []
    validate(mine, on_note=heard.append)
    assert len(heard) == 1 and "parton level" in heard[0]
