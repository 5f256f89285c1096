"""The emulator's building blocks on small hand-made events, where the right answer is obvious."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from topcp_science.emulator import cuts as cutlib
from topcp_science.emulator.errors import EmulatorError
from topcp_science.emulator.ftag import discriminant, quantile, tag
from topcp_science.emulator.naming import event_cutflow_name, ftag_output_name, or_naming
from topcp_science.emulator.output import Deco, Decorations, assemble, parse_output
from topcp_science.emulator.overlap import ORInput, overlap_removal
from topcp_science.emulator.selection import selection_mask
from topcp_science.emulator.systematics import (
    KINEMATIC,
    NOSYS,
    generator_weights,
    plan_systematics,
    weight_name_to_sys,
)


def _leptons(pts, etas, phis, charges, selected=None) -> cutlib.Collection:
    pt = ak.Array(pts)
    sel = ak.Array(selected) if selected is not None else pt > 0
    return cutlib.Collection(pt, ak.Array(etas), ak.Array(phis), ak.zeros_like(pt), ak.Array(charges),
                             sel, {"": sel}, {})


def _ctx(**collections) -> cutlib.EventContext:
    n = len(next(iter(collections.values())).pt)
    return cutlib.EventContext(n, collections, None, None, np.zeros(n), {}, None)


def _eval(text: str, ctx: cutlib.EventContext) -> np.ndarray:
    (cut,) = cutlib.parse_region(text, "test")
    return cutlib.evaluate_cut(ctx, cut, lambda _m: None)


def test_mll_window_and_opposite_sign():
    # event 0: Z-like pair (m ~ 91 GeV), opposite sign; event 1: same sign, m ~ 40 GeV; event 2: one lepton
    el = _leptons([[45600.0, 45600.0], [20000.0, 20000.0], [30000.0]],
                  [[0.0, 0.0], [0.0, 0.0], [0.0]],
                  [[0.0, np.pi], [0.0, np.pi], [0.0]],
                  [[-1.0, 1.0], [1.0, 1.0], [1.0]])
    ctx = _ctx(electrons=el)
    assert _eval("MLLWINDOW 80000 100000", ctx).tolist() == [True, False, False]
    assert _eval("MLLWINDOW 80000 100000 veto", ctx).tolist() == [False, True, False]
    assert _eval("OS", ctx).tolist() == [True, False, False]
    assert _eval("SS", ctx).tolist() == [False, True, False]
    assert _eval("MLL > 50000", ctx).tolist() == [True, False, False]
    assert _eval("EL_N 25000 >= 1", ctx).tolist() == [True, False, True]


def test_counts_use_the_named_selection_and_complain_about_unknown_ones():
    sel_tight = ak.Array([[True, False], [False]])
    el = _leptons([[30000.0, 40000.0], [50000.0]], [[0.0, 0.0], [0.0]], [[0.0, 1.0], [0.0]],
                  [[1.0, -1.0], [1.0]])
    el.by_name = {"": el.selected, "tight": sel_tight}
    ctx = _ctx(electrons=el)
    assert _eval("EL_N tight 25000 == 1", ctx).tolist() == [True, False]
    with pytest.raises(EmulatorError, match="no selection 'medium'"):
        _eval("EL_N medium 25000 == 1", ctx)


def test_imports_expand_recursively_and_cycles_are_errors():
    regions = {
        "SUBa": cutlib.parse_region("EL_N 25000 >= 1\nSAVE\n", "t"),
        "SUBb": cutlib.parse_region("IMPORT SUBa\nMET > 1000\n", "t"),
        "sr": cutlib.parse_region("IMPORT SUBb\nJET_N 25000 >= 4\nSAVE\n", "t"),
    }
    expanded = cutlib.expand_imports(regions, "t")
    assert [c.keyword for c in expanded["sr"]] == ["EL_N", "MET", "JET_N", "SAVE"]
    loop = {"A": cutlib.parse_region("IMPORT B\n", "t"), "B": cutlib.parse_region("IMPORT A\n", "t")}
    with pytest.raises(EmulatorError, match="IMPORT cycle"):
        cutlib.expand_imports(loop, "t")


def test_overlap_removal_standard_chain():
    # one event: an electron and a jet on top of it (jet removed), a second jet far away
    # (kept), and a muon close to that second jet (muon removed by mu-jet 0.4).
    el = ORInput(ak.Array([[0.0]]), ak.Array([[0.0]]), ak.Array([[True]]))
    jets = ORInput(ak.Array([[0.05, 2.0]]), ak.Array([[0.0, 1.0]]), ak.Array([[True, True]]))
    mu = ORInput(ak.Array([[2.0]]), ak.Array([[1.3]]), ak.Array([[True]]))
    passed = overlap_removal({"electrons": el, "jets": jets, "muons": mu})
    assert passed["electrons"].tolist() == [[True]]
    assert passed["jets"].tolist() == [[False, True]]
    assert passed["muons"].tolist() == [[False]]


def test_selection_expressions():
    sels = {"": ak.Array([[True, True, False]]), "a": ak.Array([[True, False, True]]),
            "b": ak.Array([[False, True, True]])}
    assert selection_mask(sels, "a||b", "t").tolist() == [[True, True, False]]
    assert selection_mask(sels, "a&&b", "t").tolist() == [[False, False, False]]
    with pytest.raises(EmulatorError, match="selection 'c'"):
        selection_mask(sels, "c", "t")


def test_btag_discriminant_formula():
    scores = {"pb": ak.Array([[0.9, 0.01]]), "pc": ak.Array([[0.05, 0.09]]), "pu": ak.Array([[0.05, 0.9]])}
    d = discriminant("DL1dv01", scores)
    fc = 0.018
    expected = np.log(0.9 / (fc * 0.05 + (1 - fc) * 0.05))
    assert d[0, 0] == pytest.approx(expected)
    assert tag("DL1dv01", "FixedCutBEff_77", d).tolist() == [[True, False]]
    assert quantile("DL1dv01", d).tolist()[0][1] == 1


def test_generator_weight_names_follow_topcp():
    assert weight_name_to_sys("nominal") == ""
    assert weight_name_to_sys(" MUR=0.5 MUF=1.0 PDF=303200 ") == "GEN_MUR05_MUF10_PDF303200"
    assert weight_name_to_sys("isr:muRfac=0.5") == "GEN_isrmuRfac05"
    w = generator_weights(3, ["Default", "nominal", "MUR2_MUF2"])
    assert w.nominal == 1 and w.names() == ["GEN_Default", "GEN_MUR2_MUF2"]
    assert generator_weights(3, None).names() == ["GEN_w001", "GEN_w002"]


def test_filter_and_categories():
    w = generator_weights(3, None)
    plan = plan_systematics({"onlySystematicsCategories": ["muons", "event"]}, enabled=True, weights=w)
    assert plan.names == [NOSYS, "MUON_SCALE__1down", "MUON_SCALE__1up", "GEN_w001", "GEN_w002"]
    plan = plan_systematics({"filterSystematics": "EG_.*"}, enabled=True, weights=w)
    assert plan.names == [NOSYS, "EG_SCALE_ALL__1down", "EG_SCALE_ALL__1up"]
    assert plan_systematics({"runSystematics": False}, enabled=True, weights=w).names == [NOSYS]
    assert len(plan_systematics({}, enabled=True, weights=w).kinematic) == len(KINEMATIC)


def test_output_naming_rules():
    decos = Decorations()
    decos.event["eventNumber"] = Deco({NOSYS: np.arange(2)}, False)
    decos.event["weight_mc_%SYS%"] = Deco({NOSYS: np.ones(2), "GEN_x": np.ones(2)}, True)
    decos.containers["OutJets"] = {
        "pt_%SYS%": Deco({NOSYS: ak.Array([[1.0], []]), "JET_EnergyScale__1up": ak.Array([[1.1], []])}, True),
        "eta": Deco({NOSYS: ak.Array([[0.1], []])}, False),
        "select_baselineJvt_%SYS%": Deco({NOSYS: ak.Array([[1], []])}, True, selection_flag=True),
        "select_or_%SYS%": Deco({NOSYS: ak.Array([[1], []])}, True),
    }
    spec = parse_output({"containers": {"jet_": "OutJets", "": "EventInfo"}}, "reco.yaml")
    b = assemble(spec, decos, lambda _m: None)
    assert set(b.flat) == {"eventNumber", "weight_mc_NOSYS", "weight_mc_GEN_x"}
    assert set(b.groups["jet_"]) == {"jet_pt_NOSYS", "jet_pt_JET_EnergyScale__1up", "jet_eta",
                                     "jet_select_baselineJvt_NOSYS", "jet_select_or_NOSYS"}
    spec = parse_output({"containers": {"jet_": "OutJets", "": "EventInfo"}, "alwaysAddNosys": True,
                         "storeSelectionFlags": False}, "reco.yaml")
    b = assemble(spec, decos, lambda _m: None)
    assert "eventNumber_NOSYS" in b.flat and "jet_eta_NOSYS" in b.groups["jet_"]
    # storeSelectionFlags drops the selection summaries only, not OR's own output variable
    assert [n for n in b.groups["jet_"] if "select_" in n] == ["jet_select_or_NOSYS"]


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
