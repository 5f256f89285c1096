"""Write small TopCP-format ntuples with known content, for exact assertions.

The emulator's output is what users see, and the end-to-end tests use it; these hand-made
files pin down the reader logic (systematics from labels and suffixes, weights, region flags)
with numbers we can check by hand. Layout follows TopCPToolkit's ntuple conventions
(``<prefix><var>_<SYS>``, ``pass_<region>_<SYS>``, ``listOfSystematics`` bin labels).
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import uproot
import uproot.writing.identify as ident

JES = "JET_JER_EffectiveNP_1"
PRW = "PRW_DATASF"
SYSTEMATICS = ["NOSYS", f"{JES}__1up", f"{JES}__1down", f"{PRW}__1up", f"{PRW}__1down"]


def labelled_th1(name: str, labels: list[str], values: list[float]) -> object:
    """A TH1D whose x-axis bins carry text labels (ROOT's listOfSystematics/cutflow shape)."""
    n = len(labels)
    data = np.array([0.0, *values, 0.0])
    fLabels = ident.to_THashList([ident.to_TObjString(lab) for lab in labels])
    xaxis = ident.to_TAxis("xaxis", "", n, 0.0, float(n), fLabels=fLabels)
    yaxis = ident.to_TAxis("yaxis", "", 1, 0.0, 1.0)
    zaxis = ident.to_TAxis("zaxis", "", 1, 0.0, 1.0)
    return ident.to_TH1x(
        name, name, data, float(sum(values)), float(sum(values)), float(sum(v * v for v in values)),
        0.0, 0.0, np.array(data * data), xaxis, yaxis, zaxis,
    )


def write_ntuple(path: Path, *, n_events: int = 200, seed: int = 7, marker: bool = True) -> dict:
    """Write a reco-level ntuple; returns the arrays it wrote (for expected values)."""
    rng = np.random.default_rng(seed)
    njet = rng.integers(1, 6, n_events)
    jet_pt = ak.unflatten(rng.exponential(40_000.0, int(njet.sum())) + 25_000.0, njet)
    branches: dict[str, object] = {
        "eventNumber": np.arange(n_events, dtype=np.uint64) + 1000,
        "runNumber": np.full(n_events, 300000, dtype=np.uint32),
        "jet_eta": ak.unflatten(rng.uniform(-2.5, 2.5, int(njet.sum())), njet),
        "jet_pt_NOSYS": jet_pt,
        f"jet_pt_{JES}__1up": jet_pt * 1.05,
        f"jet_pt_{JES}__1down": jet_pt * 0.95,
        "met_met_NOSYS": rng.exponential(30_000.0, n_events),
        "weight_mc_NOSYS": rng.choice([1.0, 2.0], n_events),
        "weight_pileup_NOSYS": np.full(n_events, 0.5),
        f"weight_pileup_{PRW}__1up": np.full(n_events, 0.6),
        f"weight_pileup_{PRW}__1down": np.full(n_events, 0.4),
        "pass_ejets_NOSYS": (np.arange(n_events) % 2 == 0).astype(np.int8),
        "pass_mujets_NOSYS": (np.arange(n_events) % 2 == 1).astype(np.int8),
        f"pass_ejets_{JES}__1up": (np.arange(n_events) % 4 != 1).astype(np.int8),
        f"pass_ejets_{JES}__1down": (np.arange(n_events) % 4 == 0).astype(np.int8),
    }
    with uproot.recreate(path) as f:
        # mktree: a dict assignment would write an RNTuple; TopCPToolkit writes TTrees.
        f.mktree("reco", {k: ak.type(v) if isinstance(v, ak.Array) else v.dtype
                          for k, v in branches.items()})
        f["reco"].extend(branches)
        f["listOfSystematics"] = labelled_th1("listOfSystematics", SYSTEMATICS, [1.0] * 5)
        f["CutBookkeeper_700322_300000_NOSYS"] = labelled_th1(
            "CutBookkeeper_700322_300000_NOSYS", ["N", "sumw", "sumw2"], [100.0, 150.0, 250.0]
        )
        f["cflow_EventInfo__ejets_NOSYS"] = labelled_th1(
            "cflow_EventInfo__ejets_NOSYS", ["all", "EL_N", "JET_N"], [100.0, 60.0, 50.0]
        )
        if marker:
            f["topcp_emulator"] = "emulated runTop_el.py (test factory)"
    return branches
