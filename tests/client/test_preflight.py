"""`topcp-sx check`: each mismatch kind, on a real PHYSLITE file whose metadata was edited.

The copies are the real mc23 RNTuple (or the Run-2 TTree) with a new MetaData cycle written by
uproot (physlite_copies.py); the event data stays the real file's. Every finding must name the
input file, the metadata value it rests on and the config line it conflicts with.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from physlite_copies import data_like, with_metadata
from topcp_client import preflight, read_input_facts
from topcp_client.cli import app
from typer.testing import CliRunner

runner = CliRunner()

RECO = """\
CommonServices:
  systematicsHistogram: 'listOfSystematics'
PileupReweighting:
  userPileupConfigsPerCampaign:
    mc23c: ['prw_mc23c.root']
  alternativeConfig: {alternative}
EventCleaning:
  runEventCleaning: True
GeneratorLevelAnalysis: {{}}
Electrons:
  - containerName: 'AnaElectrons'
    forceFullSimConfig: {fullsim}
Jets:
  - containerName: 'AnaJets'
    jetCollection: 'AntiKt4EMPFlowJets'
    onlyForDSIDs: ['601229', '41047.']
Trigger:
  triggerChainsPerYear:
    '2022': ['HLT_e26_lhtight_ivarloose_L1EM22VHI || HLT_mu24_ivarmedium_L1MU14FCH']
    '2023': ['HLT_e26_lhtight_ivarloose_L1EM22VHI || HLT_mu24_ivarmedium_L1MU14FCH']
  noGlobalTriggerEff: {no_sf}
  electrons: 'AnaElectrons'
Output:
  treeName: 'reco'
"""


def write_reco(tmp_path: Path, *, alternative: bool = False, fullsim: bool = False,
               no_sf: bool = False, name: str = "reco.yaml") -> Path:
    p = tmp_path / name
    p.write_text(RECO.format(alternative=alternative, fullsim=fullsim, no_sf=no_sf))
    return p


def line_of(config: Path, text: str) -> int:
    """1-based line of the first line containing ``text`` (independent of the loader)."""
    return next(i for i, line in enumerate(config.read_text().splitlines(), 1) if text in line)


@pytest.fixture(scope="module")
def copies(tmp_path_factory, physlite_rntuple, physlite_ttree) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("edited")
    src = physlite_rntuple
    return {
        "phys": with_metadata(src, d / "phys.root", dataType="StreamDAOD_PHYS"),
        "bphy": with_metadata(src, d / "bphy.root", dataType="StreamDAOD_BPHY28"),
        "nometa": with_metadata(src, d / "nometa.root", drop_all=True),
        "datalike_meta": with_metadata(src, d / "datalike.root", simFlavour=None, mcProcID=None,
                                       mcCampaign=None, amiTag="f1350_m2434_p6266"),
        "mc20e": with_metadata(src, d / "mc20e.root", mcCampaign="mc20e"),
        # AF3 and mc23e are checked by different kinds: one copy serves both
        "af3_mc23e": with_metadata(src, d / "af3_mc23e.root", simFlavour="ATLFAST3MT_QS",
                                   mcCampaign="mc23e"),
        "dsid": with_metadata(src, d / "dsid.root", mcProcID=601230.0),
        "data": data_like(physlite_ttree, d / "data18.root"),
    }


def findings(config: Path, inputs: list[Path], kind: str, **levels: Path):
    report = preflight({"reco": config, **levels}, inputs)
    return [m for m in report.findings if m.kind == kind]


def test_the_metadata_of_both_real_test_files(physlite_ttree, physlite_rntuple):
    mc23 = read_input_facts(physlite_rntuple)
    assert (mc23.derivation, mc23.is_mc, mc23.sim_kind, mc23.campaign, mc23.dsid) == (
        "PHYSLITE", True, "FullSim", "mc23c", 601229)
    assert mc23.run_numbers == [450000] and mc23.years == [2023]
    assert mc23.tags["e"] == ["e8514"] and mc23.tags["r"] == ["r14799"]
    assert mc23.file_metadata["simFlavour"] == "FullG4_QS"
    run2 = read_input_facts(physlite_ttree)
    assert not run2.has_metadata and run2.derivation == "PHYSLITE"  # from container names
    assert (run2.is_mc, run2.dsid, run2.campaign, run2.years) == (True, 700322, "mc20d", [2017])
    assert "guessed from runNumber 300000" in run2.campaign_source


def test_phys_where_physlite_is_expected(tmp_path, copies):
    reco = write_reco(tmp_path)
    (m,) = findings(reco, [copies["phys"]], "not-physlite")
    assert m.severity == "error" and m.input == str(copies["phys"])
    assert "StreamDAOD_PHYS" in m.metadata
    assert (m.config_file, m.line) == (str(reco), line_of(reco, "containerName: 'AnaJets'"))


def test_a_derivation_topcp_does_not_support(tmp_path, copies):
    reco = write_reco(tmp_path)
    (m,) = findings(reco, [copies["bphy"]], "unsupported-derivation")
    assert m.severity == "error" and "StreamDAOD_BPHY28" in m.metadata
    assert m.line == line_of(reco, "EventCleaning:") and "DFCommonJets_eventClean" in m.message


def test_missing_metadata(tmp_path, copies, physlite_ttree):
    reco = write_reco(tmp_path)
    for f in (copies["nometa"], physlite_ttree):
        (m,) = findings(reco, [f], "metadata-missing")
        assert m.severity == "warning" and m.input == str(f)
        assert "no MetaData tree with FileMetaData" in m.metadata
        assert m.line == line_of(reco, "GeneratorLevelAnalysis")  # the block that needs it most


def test_mc_events_behind_data_metadata(tmp_path, copies):
    reco = write_reco(tmp_path)
    (m,) = findings(reco, [copies["datalike_meta"]], "data-mc")
    assert m.severity == "error"
    assert "FileMetaData says data" in m.metadata and "IS_SIMULATION set" in m.metadata
    assert m.line == line_of(reco, "GeneratorLevelAnalysis")


def test_af3_without_the_fast_sim_setting(tmp_path, copies):
    reco = write_reco(tmp_path)
    (m,) = findings(reco, [copies["af3_mc23e"]], "af3-settings")
    assert m.severity == "warning" and "ATLFAST3MT_QS" in m.metadata and "AF3" in m.metadata
    assert m.path == "Electrons[0]" and m.line == line_of(reco, "containerName: 'AnaElectrons'")
    assert "forceFullSimConfig: True" in m.suggestion
    fixed = write_reco(tmp_path, fullsim=True, name="fixed.yaml")
    assert findings(fixed, [copies["af3_mc23e"]], "af3-settings") == []
    assert findings(reco, [copies["mc20e"]], "af3-settings") == []  # FullSim input


def test_trigger_chains_of_another_year(tmp_path, copies, physlite_rntuple):
    reco = write_reco(tmp_path)
    (m,) = findings(reco, [copies["mc20e"]], "trigger-year")
    assert m.severity == "error" and "campaign mc20e -> year(s) 2018" in m.metadata
    assert "you must provide a set of triggers for the year 2018" in m.message
    assert m.line == line_of(reco, "triggerChainsPerYear:")
    assert findings(reco, [physlite_rntuple], "trigger-year") == []  # mc23c -> 2023 is there
    no_sf = write_reco(tmp_path, no_sf=True, name="nosf.yaml")
    (w,) = findings(no_sf, [copies["mc20e"]], "trigger-year")
    assert w.severity == "warning" and "no trigger requirement is applied" in w.message
    (late,) = findings(reco, [copies["af3_mc23e"]], "trigger-year")  # 2024: athena does not check
    assert late.severity == "warning" and "2024" in late.message


def test_prw_files_without_the_input_campaign(tmp_path, copies, physlite_rntuple):
    alternative = write_reco(tmp_path, alternative=True, name="alt.yaml")
    (m,) = findings(alternative, [copies["mc20e"]], "prw-campaign")
    assert m.severity == "error" and "campaign mc20e" in m.metadata
    assert "no entry for mc20e" in m.message and "Unconfigured campaign" in m.message
    assert m.line == line_of(alternative, "userPileupConfigsPerCampaign:")
    # On PHYSLITE without alternativeConfig the 2025 release never reads the files: a warning.
    (w,) = findings(write_reco(tmp_path), [copies["mc20e"]], "prw-campaign")
    assert w.severity == "warning" and "copies the stored PileupWeight_NOSYS" in w.message
    assert findings(alternative, [physlite_rntuple], "prw-campaign") == []


def test_campaign_set_in_the_config_differs(tmp_path, copies):
    reco = tmp_path / "campaign.yaml"
    reco.write_text(textwrap.dedent("""\
        PileupReweighting:
          campaign: 'mc23a'
          alternativeConfig: True
        GeneratorLevelAnalysis:
          runNumber: 410000
        """))
    found = findings(reco, [copies["af3_mc23e"]], "campaign-mismatch")
    prw = next(m for m in found if m.path == "PileupReweighting.campaign")
    assert prw.severity == "error" and "campaign mc23e" in prw.metadata
    assert "'mc23a'" in prw.message and prw.line == line_of(reco, "campaign: 'mc23a'")
    gen = next(m for m in found if m.path == "GeneratorLevelAnalysis.runNumber")
    assert gen.severity == "warning" and "450000" in gen.metadata
    assert gen.line == line_of(reco, "runNumber: 410000")


def test_mc_only_blocks_and_levels_on_data(tmp_path, copies, ttbar_configs):
    reco = write_reco(tmp_path)
    facts = read_input_facts(copies["data"])
    assert (facts.is_mc, facts.years, facts.campaign) == (False, [2018], None)
    found = findings(reco, [copies["data"]], "mc-only-on-data",
                     particle=ttbar_configs["particle"])
    gen = next(m for m in found if m.path == "GeneratorLevelAnalysis")
    assert gen.line == line_of(reco, "GeneratorLevelAnalysis") and "skipOnData" in gen.suggestion
    level = next(m for m in found if m.config_file == str(ttbar_configs["particle"]))
    assert "turns --particle off for data" in level.message
    assert all(m.severity == "warning" and "without simFlavour" in m.metadata for m in found)


def test_only_for_dsids_excluding_the_input(tmp_path, copies, physlite_rntuple):
    reco = write_reco(tmp_path)
    (m,) = findings(reco, [copies["dsid"]], "dsid-filter")
    assert m.severity == "warning" and m.metadata == "DSID 601230"
    assert m.line == line_of(reco, "onlyForDSIDs")
    assert findings(reco, [physlite_rntuple], "dsid-filter") == []  # 601229 is listed
    (d,) = findings(reco, [copies["dsid"]], "dsid-mismatch")  # metadata vs events
    assert "mcProcID 601230" in d.metadata and "mcChannelNumber 601229" in d.metadata


def test_check_cli_names_file_value_and_line(tmp_path, copies):
    reco = write_reco(tmp_path, alternative=True)
    res = runner.invoke(app, ["check", "--reco", str(reco), str(copies["mc20e"])])
    assert res.exit_code == 1
    line = line_of(reco, "triggerChainsPerYear:")
    assert f"--> {reco}:{line}:" in res.stderr and "error[trigger-year]" in res.stderr
    assert f"input: {copies['mc20e']}: campaign mc20e" in res.stderr
    assert "2 error(s)" in res.stderr  # trigger year and PRW campaign
    ok = runner.invoke(app, ["check", "--reco", str(write_reco(tmp_path, name="ok.yaml")),
                             str(copies["af3_mc23e"])])
    assert ok.exit_code == 0 and "warning[af3-settings]" in ok.stderr
    assert "MC AF3 mc23e DSID 601229 run 450000, PHYSLITE" in ok.stdout


def test_run_and_deliver_stop_on_errors_unless_told(tmp_path, copies):
    reco = write_reco(tmp_path, alternative=True)
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "--reco", str(reco), str(copies["mc20e"]), "-o", str(out)])
    assert res.exit_code == 1 and "nothing was run (use --skip-check" in res.stderr
    assert not out.exists()
    sub = runner.invoke(app, ["deliver", "--reco", str(reco), "-d", str(copies["mc20e"]),
                              "-c", str(tmp_path / "servicex.yaml")])
    assert sub.exit_code == 1 and "nothing was submitted" in sub.stderr
    skipped = runner.invoke(app, ["deliver", "--reco", str(reco), "-d", str(copies["mc20e"]),
                                  "-c", str(tmp_path / "servicex.yaml"), "--skip-check"])
    assert "pre-flight" not in skipped.stderr  # went on to servicex (which has no config here)


def test_unreadable_and_remote_inputs_do_not_block(tmp_path):
    junk = tmp_path / "junk.root"
    junk.write_bytes(b"not ROOT")
    report = preflight({"reco": write_reco(tmp_path)}, [junk, "root://eos.example//f.root"])
    assert [m.kind for m in report.findings] == ["unreadable"] and not report.errors
    assert report.skipped == ["root://eos.example//f.root"]


def test_a_missing_input_is_a_usage_error(tmp_path):
    res = runner.invoke(app, ["check", "--reco", str(write_reco(tmp_path)),
                              str(tmp_path / "nope.root")])
    assert res.exit_code == 2 and "no such input file" in res.stderr
    no_config = runner.invoke(app, ["check", str(tmp_path / "nope.root")])
    assert no_config.exit_code == 2 and "--reco" in no_config.stderr
