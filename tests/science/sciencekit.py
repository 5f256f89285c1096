"""Helpers for the science-runtime tests: bundles built from the contract, and a runner.

A bundle here is what the code generator ships (docs/contracts.md): ``run_manifest.json``, the
YAMLs and a copy of ``transform_single_file.py``. Tests run the copied script the way a
transformer pod does, ``python <bundle>/transform_single_file.py <in> <out> <fmt>``, with
``RUNTOP_EL`` pointing at the stub ``runTop_el.py`` in ``stub/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
SCRIPT = REPO_ROOT / "science" / "topcp_science" / "transform_single_file.py"
STUB = HERE / "stub" / "runTop_el.py"

RECO_YAML = """\
CommonServices:
  systematicsHistogram: 'listOfSystematics'
Jets:
  - containerName: 'AnaJets'
    jetCollection: 'AntiKt4EMPFlowJets'
EventSelection:
  - selectionName: 'ejets'
    selectionCutsDict:
      - 'JET_N 25000 >= 4'
Output:
  treeName: 'reco'
  vars: []
  containers:
    jet_: 'AnaJets'
"""
PARTICLE_YAML = """\
PL_Jets:
  - containerName: 'PLJets'
Output:
  - treeName: particleLevel  # list form
    vars: []
"""
PARTON_YAML = """\
PartonHistory:
  - histories: 'Ttbar'
Output: {treeName: truth, vars: []}
"""
YAMLS = {"reco": RECO_YAML, "particle": PARTICLE_YAML, "parton": PARTON_YAML}


def make_bundle(
    dest: Path,
    levels: tuple[str, ...] = ("reco",),
    *,
    max_events: int = -1,
    no_systematics: bool = True,
    no_filter: bool = False,
    yamls: dict[str, str] | None = None,
) -> Path:
    """Write a bundle as the code generator would (docs/contracts.md, manifest_version 1)."""
    dest.mkdir(parents=True, exist_ok=True)
    texts = dict(YAMLS, **(yamls or {}))
    for level in levels:
        (dest / f"{level}.yaml").write_text(texts[level])
    manifest = {
        "manifest_version": 1,
        "generator": "servicex-topcp tests",
        "schema_release": {"analysisbase": "25.2.74", "topcptoolkit": "v2.23.0"},
        "levels": {lv: (f"{lv}.yaml" if lv in levels else None) for lv in YAMLS},
        "max_events": max_events,
        "no_systematics": no_systematics,
        "no_filter": no_filter,
        "no_filter_injected": [],
        "query_hash": "0" * 64,
    }
    (dest / "run_manifest.json").write_text(json.dumps(manifest, indent=2))
    shutil.copy(SCRIPT, dest / "transform_single_file.py")
    return dest


@dataclass
class Run:
    returncode: int
    stdout: str
    pid: int = 0

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    @property
    def error_lines(self) -> list[str]:
        return [ln for ln in self.lines if ln.startswith("ERROR")]

    @property
    def own_lines(self) -> list[str]:
        """Lines the wrapper printed itself (not the child's)."""
        return [
            ln
            for ln in self.lines
            if ln.startswith(("topcp-transform: ", "ERROR: ", "Transform stats:"))
        ]


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TOPCP_", "STUB_", "RUNTOP_EL", "X509_", "ATLAS_"))
    }
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["RUNTOP_EL"] = str(STUB)
    env["TOPCP_WORK_ROOT"] = str(tmp_path / "work")
    (tmp_path / "work").mkdir(exist_ok=True)
    env["STUB_RECORD"] = str(tmp_path / "record.json")
    env.update(extra)
    return env


def start(bundle: Path, source: str, output: Path, fmt: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(bundle / "transform_single_file.py"), source, str(output), fmt],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run(bundle: Path, source, output: Path, env: dict, fmt: str = "root-file") -> Run:
    proc = start(bundle, str(source), output, fmt, env)
    out, _ = proc.communicate(timeout=120)
    return Run(proc.returncode, out, proc.pid)
