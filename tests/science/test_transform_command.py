"""The runTop_el.py command and work dir built for each kind of bundle."""

from __future__ import annotations

import os

import pytest
from sciencekit import YAMLS, make_bundle, run

CONFIG_DIR_NAME = "servicex_topcp_config"  # transform_single_file.CONFIG_DIR_NAME


@pytest.mark.parametrize(
    ("levels", "manifest", "flags"),
    [
        (("reco",), {"no_systematics": False}, []),
        (("reco",), {"no_systematics": True}, ["--no-systematics"]),
        (("reco", "particle", "parton"), {"no_systematics": False}, ["--particle", "--parton"]),
        (("reco",), {"no_systematics": False, "max_events": 10}, ["-e", "10"]),
        (("reco",), {"no_systematics": False, "max_events": 0}, ["-e", "0"]),
        (("reco",), {"no_systematics": False, "no_filter": True}, ["--no-filter"]),
        (("particle",), {"no_systematics": True}, ["--no-systematics", "--particle", "--no-reco"]),
        (("parton",), {"no_systematics": False}, ["--parton", "--no-reco"]),
    ],
    ids=[
        "reco-only",
        "no-systematics",
        "reco+particle+parton",
        "max-events",
        "max-events-0",
        "no-filter",
        "particle-only",
        "parton-only",
    ],
)
def test_command_for_manifest(tmp_path, env, physlite_ttree, record, levels, manifest, flags):
    bundle = make_bundle(tmp_path / "b", levels, **manifest)
    result = run(bundle, physlite_ttree, tmp_path / "o.root", env)
    assert result.returncode == 0, result.stdout

    rec = record()
    # -t names a folder in the work dir, relative, as upstream's `-t customConfig` does
    assert rec["argv"] == ["-i", "input.txt", "-o", "output", "-t", CONFIG_DIR_NAME, *flags]
    assert os.path.dirname(rec["config_dir_abs"]) == rec["cwd"]  # inside the private work dir
    assert rec["config_files"] == sorted(f"{lv}.yaml" for lv in levels)
    for level in levels:
        assert rec["config_texts"][f"{level}.yaml"] == YAMLS[level]  # copied verbatim
    assert rec["input_lines"] == [str(physlite_ttree), ""]  # one line, no blank lines
    assert rec["tmpdir"] == os.path.join(rec["cwd"], "tmp")
    assert rec["pgid"] == rec["pid"]  # runTop_el.py leads its own process group


def test_yaml_file_names_in_manifest_are_mapped_to_levels(tmp_path, env, physlite_ttree, record):
    """runTop_el.py looks up <folder>/<level>.yaml, whatever the bundle called the file."""
    import json

    bundle = make_bundle(tmp_path / "b")
    (bundle / "reco.yaml").rename(bundle / "my-reco-config.yaml")
    manifest = json.loads((bundle / "run_manifest.json").read_text())
    manifest["levels"]["reco"] = "my-reco-config.yaml"
    (bundle / "run_manifest.json").write_text(json.dumps(manifest))
    result = run(bundle, physlite_ttree, tmp_path / "o.root", env)
    assert result.returncode == 0, result.stdout
    assert record()["config_files"] == ["reco.yaml"]
