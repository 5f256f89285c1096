"""The test data of a machine without ../shared: the cached TTree file and its RNTuple copy."""

from __future__ import annotations

import shutil

import awkward as ak
import pytest
from physlite_testdata import VARIANT_NAME, fetched_testdata
from topcp_science.emulator.inputs import open_physlite

pytestmark = pytest.mark.slow


def test_the_rntuple_copy_holds_every_numeric_variable_of_the_ttree_file(physlite_ttree,
                                                                         tmp_path):
    shutil.copy(physlite_ttree, tmp_path / physlite_ttree.name)  # fetch_sample reuses it
    data = fetched_testdata(tmp_path)
    assert not data.rntuple_is_real and data.rntuple == tmp_path / VARIANT_NAME
    tree, ntuple = open_physlite(str(data.ttree)), open_physlite(str(data.rntuple))
    assert (tree.fmt, ntuple.fmt) == ("ttree", "rntuple")
    assert ntuple.num_entries == tree.num_entries == 100
    # the layout of the real ATLAS RNTuple: XAuxDyn:var fields, static XAux: records
    keys = ntuple.obj.keys()
    assert "AnalysisElectronsAuxDyn:pt" in keys and "EventInfoAuxDyn:mcEventWeights" in keys
    assert any(k.startswith("xTrigDecisionAux:.") for k in keys)
    # (a split ElementLink's parent branch is read through its members, not as a whole)
    common = [c for c in tree.columns if c in ntuple.columns
              and (c[0], f"{c[1]}.m_persIndex") not in tree.columns]
    # member-wise streamed branches (the clusters: uproot cannot read them, so the converter
    # cannot copy them) are containers, not numeric variables
    left_out = {tree.obj[col.key].typename for c, col in tree.columns.items()
                if c not in ntuple.columns and not col.memberwise}
    # split ElementLinks are copied as the real file's {m_persKey, m_persIndex} records
    assert ("AnalysisJets", "btaggingLink.m_persIndex") in common
    assert len(common) > 600
    # only what is no number: ElementLinks, strings, string pairs, the Aux base markers
    assert all("ElementLink" in t or "string" in t or t == "unknown" for t in left_out), left_out
    a, b = next(tree.iterate(common)), next(ntuple.iterate(common))
    assert all(ak.to_list(a[c]) == ak.to_list(b[c]) for c in common)
    # reused while the source and the converter are unchanged
    stamp = data.rntuple.stat().st_mtime_ns
    assert fetched_testdata(tmp_path).rntuple.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in tmp_path.glob("*.root")) == [physlite_ttree.name, VARIANT_NAME]
