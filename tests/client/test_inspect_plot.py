"""`topcp-sx inspect` and `plot` on emulator output and on a hand-made ntuple."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
import uproot
from conftest import TOPCP_SX
from ntuple_factory import JES, PRW, SYSTEMATICS
from topcp_client import inspect_file, plot_branch
from topcp_client.cli import app
from topcp_client.ntuple import NtupleError, systematic_of
from typer.testing import CliRunner

runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_inspect_lists_systematics_of_emulator_output(emulated_outputs):
    res = runner.invoke(app, ["inspect", str(emulated_outputs["rntuple"])])
    assert res.exit_code == 0, res.output
    assert "Emulated output" in res.stdout
    assert "TTree 'reco': 100 entries" in res.stdout
    assert "JET_EffectiveNP_Modelling1__1up" in res.stdout and "NOSYS" in res.stdout
    assert "CutBookkeeper" in res.stdout and "cflow_" in res.stdout


def test_inspect_json_agrees_with_labels_and_suffixes(emulated_outputs):
    res = runner.invoke(app, ["inspect", str(emulated_outputs["ttree"]), "--json"])
    report = json.loads(res.stdout)
    systs = report["systematics"]
    assert systs["from_listOfSystematics"][0] == "NOSYS"
    # every systematic with a branch is also a listed one
    assert set(systs["from_branch_suffixes"]) <= set(systs["from_listOfSystematics"]) | {
        s for s in systs["from_branch_suffixes"] if s.startswith("GEN_")}
    (reco,) = [t for t in report["trees"] if t["name"] == "reco"]
    assert reco["entries"] == 100 and {"ejets", "mujets"} <= set(reco["regions"])
    assert {"jet_", "el_", "weight_", "pass_"} <= set(reco["groups"])
    assert report["emulated"] is True


def test_inspect_known_file_exactly(fake_ntuple):
    report = inspect_file(fake_ntuple)
    assert report["systematics"]["from_listOfSystematics"] == SYSTEMATICS
    assert report["systematics"]["from_branch_suffixes"] == sorted(
        SYSTEMATICS, key=lambda s: (s != "NOSYS", s))
    (tree,) = report["trees"]
    assert tree["groups"]["jet_"] == 4  # eta, pt_NOSYS, pt up, pt down (no counter branches)
    flows = {c["name"]: c["bins"] for c in report["cutflows"]}
    assert flows["cflow_EventInfo__ejets_NOSYS"] == [["all", 100.0], ["EL_N", 60.0],
                                                     ["JET_N", 50.0]]


def test_systematic_split_needs_a_nominal_anchor():
    bases = {"jet_pt", "weight_mc", "el_select_tight"}
    assert systematic_of("jet_pt_JET_JER_EffectiveNP_1__1up", bases) == "JET_JER_EffectiveNP_1__1up"
    assert systematic_of("weight_mc_GEN_MUR05_MUF1_PDF260000", bases) == "GEN_MUR05_MUF1_PDF260000"
    assert systematic_of("jet_eta", bases) is None
    assert systematic_of("el_select_tight_EG_SCALE_ALL__1down", bases) == "EG_SCALE_ALL__1down"


def test_inspect_bad_file_is_a_clear_error(tmp_path):
    junk = tmp_path / "x.root"
    junk.write_text("nope")
    res = runner.invoke(app, ["inspect", str(junk)])
    assert res.exit_code == 1 and "not a readable ROOT file" in res.stderr


def test_plot_emulator_output_with_variations(emulated_outputs, tmp_path):
    png = tmp_path / "jet_pt.png"
    res = runner.invoke(app, ["plot", str(emulated_outputs["rntuple"]), "--branch",
                              "jet_pt_NOSYS", "--syst", "JET_EffectiveNP_Modelling1", "-o", str(png)])
    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == PNG_MAGIC
    for name in ("NOSYS", "JET_EffectiveNP_Modelling1__1up", "JET_EffectiveNP_Modelling1__1down"):
        assert f"{name}: " in res.stdout
    assert not list(tmp_path.glob(".*tmp*"))


def test_plot_is_labelled_emulated_exactly_when_the_file_has_the_marker(emulated_outputs, tmp_path):
    from ntuple_factory import write_ntuple

    assert plot_branch(emulated_outputs["rntuple"], "jet_pt_NOSYS", tmp_path / "e.png").emulated
    real = tmp_path / "real.root"
    write_ntuple(real, marker=False)
    assert not plot_branch(real, "jet_pt_NOSYS", tmp_path / "r.png").emulated


def test_plot_weights_regions_and_variations_by_hand(fake_ntuple, tmp_path):
    import uproot

    res = plot_branch(fake_ntuple, "met_met_NOSYS", tmp_path / "m.png", region="ejets",
                      syst=PRW, bins=5, xmin=0, xmax=1e9)
    a = uproot.open(fake_ntuple)["reco"].arrays(library="np")
    sel = a["pass_ejets_NOSYS"].astype(bool)
    w = a["weight_mc_NOSYS"] * a["weight_pileup_NOSYS"]
    assert res.curves["NOSYS"]["sum"] == pytest.approx(w[sel].sum())
    up = a["weight_mc_NOSYS"] * a[f"weight_pileup_{PRW}__1up"]
    assert res.curves[f"{PRW}__1up"]["sum"] == pytest.approx(up[sel].sum())
    assert res.ratio and res.unit == "GeV"
    assert res.weights == ["weight_mc_NOSYS", "weight_pileup_NOSYS"]
    # a variation with its own region flag uses it: JES up selects 3 of 4 events
    res = plot_branch(fake_ntuple, "met_met_NOSYS", tmp_path / "j.png", region="ejets",
                      syst=f"{JES}__1up", xmin=0, xmax=1e9)
    assert res.curves[f"{JES}__1up"]["entries"] == np.sum(a[f"pass_ejets_{JES}__1up"] != 0)


def test_plot_errors_name_what_exists(fake_ntuple, tmp_path):
    out = tmp_path / "p.png"
    with pytest.raises(NtupleError, match="did you mean jet_pt_NOSYS"):
        plot_branch(fake_ntuple, "jet_ptt_NOSYS", out)
    with pytest.raises(NtupleError, match="regions: ejets, mujets"):
        plot_branch(fake_ntuple, "jet_pt_NOSYS", out, region="etjets")
    with pytest.raises(NtupleError, match="did you mean JET_JER_EffectiveNP_1"):
        plot_branch(fake_ntuple, "jet_pt_NOSYS", out, syst="JET_JER_EffectiveNP1")
    assert not out.exists()
    res = runner.invoke(app, ["plot", str(fake_ntuple), "--branch", "nope", "-o", str(out)])
    assert res.exit_code == 1 and "no branch 'nope'" in res.stderr


def test_plot_real_subprocess(emulated_outputs, tmp_path):
    png = tmp_path / "met.png"
    done = subprocess.run([str(TOPCP_SX), "plot", str(emulated_outputs["ttree"]), "--branch",
                           "met_met_NOSYS", "--syst", "JET_EffectiveNP_Modelling1", "-o", str(png)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_inspect_collapses_the_318_generator_weights_of_the_ttree_sample(emulated_outputs):
    """The Run-2 TTree file stores 319 MC weights and no names: GEN_w001 ... GEN_w318."""
    res = runner.invoke(app, ["inspect", str(emulated_outputs["ttree"])])
    assert res.exit_code == 0, res.output
    text = res.stdout
    assert re.search(r"Systematics \(\d+, 318 of them generator weights\)", text)
    # once per list, as a count and a range; no weight listed one by one
    assert text.count("+ 318 generator weights GEN_w001 ... GEN_w318 (numbered") == 2
    assert "GEN_w002" not in text and "GEN_w317" not in text
    assert "JET_EffectiveNP_Modelling1__1up" in text  # kinematic systematics are still listed
    assert "CutBookkeepers of DSID 700322, run 300000 (319, 318 for generator weights)" in text
    assert "CutBookkeeper_700322_300000_NOSYS" in text
    assert "318 x GEN_w001 ... GEN_w318" in text
    assert "CutBookkeeper_700322_300000_GEN_w001" not in text


def test_inspect_all_lists_every_weight_and_bookkeeper(emulated_outputs):
    res = runner.invoke(app, ["inspect", str(emulated_outputs["ttree"]), "--all"])
    assert res.exit_code == 0, res.output
    listed = [f"GEN_w{i:03d}" for i in range(1, 319)]
    assert all(res.stdout.count(name) >= 3 for name in listed)  # both lists and its bookkeeper
    assert "CutBookkeeper_700322_300000_GEN_w318" in res.stdout
    assert "generator weights GEN_w001 ..." not in res.stdout


def test_inspect_json_keeps_every_weight_and_the_collapsed_summary(emulated_outputs,
                                                                   testdata):
    report = json.loads(runner.invoke(app, ["inspect", str(emulated_outputs["rntuple"]),
                                            "--json"]).stdout)
    gen = report["systematics"]["generator_weights"]["from_listOfSystematics"]
    listed = [s for s in report["systematics"]["from_listOfSystematics"] if s.startswith("GEN_")]
    assert gen["names"] == listed and gen["count"] == len(listed)
    assert (gen["first"], gen["last"]) == (listed[0], listed[-1])
    if testdata.rntuple_is_real:  # the mc23 ttbar file names its 194 weights in MetaData
        assert gen["count"] == 193 and not gen["numbered"] and gen["first"] == "GEN_Default"
    else:  # the RNTuple made from the TTree file: same 319 unnamed weights
        assert gen["count"] == 318 and gen["numbered"]
    bookkeepers = [c for c in report["cutflows"] if c["name"].startswith("CutBookkeeper_")]
    assert len(bookkeepers) == gen["count"] + 1


def test_named_weights_show_their_first_names_and_the_last(tmp_path):
    from ntuple_factory import labelled_th1
    from rich.console import Console
    from topcp_client.inspect_output import bookkeeper_groups, render

    names = ["GEN_MUR05_MUF1_PDF260000", "GEN_MUR2_MUF1_PDF260000", "GEN_MUR1_MUF05_PDF260000",
             "GEN_MUR1_MUF2_PDF260000", "GEN_MUR1_MUF1_PDF260001"]
    path = tmp_path / "named.root"
    with uproot.recreate(path) as f:
        f["listOfSystematics"] = labelled_th1("listOfSystematics", ["NOSYS", *names], [1.0] * 6)
        for i, sys in enumerate(["NOSYS", *names]):
            name = f"CutBookkeeper_601229_450000_{sys}"
            f[name] = labelled_th1(name, ["N", "sumw", "sumw2"], [100.0, 10.0 + i, 100.0])
    report = inspect_file(path)
    console = Console(record=True, width=300)
    render(report, console)
    text = console.export_text()
    assert ("+ 5 generator weights GEN_MUR05_MUF1_PDF260000, GEN_MUR2_MUF1_PDF260000, "
            "GEN_MUR1_MUF05_PDF260000 ... GEN_MUR1_MUF1_PDF260001 (named as in the sample") in text
    assert "GEN_MUR1_MUF2_PDF260000" not in text
    (group,) = bookkeeper_groups(report["cutflows"])
    assert group.rows == [("CutBookkeeper_601229_450000_NOSYS", [100.0, 10.0, 100.0])]
    assert (group.generator_min, group.generator_max) == ([100.0, 11.0, 100.0],
                                                          [100.0, 15.0, 100.0])
    assert "11 .. 15" in text
