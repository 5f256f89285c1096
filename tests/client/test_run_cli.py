"""`topcp-sx run`: the embedded main job on real PHYSLITE files, errors without losses."""

from __future__ import annotations

import os
import subprocess

import pytest
import uproot
from conftest import TOPCP_SX
from topcp_client import ConfigValidationError, UsageError, run_local
from topcp_client.cli import app
from topcp_client.local_run import docker_spec, output_name, plan_outputs
from typer.testing import CliRunner

runner = CliRunner()


def test_run_both_test_files_writes_ntuples_and_summary(tmp_path, physlite_ttree,
                                                       physlite_rntuple, ttbar_configs):
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "--reco", str(ttbar_configs["reco"]), str(physlite_ttree),
                              str(physlite_rntuple), "-o", str(out), "--workers", "2"])
    assert res.exit_code == 0, res.output
    for src in (physlite_ttree, physlite_rntuple):
        produced = out / src.name
        assert produced.is_file()
        with uproot.open(produced) as f:
            assert "reco" in [k.split(";")[0] for k in f.keys()]
        assert src.name in res.stdout
    assert "events in" in res.stdout and "pass ejets" in res.stdout
    # 100 events read from each file: the summary says so
    assert res.stdout.count(" 100 ") >= 2


def test_run_local_reports_region_counts_that_match_the_file(tmp_path, physlite_rntuple,
                                                             ttbar_configs):
    (result,) = run_local({"reco": ttbar_configs["reco"]}, [physlite_rntuple], tmp_path,
                          no_filter=True)
    assert result.ok and result.events_in == 100 and result.events_out == 100
    with uproot.open(result.output) as f:
        flags = f["reco"].arrays(["pass_ejets_NOSYS", "pass_mujets_NOSYS"], library="np")
    assert result.regions["ejets"] == int(flags["pass_ejets_NOSYS"].astype(bool).sum())
    assert result.regions["mujets"] == int(flags["pass_mujets_NOSYS"].astype(bool).sum())
    assert result.size == result.output.stat().st_size


def test_config_errors_run_nothing(tmp_path, physlite_ttree, ttbar_configs):
    bad = tmp_path / "reco.yaml"
    bad.write_text(ttbar_configs["reco"].read_text().replace("\nJets:", "\nJetz:", 1))
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "--reco", str(bad), str(physlite_ttree), "-o", str(out)])
    assert res.exit_code == 1
    assert f"{bad}:" in res.output and "unknown block 'Jetz'" in res.output
    assert not out.exists()
    with pytest.raises(ConfigValidationError) as exc:
        run_local({"reco": bad}, [physlite_ttree], out)
    assert any(e.path == "Jetz" for e in exc.value.errors)


def test_a_failing_file_does_not_stop_the_others(tmp_path, physlite_rntuple, ttbar_configs):
    junk = tmp_path / "junk.root"
    junk.write_bytes(b"this is not ROOT")
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "--reco", str(ttbar_configs["reco"]), str(junk),
                              str(physlite_rntuple), "-o", str(out)])
    assert res.exit_code == 1
    assert "FAILED" in res.stdout
    assert f"error: {junk}:" in res.stderr
    assert (out / physlite_rntuple.name).is_file()
    assert not (out / "junk.root").exists()
    assert [p.name for p in out.iterdir()] == [physlite_rntuple.name]  # no temp leftovers


def test_usage_mistakes_exit_two(tmp_path, physlite_ttree, ttbar_configs):
    reco = str(ttbar_configs["reco"])
    missing = runner.invoke(app, ["run", "--reco", reco, str(tmp_path / "nope.root"),
                                  "-o", str(tmp_path)])
    assert missing.exit_code == 2 and "no such input file" in missing.stderr
    no_cfg = runner.invoke(app, ["run", str(physlite_ttree), "-o", str(tmp_path)])
    assert no_cfg.exit_code == 2 and "--reco" in no_cfg.stderr
    onto_input = runner.invoke(app, ["run", "--reco", reco, str(physlite_ttree),
                                     "-o", str(physlite_ttree.parent)])
    assert onto_input.exit_code == 2 and "overwrite this input" in onto_input.stderr
    no_image = runner.invoke(app, ["run", "--reco", reco, str(physlite_ttree), "-o",
                                   str(tmp_path), "--runner", "docker"])
    assert no_image.exit_code == 2 and "--image" in no_image.stderr


def test_output_names():
    assert output_name("/data/PHYSLITE_example.root") == "PHYSLITE_example.root"
    assert output_name("root://eos.cern.ch//x/DAOD.pool.root.1") == "DAOD.pool.root.1.root"
    with pytest.raises(UsageError, match="both write"):
        plan_outputs(["root://a//x/f.root", "root://b//y/f.root"], __import__("pathlib").Path("o"))


def test_docker_spec_mounts_like_a_pod_and_runs_as_the_caller(tmp_path, physlite_ttree):
    spec = docker_spec("img:tag", tmp_path / "gen", str(physlite_ttree),
                       tmp_path / "out" / "x.root")
    assert spec["image"] == "img:tag" and spec["network_mode"] == "host"
    assert spec["volumes"] == {
        str((tmp_path / "gen").resolve()): {"bind": "/generated", "mode": "ro"},
        str((tmp_path / "out").resolve()): {"bind": "/servicex/output", "mode": "rw"},
        str(physlite_ttree.resolve()): {"bind": f"/servicex/input/{physlite_ttree.name}",
                                        "mode": "ro"},
    }
    assert spec["command"] == [
        "python3", "/generated/transform_single_file.py",
        f"/servicex/input/{physlite_ttree.name}", "/servicex/output/x.root", "root-file"]
    assert spec["user"] == f"{os.getuid()}:{os.getgid()}"  # the outputs belong to the caller
    remote = docker_spec("img", tmp_path, "root://host//f.root", tmp_path / "f.root")
    assert "root://host//f.root" in remote["command"]
    assert not any(v["bind"].startswith("/servicex/input") for v in remote["volumes"].values())


def test_docker_runner_without_an_engine_is_a_clear_error(tmp_path, physlite_ttree,
                                                          ttbar_configs, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    with pytest.raises(UsageError, match="Docker engine is not reachable"):
        run_local({"reco": ttbar_configs["reco"]}, [physlite_ttree], tmp_path / "o",
                  runner="docker", image="img:tag")
    assert not (tmp_path / "o").exists()  # nothing was started, nothing written


def test_real_subprocess_run(tmp_path, physlite_rntuple, ttbar_configs):
    out = tmp_path / "out"
    done = subprocess.run([str(TOPCP_SX), "run", "--reco", str(ttbar_configs["reco"]),
                           str(physlite_rntuple), "-o", str(out), "--max-events", "20"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "topcp-sx run summary" in done.stdout
    assert f"wrote {out / physlite_rntuple.name}" in done.stdout
