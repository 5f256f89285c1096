"""The bundle is runnable: its transform script reads our manifest and no_filter takes effect.

The bundle produced for a servicex 3.3.1 query is unpacked and run on a real PHYSLITE file by
the science runtime (``topcp_science.local_runner``, the emulated runTop_el.py where
AnalysisBase is absent). The example selection keeps (almost) no events of the 100-event test
file; with ``no_filter`` every processed event must reach the ntuple.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import uproot
from topcp_codegen.bundle import generate, unpack_bundle


@pytest.mark.slow
@pytest.mark.parametrize("no_filter", [False, True])
def test_bundle_runs_and_no_filter_keeps_every_event(
    tmp_path: Path, physlite_ttree: Path, sx_query, example_texts, no_filter: bool
) -> None:
    from topcp_science.local_runner import run_transform

    code = sx_query({"reco": example_texts["reco"]}, max_events=30, no_filter=no_filter)
    result = generate(code, default_image="unused", allowed_registries=None)
    bundle = unpack_bundle(result.zip_bytes, tmp_path / "bundle")
    output = tmp_path / "out" / "result"
    outcome = run_transform(bundle, physlite_ttree, output, timeout=300)
    assert outcome.returncode == 0, outcome.log
    assert outcome.events == 30
    with uproot.open(output) as f:
        kept = f["reco"].num_entries
    if no_filter:
        assert kept == 30
    else:
        assert kept < 30
