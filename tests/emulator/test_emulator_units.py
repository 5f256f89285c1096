"""The emulator's building blocks on small hand-made events, where the right answer is obvious."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot
from topcp_science.emulator import cuts as cutlib
from topcp_science.emulator import fast_tree_header
from topcp_science.emulator import jagged as jg
from topcp_science.emulator.errors import EmulatorError
from topcp_science.emulator.ftag import discriminant, quantile, tag
from topcp_science.emulator.naming import event_cutflow_name, ftag_output_name, or_naming
from topcp_science.emulator.objects import cluster_eta_be2, pt_eta_mask
from topcp_science.emulator.output import ContainerOut, Deco, Decorations, assemble, parse_output
from topcp_science.emulator.overlap import ORInput, overlap_removal
from topcp_science.emulator.selection import (
    cutflow_label,
    evaluate_regions,
    parse_event_selection,
    selection_mask,
)
from topcp_science.emulator.syscatalog import jet_variations, met_variations, muon_variations
from topcp_science.emulator.systematics import (
    NOSYS,
    generator_weights,
    plan_systematics,
    weight_name_to_sys,
)


def _collection(pts, etas, phis, charges, selected=None) -> cutlib.Collection:
    layout, pt = jg.split(ak.Array(pts))
    sel = jg.split(ak.Array(selected))[1] if selected is not None else pt > 0
    return cutlib.Collection(layout, pt.astype(float), jg.split(ak.Array(etas))[1].astype(float),
                             jg.split(ak.Array(phis))[1].astype(float), np.zeros(len(pt)),
                             jg.split(ak.Array(charges))[1].astype(float), sel, {"": sel}, {})


def _ctx(met=None, met_phi=None, **collections) -> cutlib.EventContext:
    n = next(iter(collections.values())).layout.n_events
    return cutlib.EventContext(n, collections, None if met is None else np.asarray(met, float),
                               None if met_phi is None else np.asarray(met_phi, float), np.zeros(n), {}, None,
                               event_number=np.arange(100, 100 + n))


def _eval(text: str, ctx: cutlib.EventContext, reaching=None) -> np.ndarray:
    (cut,) = cutlib.parse_region(text, "test")
    return cutlib.evaluate_cut(ctx, cut, lambda _m: None, reaching=reaching, region="r")


def test_mll_window_and_opposite_sign():
    # event 0: Z-like pair (m ~ 91 GeV), opposite sign; event 1: same sign, m ~ 40 GeV; event 2: one lepton
    el = _collection([[45600.0, 45600.0], [20000.0, 20000.0], [30000.0]],
                     [[0.0, 0.0], [0.0, 0.0], [0.0]],
                     [[0.0, np.pi], [0.0, np.pi], [0.0]],
                     [[-1.0, 1.0], [1.0, 1.0], [1.0]])
    ctx = _ctx(electrons=el)
    two = np.array([True, True, False])  # the events that reach the cut (event 2 has one lepton)
    assert _eval("MLLWINDOW 80000 100000", ctx, two).tolist()[:2] == [True, False]
    assert _eval("MLLWINDOW 80000 100000 veto", ctx, two).tolist()[:2] == [False, True]
    assert _eval("OS", ctx, two).tolist()[:2] == [True, False]
    assert _eval("SS", ctx, two).tolist()[:2] == [False, True]
    assert _eval("MLL > 50000", ctx, two).tolist()[:2] == [True, False]
    assert _eval("EL_N 25000 >= 1", ctx).tolist() == [True, False, True]


@pytest.mark.parametrize("text", ["MLL > 50000", "MLLWINDOW 80000 100000", "OS", "SS"])
def test_dilepton_cuts_stop_the_job_without_exactly_two_leptons_like_the_release(text):
    # DileptonInvariantMass(Window)SelectorAlg / ChargeSelectorAlg: "Exactly two leptons are
    # required ..." and StatusCode::FAILURE for an event that reaches them with 1 or 3 leptons
    el = _collection([[45600.0, 45600.0], [30000.0], [30000.0, 30000.0, 30000.0]],
                     [[0.0, 0.0], [0.0], [0.0, 0.5, 1.0]], [[0.0, np.pi], [0.0], [0.0, 1.0, 2.0]],
                     [[-1.0, 1.0], [1.0], [1.0, -1.0, 1.0]])
    ctx = _ctx(electrons=el)
    _eval(text, ctx, np.array([True, False, False]))  # only the two-lepton event reaches it: fine
    for reaching in ([True, True, False], [True, False, True]):
        with pytest.raises(EmulatorError, match="Exactly two leptons are required"):
            _eval(text, ctx, np.array(reaching))
    # an event removed by EventCleaning's filter never reaches a selector algorithm
    ctx.live = np.array([True, False, False])
    _eval(text, ctx, np.array([True, True, True]))


def test_mll_window_takes_low_and_high_as_written():
    # EventSelectionConfig: lowMLL = items[1], highMLL = items[2]; the algorithm keeps
    # low < mll < high, so 'MLLWINDOW 100000 80000' (as in exampleTtbarLjets) selects nothing
    el = _collection([[45600.0, 45600.0]], [[0.0, 0.0]], [[0.0, np.pi]], [[-1.0, 1.0]])
    ctx = _ctx(electrons=el)
    assert _eval("MLLWINDOW 80000 100000", ctx).tolist() == [True]
    assert _eval("MLLWINDOW 100000 80000", ctx).tolist() == [False]
    assert _eval("MLLWINDOW 100000 80000 veto", ctx).tolist() == [True]


def test_mll_ossf_looks_at_every_same_flavour_opposite_charge_pair():
    # DileptonOSSFInvariantMassWindowSelectorAlg: pairs of selected electrons, then of selected
    # muons, opposite charge, low < mll < high; no requirement on the number of leptons
    el = _collection([[45600.0, 45600.0], [60000.0, 45600.0, 45600.0], [45600.0]],
                     [[0.0, 0.0], [2.0, 0.0, 0.0], [0.0]], [[0.0, np.pi], [1.0, 0.0, np.pi], [0.0]],
                     [[-1.0, 1.0], [-1.0, -1.0, 1.0], [-1.0]])
    mu = _collection([[], [], [45600.0]], [[], [], [0.0]], [[], [], [np.pi]], [[], [], [1.0]])
    ctx = _ctx(electrons=el, muons=mu)
    # event 0: the e+e- Z pair; event 1: the Z pair is not the two leading electrons;
    # event 2: e- mu+ at the Z mass is not same flavour
    assert _eval("MLL_OSSF 80000 100000", ctx).tolist() == [True, True, False]
    assert _eval("MLL_OSSF 80000 100000 veto", ctx).tolist() == [False, False, True]


def test_counts_use_pt_at_least_and_the_named_selection():
    el = _collection([[30000.0, 40000.0], [25000.0]], [[0.0, 0.0], [0.0]], [[0.0, 1.0], [0.0]],
                     [[1.0, -1.0], [1.0]])
    el.by_name = {"": el.selected, "tight": np.array([True, False, True])}
    ctx = _ctx(electrons=el)
    assert _eval("EL_N 25000 >= 1", ctx).tolist() == [True, True]  # NObjectPtSelectorAlg: pT >= minPt
    assert _eval("EL_N tight 25000 == 1", ctx).tolist() == [True, True]
    with pytest.raises(EmulatorError, match="no selection 'medium'"):
        _eval("EL_N medium 25000 == 1", ctx)


def test_mwt_uses_the_first_lepton_in_container_order_and_aborts_like_the_release():
    # the second electron has the higher pT; the release takes the first one
    el = _collection([[30000.0, 60000.0], [40000.0], []], [[0.0, 0.0], [0.0], []],
                     [[0.0, 0.0], [0.0], []], [[1.0, 1.0], [1.0], []])
    mu = _collection([[], [35000.0], []], [[], [0.0], []], [[], [1.0], []], [[], [1.0], []])
    ctx = _ctx(met=[40000.0, 40000.0, 40000.0], met_phi=[np.pi, np.pi, np.pi], electrons=el, muons=mu)
    only_first = np.array([True, False, False])
    mwt = _eval("MWT > 60000", ctx, reaching=only_first)
    assert mwt[0]  # sqrt(2 * 30 * 40 * 2) = 69 GeV from the first electron (the leading one gives 98)
    assert not _eval("MWT > 80000", ctx, reaching=only_first)[0]
    with pytest.raises(EmulatorError, match="More than one lepton"):  # event 1: an electron and a muon
        _eval("MWT > 30000", ctx, reaching=np.array([True, True, False]))
    with pytest.raises(EmulatorError, match="No charged lepton"):  # event 2: none
        _eval("MET+MWT > 60000", ctx, reaching=np.array([True, False, True]))


def _regions(dicts: dict[str, str]) -> list:
    return parse_event_selection([{"electrons": "E", "jets": "J", "selectionCutsDict": dicts}], "reco.yaml")


def test_import_chains_the_decision_but_the_cutflow_jumps_back():
    sets = _regions({
        "SUBcommon": "JET_N 25000 >= 2\nSAVE\n",
        "ejets": "EL_N 25000 >= 1\nIMPORT SUBcommon\nJET_N 25000 >= 3\nSAVE\n",
    })
    # events: 0 = 1 el, 3 jets; 1 = 0 el, 3 jets; 2 = 1 el, 1 jet
    el = _collection([[30000.0], [], [30000.0]], [[0.0], [], [0.0]], [[0.0], [], [0.0]], [[1.0], [], [1.0]])
    j3 = [30000.0, 30000.0, 30000.0]
    jets = _collection([j3, j3, [30000.0]], [[0.0] * 3, [0.0] * 3, [0.0]], [[0.0] * 3, [0.0] * 3, [0.0]],
                       [[0.0] * 3, [0.0] * 3, [0.0]])
    ctx = _ctx(electrons=el, jets=jets)
    res = evaluate_regions(sets, [ctx], lambda _m: None)
    assert res.decisions["ejets"].tolist() == [True, False, False]
    flow = res.cutflows["ejets"]
    assert [d for d, _ in flow] == ["ejets_NEL_1_%SYS%", "SUBcommon_NJET_1_%SYS%", "ejets_NJET_3_%SYS%"]
    # the imported bin counts SUBcommon's own cut (events 0 and 1), not after EL_N (event 0 only)
    assert [int(m.sum()) for _, m in flow] == [2, 2, 1]
    assert cutflow_label("ejets_NEL_1_%SYS%") == "ejets_NEL_1_%SYS%,as_char"


def test_the_preselection_option_starts_every_region_of_its_instance():
    # EventSelectionConfig.makeAlgs: currentDecoration = self.preselection, so the flag is the
    # preselection of the first cut and part of the SAVE decision
    sets = parse_event_selection([
        {"electrons": "E", "jets": "J", "selectionCutsDict": {"SUBjets": "JET_N 25000 >= 2\nSAVE\n"}},
        {"electrons": "E", "jets": "J", "preselection": "pass_SUBjets_%SYS%",
         "selectionCutsDict": {"ejets": "EL_N 25000 >= 1\nSAVE\n"}},
    ], "reco.yaml")
    # events: 0 = 1 el, 2 jets; 1 = 1 el, 1 jet; 2 = 0 el, 2 jets
    el = _collection([[30000.0], [30000.0], []], [[0.0], [0.0], []], [[0.0], [0.0], []], [[1.0], [1.0], []])
    j2 = [30000.0, 30000.0]
    jets = _collection([j2, [30000.0], j2], [[0.0] * 2, [0.0], [0.0] * 2], [[0.0] * 2, [0.0], [0.0] * 2],
                       [[0.0] * 2, [0.0], [0.0] * 2])
    flags: dict = {}
    contexts = []
    for _ in sets:
        ctx = _ctx(electrons=el, jets=jets)
        ctx.flags = flags  # one EventInfo for every instance
        contexts.append(ctx)
    res = evaluate_regions(sets, contexts, lambda _m: None)
    assert res.decisions["ejets"].tolist() == [True, False, False]
    assert [int(m.sum()) for _, m in res.cutflows["ejets"]] == [1]


def test_debug_mode_is_reported_as_not_emulated():
    # the release adds one EventInfo output branch per cut decoration with debugMode
    sets = parse_event_selection([{"electrons": "E", "debugMode": True,
                                   "selectionCutsDict": {"r": "EL_N 25000 >= 1\nSAVE\n"}}],
                                 "reco.yaml")
    el = _collection([[30000.0]], [[0.0]], [[0.0]], [[1.0]])
    said: list[str] = []
    evaluate_regions(sets, [_ctx(electrons=el)], said.append)
    assert any("debugMode is not emulated" in m and "EventSelection[0]" in m for m in said)


def test_pass_flag_is_the_decision_at_the_save_line():
    # add_SAVE: SaveFilterAlg.selection = the running decoration when SAVE is read
    sets = _regions({"r": "EL_N 25000 >= 1\nSAVE\nJET_N 25000 >= 2\n"})
    el = _collection([[30000.0], [30000.0]], [[0.0], [0.0]], [[0.0], [0.0]], [[1.0], [1.0]])
    jets = _collection([[30000.0], [30000.0, 30000.0]], [[0.0], [0.0] * 2], [[0.0], [0.0] * 2],
                       [[0.0], [0.0] * 2])
    res = evaluate_regions(sets, [_ctx(electrons=el, jets=jets)], lambda _m: None)
    assert res.decisions["r"].tolist() == [True, True]
    assert [int(m.sum()) for _, m in res.cutflows["r"]] == [2, 1]


def test_import_takes_every_earlier_decoration_starting_with_the_region_name():
    sets = _regions({"SUB": "JET_N 25000 >= 1\nSAVE\n", "SUBx": "EL_N 25000 >= 1\nSAVE\n",
                     "sr": "IMPORT SUB\nSAVE\n"})
    el = _collection([[30000.0]], [[0.0]], [[0.0]], [[1.0]])
    jets = _collection([[30000.0]], [[0.0]], [[0.0]], [[0.0]])
    res = evaluate_regions(sets, [_ctx(electrons=el, jets=jets)], lambda _m: None)
    # EventSelectionConfig.add_IMPORT: cut.startswith(region) also picks SUBx's cut
    assert [d for d, _ in res.cutflows["sr"]] == ["SUB_NJET_1_%SYS%", "SUBx_NEL_1_%SYS%"]


def test_import_cycles_and_unknown_regions_are_errors():
    with pytest.raises(EmulatorError, match="IMPORT cycle"):
        _regions({"A": "IMPORT B\n", "B": "IMPORT A\n"})
    with pytest.raises(EmulatorError, match="unknown region C"):
        _regions({"A": "IMPORT C\n"})


def test_overlap_removal_standard_chain():
    # one event: an electron and a jet on top of it (jet removed), a second jet far away
    # (kept), and a muon close to that second jet (muon removed by mu-jet 0.4).
    def inp(eta, phi):
        layout, e = jg.split(ak.Array(eta))
        return ORInput(layout, e.astype(float), jg.split(ak.Array(phi))[1].astype(float), np.ones(len(e), bool))
    passed = overlap_removal({"electrons": inp([[0.0]], [[0.0]]), "jets": inp([[0.05, 2.0]], [[0.0, 1.0]]),
                              "muons": inp([[2.0]], [[1.3]])})
    assert passed["electrons"].tolist() == [True]
    assert passed["jets"].tolist() == [False, True]
    assert passed["muons"].tolist() == [False]


def test_selection_expressions():
    sels = {"": np.array([True, True, False]), "a": np.array([True, False, True]),
            "b": np.array([False, True, True])}
    assert selection_mask(sels, "a||b", "t").tolist() == [True, True, False]
    assert selection_mask(sels, "a&&b", "t").tolist() == [False, False, False]
    with pytest.raises(EmulatorError, match="selection 'c'"):
        selection_mask(sels, "c", "t")


def test_pt_eta_boundaries_follow_asg_pt_eta_selection_tool():
    pt = np.array([25000.0, 25000.0, 30000.0, 30000.0])
    eta = np.array([2.47, 1.37, 2.48, 1.52])
    assert pt_eta_mask(pt, eta, None, {"minPt": 25000.0, "maxEta": 2.47}).tolist() == [True, True, False, True]
    gap = {"etaGapLow": 1.37, "etaGapHigh": 1.52}
    assert pt_eta_mask(pt, eta, None, gap).tolist() == [True, False, True, False]  # [low, high] removed
    cluster = np.array([2.40, 1.30, 2.40, 1.60])
    assert pt_eta_mask(pt, eta, None, {"maxEta": 2.47, "useClusterEta": True},
                       cluster).tolist() == [True, True, True, True]


def test_cluster_eta_be2_uses_the_layer_2_samplings_of_the_pattern():
    # cluster 0: barrel PS,EMB1,EMB2,EMB3 (0x0f); cluster 1: end-cap 0xf0; cluster 2: both EMB2
    # and EME2 (0x44) -> energy-weighted; cluster 3: only EMB1 -> -999
    pattern = ak.Array([[0x0F, 0xF0, 0x44, 0x02]])
    e = ak.Array([[[1.0, 2.0, 30.0, 4.0], [1.0, 2.0, 50.0, 4.0], [300.0, 100.0], [5.0]]])
    eta = ak.Array([[[0.1, 0.2, 0.3, 0.4], [1.6, 1.7, 1.8, 1.9], [1.40, 1.60], [0.5]]])
    electrons = jg.Layout(np.array([0, 4]))
    got = cluster_eta_be2(electrons, np.array([0, 1, 2, 3]), pattern, e, eta)
    assert got[:2].tolist() == pytest.approx([0.3, 1.8])
    assert got[2] == pytest.approx((300 * 1.40 + 100 * 1.60) / 400)
    assert got[3] == -999.0


def test_btag_discriminant_cut_and_acceptance():
    scores = {"pb": np.array([0.9, 0.01, 0.9]), "pc": np.array([0.05, 0.09, 0.05]),
              "pu": np.array([0.05, 0.9, 0.05])}
    d = discriminant("DL1dv01", scores)
    fc = 0.018
    assert d[0] == pytest.approx(np.log(0.9 / (fc * 0.05 + (1 - fc) * 0.05)))
    eta = np.array([0.5, 0.5, 2.6])  # the third jet is beyond the tool's MaxEta 2.5
    assert tag("DL1dv01", "FixedCutBEff_77", d, eta).tolist() == [True, False, False]
    q = quantile("DL1dv01", d, eta).tolist()
    assert q[1] == 1 and q[2] == -1 and 1 < q[0] <= 5  # DL1dv01: 85/77/70/60 -> bins 1..5


def test_jagged_kernels():
    a = jg.Layout(np.array([0, 2, 2, 3]))
    mask = np.array([False, True, True])
    assert jg.count(a, mask).tolist() == [1, 0, 1]
    assert jg.first(a, mask).tolist() == [1, -1, 2]
    # ElementLink-style gather: jets of event 0 point at b-tag entries 1 and 0
    btag = jg.Layout(np.array([0, 2, 2, 3]))
    assert jg.gather_in_event(btag, np.array([10.0, 11.0, 12.0]), a, np.array([1, 0, 0])).tolist() == [11, 10, 12]


def test_generator_weight_names_follow_the_pmg_tool():
    assert weight_name_to_sys("nominal") == ""
    assert weight_name_to_sys(" MUR=0.5 MUF=1.0 PDF=303200 ") == "GEN_MUR05_MUF10_PDF303200"
    assert weight_name_to_sys("isr:muRfac=0.5") == "GEN_isrmuRfac05"
    w = generator_weights(3, ["Default", "nominal", "MUR2_MUF2"])
    # NOSYS is index 0 (PMGTruthWeightTool maps the empty systematic to 0); "nominal" is no variation
    assert w.nominal == 0 and w.variations == (("GEN_Default", 0), ("GEN_MUR2_MUF2", 2))
    assert generator_weights(3, None).names() == ["GEN_w001", "GEN_w002"]


def test_jet_systematic_names_are_the_release_ones():
    run3 = {v.name for v in jet_variations("Category", "Full", "Run3", lambda _m: None)}
    run2 = {v.name for v in jet_variations("Category", "Full", "Run2", lambda _m: None)}
    assert "JET_EffectiveNP_Modelling1__1up" in run3 and "JET_JER_EffectiveNP_12restTerm_PseudoData__1down" in run3
    assert "JET_FCal_MC23_NonClosure_PreRec__1up" in run3 - run2
    assert "JET_PunchThrough_MC16__1up" in run2 - run3
    assert not [n for n in run3 | run2 if "EnergyScale" in n]
    assert len(run3) == 2 * (30 + 28)
    warnings: list[str] = []
    jet_variations("Global", "Simple", "Run3", warnings.append)
    assert warnings and "not known to the emulator" in warnings[0]
    assert [v.name for v in met_variations()] == ["MET_SoftTrk_ResoPara", "MET_SoftTrk_ResoPerp",
                                                   "MET_SoftTrk_ScaleDown", "MET_SoftTrk_ScaleUp"]
    assert "MUON_ID__1up" in {v.name for v in muon_variations("correctData_IDMS")}


def test_filter_systematics_replaces_the_categories():
    w = generator_weights(3, None)
    kin = muon_variations("correctData_CB") + met_variations()
    plan = plan_systematics({"onlySystematicsCategories": ["muons", "event"]}, enabled=True, weights=w,
                            kinematic=kin)
    assert {n for n in plan.names if n.startswith("MUON_")} and "GEN_w001" in plan.names
    assert not [n for n in plan.names if n.startswith("MET_")]
    both = plan_systematics({"onlySystematicsCategories": ["muons"], "filterSystematics": "MET_.*"},
                            enabled=True, weights=w, kinematic=kin)
    assert [n for n in both.names if n != NOSYS] == ["MET_SoftTrk_ResoPara", "MET_SoftTrk_ResoPerp",
                                                     "MET_SoftTrk_ScaleDown", "MET_SoftTrk_ScaleUp"]
    assert plan_systematics({"runSystematics": False}, enabled=True, weights=w, kinematic=kin).names == [NOSYS]
    assert plan_systematics({}, enabled=True, weights=w, kinematic=kin, generator=False).generator == []
    with pytest.raises(EmulatorError, match="invalid systematics category"):
        plan_systematics({"onlySystematicsCategories": ["bogus"]}, enabled=True, weights=w)


def _jet_decos() -> Decorations:
    decos = Decorations()
    decos.event["eventNumber"] = Deco({NOSYS: np.arange(2)}, False)
    decos.event["weight_mc_%SYS%"] = Deco({NOSYS: np.ones(2), "GEN_x": np.ones(2)}, True)
    decos.containers["OutJets"] = ContainerOut(jg.Layout(np.array([0, 1, 1])), {
        "pt_%SYS%": Deco({NOSYS: np.array([1.0]), "JET_X__1up": np.array([1.1])}, True),
        "eta": Deco({NOSYS: np.array([0.1])}, False),
        "select_baselineJvt_%SYS%": Deco({NOSYS: np.array([1], np.int8)}, True, selection_flag=True),
        "select_or_%SYS%": Deco({NOSYS: np.array([1], np.int8)}, True),
    })
    return decos


def _names(commands, *, is_mc=True):
    spec = parse_output({"containers": {"jet_": "OutJets", "": "EventInfo"}, "commands": commands,
                         "vars": ["EventInfo.eventNumber -> evt"]}, "reco.yaml", is_mc=is_mc)
    warnings: list[str] = []
    b = assemble(spec, _jet_decos(), warnings.append)
    return set(b.flat) | set(b.groups.get("jet_", (None, {}))[1]), warnings


def test_output_naming_rules():
    names, _ = _names([])
    assert names == {"eventNumber", "evt", "weight_mc_NOSYS", "weight_mc_GEN_x", "jet_pt_NOSYS", "jet_pt_JET_X__1up",
                     "jet_eta", "jet_select_baselineJvt_NOSYS", "jet_select_or_NOSYS"}
    spec = parse_output({"containers": {"jet_": "OutJets", "": "EventInfo"}, "alwaysAddNosys": True,
                         "storeSelectionFlags": False}, "reco.yaml")
    b = assemble(spec, _jet_decos(), lambda _m: None)
    assert "eventNumber_NOSYS" in b.flat and "jet_eta_NOSYS" in b.groups["jet_"][1]
    # storeSelectionFlags drops the selection summaries only, not OR's own output variable
    assert [n for n in b.groups["jet_"][1] if "select_" in n] == ["jet_select_or_NOSYS"]


def test_output_commands_match_unsuffixed_names_as_the_release():
    names, warnings = _names(["disable jet_pt"])  # prefix match on 'jet_pt': every systematic
    assert not [n for n in names if n.startswith("jet_pt")] and not warnings
    names, _ = _names(["disable jet_select"])  # prefix: both selection flags
    assert not [n for n in names if "select" in n]
    names, _ = _names(["disable jet_.*", "enable jet_eta"])
    assert {n for n in names if n.startswith("jet_")} == {"jet_eta"}
    names, _ = _names(["rename jet_pt jet_ptcalib"])  # re.sub on the unsuffixed name
    assert {"jet_ptcalib_NOSYS", "jet_ptcalib_JET_X__1up"} <= names and "jet_pt_NOSYS" not in names
    names, _ = _names(["disable evt"])  # Output.vars are not subject to commands ...
    assert "evt" in names
    with pytest.raises(EmulatorError, match="without their systematic suffix"):
        _names(["disable jet_pt_NOSYS"])  # ... and suffixed patterns match nothing: KeyError on MC
    names, _ = _names(["disable jet_pt_NOSYS"], is_mc=False)  # not checked on data
    assert "jet_pt_NOSYS" in names
    names, warnings = _names(["disable trigPassed_.*"])
    assert "matches no output variable the emulator writes" in warnings[0]
    assert not _names(["optional disable trigPassed_.*"])[1]
    with pytest.raises(EmulatorError, match="unknown command"):
        _names(["remove jet_pt"])
    with pytest.raises(EmulatorError, match="exactly one argument"):
        _names(["disable  jet_pt"])  # the release splits on single spaces


def test_overlap_removal_naming_rules():
    existing = {"tight", "baselineJvt"}
    one = or_naming({}, "jets", existing)
    assert (one.target, one.branch) == ("", None)  # folded everywhere, not written
    assert or_naming({"forceOROutputFlags": True}, "jets", existing).branch == "select_or"
    two = or_naming({}, "jets", existing, n_blocks=2)  # addToAllSelections None -> False
    assert (two.target, two.standalone, two.branch) == ("passesOR", True, "select_passesOR")
    label = or_naming({"outputLabel": "myOR", "addToAllSelections": False}, "electrons", existing)
    assert label.branch == "select_myOR"
    named = or_naming({"selectionName": "boosted"}, "muons", existing)
    assert (named.target, named.branch) == ("boosted", "select_or_boosted")
    onto = or_naming({"jetsSelectionName": "baselineJvt"}, "jets", existing)
    assert (onto.target, onto.standalone, onto.branch) == ("baselineJvt", False, None)
    own = or_naming({"jetsSelectionName": "orJets"}, "jets", existing)
    assert own.branch == "select_orJets"
    forced = or_naming({"forceOROutputFlags": True, "forceOROutputFlagName": "x"}, "jets", existing)
    assert forced.branch == "select_x"
    assert or_naming({"nominalOnly": True, "addToAllSelections": False}, "jets", existing).varying is False


def test_ftag_and_cutflow_names():
    assert ftag_output_name("ftag_select_GN2v01_FixedCutBEff_77") == "GN2v01_FixedCutBEff_77_select"
    assert ftag_output_name("ftag_quantile_GN2v01_Continuous") == "GN2v01_Continuous_quantile"
    assert ftag_output_name("charge") == "charge"
    assert event_cutflow_name("ejets", "NOSYS") == "cflow_EventInfo__ejets_NOSYS"


def test_fast_tree_header_writes_the_same_bytes_as_uproot(tmp_path):
    assert fast_tree_header.install()
    f = uproot.recreate(tmp_path / "t.root")
    types = {f"b{i}": np.float32 for i in range(50)}
    types["jets"] = ak.Array([[{"pt": 1.0, "eta": 0.5}]]).type
    f.mktree("t", types, counter_name=lambda c: "n" + c, field_name=lambda _o, i: i)
    tree = f["t"]._cascading
    assert b"".join(tree._build_out()) == b"".join(fast_tree_header.ORIGINAL(tree))
    f.close()


def test_exact_rntuple_reader_reads_only_the_needed_clusters(tmp_path):
    from topcp_science.emulator.inputs import exact_rntuple_arrays

    path = tmp_path / "clusters.root"
    with uproot.recreate(path) as out:
        for i in range(4):  # four clusters of 10 events
            block = {"AAuxDyn:x": ak.Array([[i + 0.5, 1.0], [], [2.0 * i]] * 3 + [[i * 1.0]]),
                     "EventInfoAuxDyn:eventNumber": np.arange(10, dtype=np.uint64) + 10 * i}
            if i == 0:
                out.mkrntuple("EventData", block)
            else:
                out["EventData"].extend(block)
    t = uproot.open(path, array_cache=None)["EventData"]
    assert [int(c.num_entries) for c in t.cluster_summaries] == [10, 10, 10, 10]
    exact = exact_rntuple_arrays(t)
    keys = ["AAuxDyn:x", "EventInfoAuxDyn:eventNumber"]
    for start, stop in [(0, 10), (10, 30), (0, 40), (9, 11), (5, 6), (30, 40), (0, 1)]:
        a = t.arrays(keys, entry_start=start, entry_stop=stop, library="ak")
        b = exact(keys, entry_start=start, entry_stop=stop, library="ak")
        assert a.fields == b.fields and len(a) == len(b) == stop - start
        assert all(ak.array_equal(a[k], b[k]) for k in keys)

    def clusters_read(fn) -> set[tuple[int, int]]:
        log: list = []
        ak.materialize(fn(filter_name=keys, entry_start=10, entry_stop=20, library="ak", virtual=True,
                          access_log=log))
        return {(x.cluster_start, x.cluster_stop) for x in log}

    # entries 10-20 are cluster 1: uproot 5.7 also reads cluster 2, the exact reader does not
    # (after an uproot fix the exact reader is simply uproot's own)
    assert clusters_read(exact) == {(1, 2)}
    assert clusters_read(t.arrays) in ({(1, 3)}, {(1, 2)})
    assert (exact != t.arrays) == (clusters_read(t.arrays) == {(1, 3)})


def test_primed_rntuple_field_lists_equal_uproots_own(physlite_rntuple, testdata):
    from topcp_science.emulator.inputs import prime_field_children

    primed = uproot.open(physlite_rntuple, array_cache=None)["EventData"]
    plain = uproot.open(physlite_rntuple, array_cache=None)["EventData"]
    assert prime_field_children(primed)
    n = len(plain.all_fields)
    # a real PHYSLITE (where uproot's own per-field scan is quadratic), or its smaller copy
    assert n > (2000 if testdata.rntuple_is_real else 1000)
    anonymous = [i for i, f in enumerate(plain.all_fields) if f.is_anonymous]
    sample = sorted(set(range(0, n, 23))
                    | {i for a in anonymous[:20] for i in (a, plain.field_records[a].parent_field_id)})
    for i in sample:  # uproot computes these lazily; compare field by field
        assert [f.name for f in primed.all_fields[i].fields] == [f.name for f in plain.all_fields[i].fields], i
    keys = ["AnalysisJetsAuxDyn:pt", "AnalysisJetsAuxDyn:btaggingLink"]
    if testdata.rntuple_is_real:  # the copy has no cluster links
        keys.append("AnalysisElectronsAuxDyn:caloClusterLinks")
    a = primed.arrays(keys, library="ak")  # (plain.arrays would spend ~20 s listing fields)
    assert a.fields == keys and all(ak.array_equal(a[k], plain[k].array(library="ak")) for k in keys)
