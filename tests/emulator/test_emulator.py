"""The emulated runTop_el.py on the real PHYSLITE test files, checked against independent
uproot+awkward computations written here (not the emulator's own code paths)."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
import yaml
from topcp_science.emulator.cli import main


def _run(tmp: Path, files: list[Path], config_dir: Path, *extra: str, name: str = "out") -> tuple[int, Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    listing = tmp / "input.txt"
    listing.write_text("\n".join(str(f) for f in files) + "\n")
    cwd = Path.cwd()
    os.chdir(tmp)
    try:
        rc = main(["-i", str(listing), "-o", name, "-t", str(config_dir), *extra])
    finally:
        os.chdir(cwd)
    return rc, tmp / f"{name}.root"


def _config_dir(tmp: Path, ttbar_configs: dict[str, Path], edit=None, particle_edit=None) -> Path:
    d = tmp / "cfg"
    d.mkdir(parents=True, exist_ok=True)
    reco = yaml.safe_load(ttbar_configs["reco"].read_text())
    if edit:
        edit(reco)
    (d / "reco.yaml").write_text(yaml.safe_dump(reco, sort_keys=False))
    for level in ("particle", "parton"):
        (d / f"{level}.yaml").write_text(ttbar_configs[level].read_text())
    return d


@functools.cache
def _input_tree(path: Path):
    f = uproot.open(path)
    return f["CollectionTree"] if "CollectionTree" in f else f["EventData"]


@functools.cache
def _read_input(path: Path, container: str, var: str) -> ak.Array:
    tree = _input_tree(path)
    if tree.classname == "TTree":
        return tree[f"{container}AuxDyn.{var}"].array()
    return tree.arrays([f"{container}AuxDyn:{var}"])[f"{container}AuxDyn:{var}"]


def _no_or_config(reco: dict) -> None:
    """Example config without overlap removal, nothing filtered, plus a simple region."""
    reco.pop("OverlapRemoval")
    for th in reco["Thinning"]:
        if th["containerName"] == "AnaJets":
            th["selectionName"] = "baselineJvt"
    es = reco["EventSelection"][0]
    es["noFilter"] = True
    es["selectionCutsDict"]["fourjets"] = "JET_N 25000 >= 4\nSAVE\n"


@pytest.fixture(scope="module")
def no_or_run(tmp_path_factory, physlite_file: Path, ttbar_configs) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("noor")
    cfg = _config_dir(tmp, ttbar_configs, _no_or_config)
    rc, out = _run(tmp, [physlite_file], cfg, "--no-systematics")
    assert rc == 0
    return physlite_file, out


@pytest.fixture(scope="module")
def example_run(tmp_path_factory, physlite_file: Path, ttbar_configs) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("example")
    rc, out = _run(tmp, [physlite_file], ttbar_configs["reco"].parent)
    assert rc == 0
    return physlite_file, out


def test_example_config_gives_a_readable_topcp_shaped_ntuple(example_run, capsys):
    src, out = example_run
    f = uproot.open(out)
    tree = f["reco"]
    names = set(tree.keys())
    # prefixes from Output.containers, _NOSYS on varying variables, none on fixed ones
    for b in ("el_pt_NOSYS", "el_eta", "el_phi", "el_e_NOSYS", "el_charge", "el_select_tight_NOSYS",
              "el_select_loose_NOSYS", "mu_pt_NOSYS", "mu_select_tight_NOSYS", "jet_pt_NOSYS", "jet_eta",
              "jet_select_baselineJvt_NOSYS", "jet_DL1dv01_FixedCutBEff_77_select",
              "met_met_NOSYS", "met_phi_NOSYS", "met_sumet_NOSYS", "eventNumber", "runNumber",
              "mcChannelNumber", "weight_mc_NOSYS", "weight_pileup_NOSYS", "pass_ejets_NOSYS",
              "pass_mujets_NOSYS", "mu_average", "met_significance_NOSYS", "actualInteractionsPerCrossing",
              "averageInteractionsPerCrossing"):
        assert b in names, b
    assert "el_eta_NOSYS" not in names and "eventNumber_NOSYS" not in names
    # FTagAnalysisConfig: addOutputVar(..., '<tagger>_<WP>_select', noSys=True)
    assert not [n for n in names if "ftag_select" in n]
    assert tree["jet_DL1dv01_FixedCutBEff_77_select"].array().layout.content.dtype == np.int8
    # one OverlapRemoval block without selectionName: the decision is folded into every
    # selection and (athena's enableOutput) not written on its own
    assert not [n for n in names if "select_or" in n or "passesOR" in n]
    # selection and event flags are chars
    assert tree["el_select_tight_NOSYS"].array().layout.content.dtype == np.int8
    assert tree["pass_ejets_NOSYS"].array().to_numpy().dtype == np.int8
    # kinematic variations under the release's names, only where they act
    jes = "JET_EffectiveNP_Modelling1__1up"
    assert f"jet_pt_{jes}" in names and f"met_met_{jes}" in names and f"pass_ejets_{jes}" in names
    assert f"el_pt_{jes}" not in names
    assert f"el_select_tight_{jes}" in names  # through the overlap removal
    assert "jet_pt_JET_JER_EffectiveNP_1_PseudoData__1down" in names and "el_pt_EG_SCALE_ALL__1up" in names
    assert "met_met_MET_SoftTrk_ScaleUp" in names and "jet_pt_MET_SoftTrk_ScaleUp" not in names
    assert not [n for n in names if "EnergyScale" in n]
    gen = sorted(n for n in names if n.startswith("weight_mc_GEN_"))
    assert gen and not [n for n in names if n.startswith("pass_") and "GEN_" in n]
    # every kept event passes a non-SUB region for some systematic
    arrays = tree.arrays([n for n in names if n.startswith(("pass_ejets_", "pass_mujets_"))], library="np")
    if tree.num_entries:
        assert np.all(np.any(np.vstack(list(arrays.values())) != 0, axis=0))
    h = f["listOfSystematics"]
    labels = h.axis().labels()
    assert h.classname == "TH1F" and labels[0] == "NOSYS" and "JET_EtaIntercalibration_Modelling__1up" in labels
    assert "MUON_SAGITTA_RESBIAS__1down" in labels and "MET_SoftTrk_ResoPara" in labels
    marker = json.loads(str(f["topcp_emulator"]))
    assert "emulator" in marker["statement"] and "reco.yaml:Jets[0].FlavourTaggingEventSF" in marker["skipped"]
    assert any("scale factors" in n for n in marker["not_emulated"])  # said per block
    meta = f["metadata"]
    assert meta.classname == "TH1I" and meta.axis().labels()[0] == "fullsim"
    if "mc23" in src.name:  # FileMetaData: campaign, DSID, e-tag
        assert meta.axis().labels()[1:] == ["mc23c", "601229", "e8514"]


def test_objects_and_region_agree_with_independent_computation(no_or_run):
    src, out = no_or_run
    t = uproot.open(out)["reco"]
    # noFilter on the regions: only EventCleaning (runEventCleaning: True) removes events
    clean = ak.to_numpy(_read_input(src, "EventInfo", "DFCommonJets_eventClean_LooseBad") != 0)
    assert t.num_entries == np.count_nonzero(clean)
    ev = t.arrays(["eventNumber", "jet_pt_NOSYS", "pass_fourjets_NOSYS"])
    assert ak.all(ev.eventNumber == _read_input(src, "EventInfo", "eventNumber")[clean])

    # jets: PtEtaSelection (pT >= 25 GeV, |eta| <= 2.5) and the NNJvt tool's range
    # (20 <= pT <= 60 GeV, |DetectorEta| <= 2.5), thinned to baselineJvt, input order, MeV
    j_pt = _read_input(src, "AnalysisJets", "pt")[clean]
    j_eta = abs(_read_input(src, "AnalysisJets", "eta"))[clean]
    det = abs(_read_input(src, "AnalysisJets", "DetectorEta"))[clean]
    jvt = _read_input(src, "AnalysisJets", "NNJvtPass")[clean] != 0
    in_range = (j_pt >= 20000) & (j_pt <= 60000) & (det <= 2.5)
    j_ok = (j_pt >= 25000) & (j_eta <= 2.5) & (jvt | ~in_range)
    assert ak.all(ak.num(ev.jet_pt_NOSYS) == ak.sum(j_ok, axis=1))
    assert ak.all(ev.jet_pt_NOSYS == j_pt[j_ok])
    expected = ak.sum(j_ok, axis=1) >= 4
    assert np.array_equal(ev.pass_fourjets_NOSYS.to_numpy() != 0, ak.to_numpy(expected))


def _delta_r(eta1, phi1, eta2, phi2) -> ak.Array:
    """All (object 1, object 2) pairs per event, dR computed here from the output branches."""
    pairs = ak.cartesian([ak.zip({"eta": eta1, "phi": phi1}), ak.zip({"eta": eta2, "phi": phi2})], nested=True)
    first, second = ak.unzip(pairs)
    dphi = (first.phi - second.phi + np.pi) % (2 * np.pi) - np.pi
    return np.hypot(first.eta - second.eta, dphi)


def test_overlap_removal_is_folded_into_the_selection_flags(example_run):
    """After OR no selected jet is within 0.4 of a selected electron or muon (the chain
    removes jets within 0.2 of leptons, then leptons within 0.4 of the surviving jets)."""
    src, out = example_run
    t = uproot.open(out)["reco"]
    ev = t.arrays(["el_eta", "el_phi", "el_select_tight_NOSYS", "mu_eta", "mu_phi", "mu_select_tight_NOSYS",
                   "jet_eta", "jet_phi", "jet_select_baselineJvt_NOSYS"])
    jets = ev.jet_select_baselineJvt_NOSYS != 0
    checked = 0
    for lep in ("el", "mu"):
        sel = ev[f"{lep}_select_tight_NOSYS"] != 0
        dr = _delta_r(ev[f"{lep}_eta"][sel], ev[f"{lep}_phi"][sel], ev.jet_eta[jets], ev.jet_phi[jets])
        flat = ak.flatten(dr, axis=None)
        checked += len(flat)
        assert ak.all(flat >= 0.4)
    if "ttbar" in src.name:  # the Run-2 file keeps few events with leptons and jets
        assert checked > 0


@pytest.mark.parametrize(("or_options", "present", "absent"), [
    # forceOROutputFlags: the generic name FastFrames examples use (jet_select_or_NOSYS)
    ({"forceOROutputFlags": True}, {"el_select_or_NOSYS", "mu_select_or_NOSYS", "jet_select_or_NOSYS"},
     {"jet_select_passesOR_NOSYS"}),
    # several-OR style: a standalone selection named after outputLabel, written on its own
    ({"addToAllSelections": False}, {"el_select_passesOR_NOSYS", "jet_select_passesOR_NOSYS"},
     {"jet_select_or_NOSYS"}),
    ({"selectionName": "myOR"}, {"jet_select_or_myOR_NOSYS"}, {"jet_select_myOR_NOSYS"}),
    # OR appended to an existing selection: not written on its own
    ({"jetsSelectionName": "baselineJvt", "addToAllSelections": False},
     {"el_select_passesOR_NOSYS", "jet_select_baselineJvt_NOSYS"}, {"jet_select_passesOR_NOSYS"}),
    ({"forceOROutputFlags": True, "forceOROutputFlagName": "noOverlap"}, {"jet_select_noOverlap_NOSYS"},
     {"jet_select_or_NOSYS"}),
])
def test_overlap_removal_flag_names_follow_athena(tmp_path, physlite_rntuple, ttbar_configs,
                                                   or_options, present, absent):
    def edit(reco):
        reco["OverlapRemoval"].update(or_options)
        reco["EventSelection"][0]["noFilter"] = True
    rc, out = _run(tmp_path, [physlite_rntuple], _config_dir(tmp_path, ttbar_configs, edit), "--no-systematics")
    assert rc == 0
    t = uproot.open(out)["reco"]
    names = set(t.keys())
    assert present <= names, present - names
    assert not absent & names
    flag = next(iter(present))
    assert t[flag].array().layout.content.dtype == np.int8
    if or_options.get("addToAllSelections") is False and "jetsSelectionName" not in or_options:
        # standalone: baselineJvt no longer includes the OR decision, so some jets pass
        # baselineJvt and fail OR (in ttbar every electron is also reconstructed as a jet)
        ev = t.arrays(["jet_select_baselineJvt_NOSYS", "jet_select_passesOR_NOSYS"])
        assert ak.any((ev.jet_select_baselineJvt_NOSYS != 0) & (ev.jet_select_passesOR_NOSYS == 0))


def test_event_cutflow_histograms(example_run):
    """cutFlowHistograms: cflow_EventInfo__<region>_<SYS> (athena histPattern with
    selectionName ''), TH1F, first bin 'total' = the events reaching EventSelection (after
    EventCleaning), one bin per cut decoration; the last bin of a region not ending in an
    IMPORT is the events passing it."""
    src, out = example_run
    f = uproot.open(out)
    clean = ak.to_numpy(_read_input(src, "EventInfo", "DFCommonJets_eventClean_LooseBad") != 0)
    for region in ("SUBcommon", "ejets", "mujets"):
        h = f[f"cflow_EventInfo__{region}_NOSYS"]
        assert h.classname == "TH1F" and h.title == "Event Cutflow: EventInfo."
        values = h.values()
        assert values[0] == np.count_nonzero(clean)
        if not region.startswith("SUB"):  # every event passing a non-SUB region is kept
            assert values[-1] == np.count_nonzero(f["reco"][f"pass_{region}_NOSYS"].array(library="np"))
    labels = f["cflow_EventInfo__ejets_NOSYS"].axis().labels()
    assert labels == ["total", "ejets_NEL_1_%SYS%,as_char", "ejets_NMU_2_%SYS%,as_char",
                      "SUBcommon_NJET_1_%SYS%,as_char", "SUBcommon_NBJET_2_%SYS%,as_char",
                      "SUBcommon_MET_3_%SYS%,as_char", "ejets_MWT_4_%SYS%,as_char"]
    assert "cflow_EventInfo__ejets_JET_EffectiveNP_Modelling1__1up" in f
    assert not [k for k in f.keys() if k.startswith("cflow_") and not k.startswith("cflow_EventInfo__")]


def _weight_names(path: Path) -> list[str] | None:
    f = uproot.open(path)
    if "MetaData" not in f:
        return None
    return list(f["MetaData"]["TruthMetaDataAux./TruthMetaDataAux.weightNames"].array()[0][0])


def test_cutbookkeepers_follow_the_release(example_run):
    """CutBookkeeper_<DSID>_<RUN>_<SYS>: TH1F 'CutBookkeeper Information', bins 0.5-3.5, from
    the file's AllExecutedEvents bookkeepers (mc23 file: MetaData; weight index i from
    CutBookkeepers_weight_<i>); files without them (the Run-2 test file) fall back to the
    processed events, with a warning. NOSYS is mcEventWeights[0]."""
    src, out = example_run
    f = uproot.open(out)
    weights = _read_input(src, "EventInfo", "mcEventWeights")
    dsid = int(_read_input(src, "EventInfo", "mcChannelNumber")[0])
    run = int(_read_input(src, "EventInfo", "runNumber")[0])
    names = _weight_names(src)
    cbk = f[f"CutBookkeeper_{dsid}_{run}_NOSYS"]
    assert cbk.classname == "TH1F" and cbk.title == "CutBookkeeper Information"
    assert cbk.axis().labels() == ["Initial events", "Initial sum of weights", "Initial sum of weights squared"]
    assert cbk.axis().edges().tolist() == [0.5, 1.5, 2.5, 3.5]
    n, sumw, sumw2 = cbk.values()
    w0 = ak.to_numpy(weights[:, 0]).astype(np.float64)
    assert n == 100
    assert sumw == pytest.approx(w0.sum(), rel=1e-6)
    assert sumw2 == pytest.approx((w0 * w0).sum(), rel=1e-6)
    kept = np.isin(ak.to_numpy(_read_input(src, "EventInfo", "eventNumber")),
                   f["reco"]["eventNumber"].array(library="np"))
    assert ak.all(f["reco"]["weight_mc_NOSYS"].array() == weights[:, 0][kept])
    marker = json.loads(str(f["topcp_emulator"]))
    if names:
        assert marker["cutbookkeepers"].startswith("from the input's MetaData")
        meta = uproot.open(src)["MetaData"]
        key = "CutBookkeepersAux./CutBookkeepersAux."
        stored = ak.to_list(meta[key + "sumOfEventWeights"].array()[0])
        assert sumw == pytest.approx(stored[ak.to_list(meta[key + "name"].array()[0]).index("AllExecutedEvents")])
        index, sysname = names.index("MUR0.5_MUF0.5_PDF260000"), "GEN_MUR05_MUF05_PDF260000"
    else:
        assert marker["cutbookkeepers"].startswith("from the processed events")
        index, sysname = 1, "GEN_w001"
    gen = f[f"CutBookkeeper_{dsid}_{run}_{sysname}"].values()[1]
    assert gen == pytest.approx(ak.to_numpy(weights[:, index]).astype(np.float64).sum(), rel=1e-6)


def test_cutbookkeepers_count_the_file_not_the_processed_events(tmp_path, testdata, ttbar_configs):
    if not testdata.rntuple_is_real:  # neither the TTree file nor its copy store CutBookkeepers
        pytest.skip("needs the mc23 RNTuple of ../shared/testdata, the one file with CutBookkeepers "
                    "in its MetaData")
    rc, out = _run(tmp_path, [testdata.rntuple], ttbar_configs["reco"].parent, "--no-systematics",
                   "-e", "40")
    assert rc == 0
    f = uproot.open(out)
    assert f["CutBookkeeper_601229_450000_NOSYS"].values()[0] == 100  # AllExecutedEvents, not 40
    assert not [k for k in f.keys() if k.startswith("CutBookkeeper_") and "GEN_" in k]  # --no-systematics


def test_no_systematics_writes_nominal_only(no_or_run):
    _, out = no_or_run
    f = uproot.open(out)
    names = f["reco"].keys()
    assert not [n for n in names if "__1up" in n or "__1down" in n or "GEN_" in n]
    assert f["listOfSystematics"].axis().labels() == ["NOSYS"]
    assert not [k for k in f.keys() if k.startswith("CutBookkeeper_") and "GEN_" in k]


def test_filter_systematics_is_a_full_match_regex(tmp_path, physlite_rntuple, ttbar_configs):
    def edit(reco):
        reco["CommonServices"]["filterSystematics"] = "JET_JER_.*"
    rc, out = _run(tmp_path, [physlite_rntuple], _config_dir(tmp_path, ttbar_configs, edit))
    assert rc == 0
    labels = uproot.open(out)["listOfSystematics"].axis().labels()
    assert labels[0] == "NOSYS" and len(labels) == 1 + 2 * 26  # 13 JER NPs (DataVsMC, EffectiveNP_1..12restTerm), each also _PseudoData
    assert all(x.startswith("JET_JER_") for x in labels[1:])
    assert labels[1:3] == ["JET_JER_DataVsMC_MC16__1up", "JET_JER_DataVsMC_MC16__1down"]


def test_list_of_systematics_only_for_configured_objects(tmp_path, physlite_ttree, ttbar_configs):
    def edit(reco):
        for block in ("Muons", "MissingET", "OverlapRemoval"):
            reco.pop(block)
        reco["EventSelection"][0]["selectionCutsDict"] = {"twojets": "JET_N 30000 >= 2\nSAVE\n"}
        reco["EventSelection"][0].pop("muons")
        reco["EventSelection"][0].pop("met")
        reco["Thinning"] = [th for th in reco["Thinning"] if th["containerName"] != "AnaMuons"]
        reco["Output"]["containers"].pop("mu_")
        reco["Output"]["containers"].pop("met_")
    rc, out = _run(tmp_path, [physlite_ttree], _config_dir(tmp_path, ttbar_configs, edit))
    assert rc == 0
    labels = uproot.open(out)["listOfSystematics"].axis().labels()
    assert not [x for x in labels if x.startswith(("MUON_", "MET_"))]
    # Run-2 geometry: the Summer2023 (mc20) JES names
    assert "JET_PunchThrough_MC16__1up" in labels and "JET_FCal_MC23_NonClosure_PreRec__1up" not in labels
    assert "EG_SCALE_ALL__1up" in labels


def test_rerun_gives_identical_content(tmp_path, physlite_ttree, ttbar_configs):
    cfg = ttbar_configs["reco"].parent
    outs = [_run(tmp_path / f"r{i}", [physlite_ttree], cfg, "--no-systematics")[1] for i in range(2)]
    a, b = (uproot.open(p) for p in outs)
    assert a.keys() == b.keys()
    for key, cls in a.classnames().items():
        if cls == "TTree":
            assert ak.all(ak.Array(a[key].arrays()) == ak.Array(b[key].arrays())) if a[key].num_entries else True
            assert a[key].keys() == b[key].keys()
        elif cls.startswith("TH1"):
            assert np.array_equal(a[key].values(), b[key].values())
            assert a[key].axis().labels() == b[key].axis().labels()
        else:
            assert str(a[key]) == str(b[key])


def test_particle_level_tree_from_truth(tmp_path, physlite_rntuple, ttbar_configs, capsys):
    rc, out = _run(tmp_path, [physlite_rntuple], ttbar_configs["reco"].parent, "--particle",
                   "--no-systematics")
    assert rc == 0
    f = uproot.open(out)
    t = f["particleLevel"]
    names = set(t.keys())
    # Output.containers 'PL_': 'EventInfo' prefixes the event decorations (weight_mc,
    # pass_*); Output.vars keep their explicit names
    for b in ("PL_el_pt", "PL_mu_pt", "PL_jet_pt", "PL_nu_pt", "PL_met_met_NOSYS", "PL_pass_ejets_NOSYS",
              "PL_weight_mc_NOSYS", "eventNumber", "runNumber", "mcChannelNumber"):
        assert b in names, b
    assert "weight_mc_NOSYS" not in names and "PL_eventNumber" not in names
    # PL_OverlapRemoval adds its decision to the selections, never as a branch of its own
    assert not [n for n in names if "passesOR" in n or "select_or" in n]
    jets = t.arrays(["PL_jet_pt", "PL_jet_eta"])
    assert ak.all(jets.PL_jet_pt > 25000) and ak.all(abs(jets.PL_jet_eta) < 2.5)
    assert "listOfSystematicsParticleLevel" in f


def test_eventloop_line_counts_events(tmp_path, physlite_ttree, ttbar_configs, capsys):
    rc, _ = _run(tmp_path, [physlite_ttree], ttbar_configs["reco"].parent, "--no-systematics", "-e", "40")
    assert rc == 0
    out = capsys.readouterr().out
    assert f"Package.EventLoop        INFO    Processing events 0-40 in file {physlite_ttree}" in out


def test_absent_tagger_warns_and_flags_are_false(tmp_path, physlite_ttree, ttbar_configs, capsys):
    def edit(reco):
        reco["Jets"][0]["FlavourTagging"] = [{"btagger": "GN2v01", "btagWP": "FixedCutBEff_77"}]
        reco["Jets"][0].pop("FlavourTaggingEventSF")
        reco["EventSelection"][0]["btagDecoration"] = "ftag_select_GN2v01_FixedCutBEff_77"
        reco["EventSelection"][0]["noFilter"] = True
    rc, out = _run(tmp_path, [physlite_ttree], _config_dir(tmp_path, ttbar_configs, edit), "--no-systematics")
    assert rc == 0
    assert "b-tagger GN2v01" in capsys.readouterr().out
    flags = uproot.open(out)["reco"]["jet_GN2v01_FixedCutBEff_77_select"].array()
    assert ak.sum(flags) == 0 and ak.sum(ak.num(flags)) > 0


def test_strict_refuses_blocks_it_cannot_emulate(tmp_path, physlite_ttree, ttbar_configs, capsys):
    rc, out = _run(tmp_path, [physlite_ttree], ttbar_configs["reco"].parent, "--strict")
    assert rc != 0 and not out.exists()
    assert "FlavourTaggingEventSF" in capsys.readouterr().err


def test_missing_input_file_is_one_clear_error(tmp_path, ttbar_configs, capsys):
    rc, out = _run(tmp_path, [tmp_path / "nope.root"], ttbar_configs["reco"].parent)
    assert rc != 0 and not out.exists()
    err = capsys.readouterr().err
    assert "nope.root does not exist" in err
    assert not list(tmp_path.glob("*.tmp"))


def test_not_physlite_input_is_rejected(tmp_path, ttbar_configs, capsys):
    bogus = tmp_path / "bogus.root"
    with uproot.recreate(bogus) as f:
        f["events"] = {"x": np.arange(3)}
    rc, out = _run(tmp_path, [bogus], ttbar_configs["reco"].parent)
    assert rc != 0 and not out.exists()
    assert "is not PHYSLITE" in capsys.readouterr().err
    text = tmp_path / "text.root"
    text.write_text("not root at all")
    rc, out = _run(tmp_path, [text], ttbar_configs["reco"].parent)
    assert rc != 0 and not out.exists()
    assert "not a readable ROOT file" in capsys.readouterr().err


def test_bad_config_is_rejected_with_the_validator_messages(tmp_path, physlite_ttree, ttbar_configs, capsys):
    from topcp_codegen.validation import validate

    def edit(reco):
        reco["Jets"][0]["PtEtaSelection"]["minPt"] = 25000  # int, TextConfig wants float
        reco["Bogus"] = {}
    cfg = _config_dir(tmp_path, ttbar_configs, edit)
    expected = [str(e) for e in validate({"reco.yaml": (cfg / "reco.yaml").read_text()})
                if e.severity == "error"]
    assert expected
    rc, out = _run(tmp_path, [physlite_ttree], cfg)
    assert rc == 2 and not out.exists()
    err = capsys.readouterr().err
    for line in expected:
        assert line in err


def test_output_commands_disable_and_rename(tmp_path, physlite_rntuple, ttbar_configs, capsys):
    """Commands act on the names without systematic suffix, by re.match (a prefix match)."""
    def edit(reco):
        reco["Output"]["commands"] = ["disable jet_e$", "rename el_charge el_q", "disable jet_pt",
                                      "disable trigPassed_"]
    rc, out = _run(tmp_path, [physlite_rntuple], _config_dir(tmp_path, ttbar_configs, edit))
    assert rc == 0
    names = set(uproot.open(out)["reco"].keys())
    assert not [n for n in names if n.startswith(("jet_e_", "jet_pt_"))] and "jet_eta" in names
    assert "el_q" in names and "el_charge" not in names
    assert "'disable trigPassed_' matches no output variable the emulator writes" in capsys.readouterr().out


def test_output_command_with_a_systematic_suffix_fails_as_in_the_release(tmp_path, physlite_ttree,
                                                                       ttbar_configs, capsys):
    def edit(reco):
        reco["Output"]["commands"] = ["disable jet_pt_NOSYS"]
    rc, out = _run(tmp_path, [physlite_ttree], _config_dir(tmp_path, ttbar_configs, edit), "--no-systematics")
    assert rc != 0 and not out.exists()
    assert "KeyError('unknown branch pattern for disable: jet_pt_NOSYS')" in capsys.readouterr().err


def test_remote_input_names_the_missing_package(tmp_path, ttbar_configs, monkeypatch, capsys):
    import topcp_science.emulator.inputs as inputs

    real = inputs.importlib.util.find_spec
    monkeypatch.setattr(inputs.importlib.util, "find_spec",
                        lambda name, *a: None if name == "fsspec_xrootd" else real(name, *a))
    rc, out = _run(tmp_path, ["root://eos.example//store/file.root"], ttbar_configs["reco"].parent)
    assert rc != 0 and not out.exists()
    assert "fsspec-xrootd" in capsys.readouterr().err


def test_unknown_selection_in_a_cut_is_a_clear_error(tmp_path, physlite_ttree, ttbar_configs, capsys):
    def edit(reco):
        reco["EventSelection"][0]["selectionCutsDict"]["ejets"] = "EL_N medium 25000 >= 1\nSAVE\n"
    rc, out = _run(tmp_path, [physlite_ttree], _config_dir(tmp_path, ttbar_configs, edit))
    err = capsys.readouterr().err
    assert rc != 0 and not out.exists()
    assert "no selection 'medium'" in err and "tight" in err


def test_parton_level_writes_event_variables_and_reports_the_history_skipped(
        tmp_path, physlite_rntuple, ttbar_configs):
    rc, out = _run(tmp_path, [physlite_rntuple], ttbar_configs["reco"].parent, "--parton", "--no-reco")
    assert rc == 0
    f = uproot.open(out)
    assert "reco" not in f
    t = f["truth"]
    assert t.num_entries == 100
    assert {"eventNumber", "runNumber", "mcChannelNumber", "weight_mc_NOSYS"} <= set(t.keys())
    assert "parton.yaml:PartonHistory" in json.loads(str(f["topcp_emulator"]))["skipped"]
    assert "listOfSystematicsPartonLevel" in f
