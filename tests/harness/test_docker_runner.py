"""The docker runner's commands: mounts as in a ServiceX pod, one container reused per file."""

from __future__ import annotations

import shlex
from pathlib import Path

from topcp_harness.runners import DockerRunner, Job


def _job(tmp_path: Path, name: str = "in put's.root") -> Job:
    scratch = tmp_path / "scratch"
    return Job(
        request_id="0a60d26c-50a0-4704-8c00-f6e230006ba8", bundle_dir=tmp_path / "generated",
        input=f"/data/{name}", output=scratch / "00001-2" / f":data:{name}", fmt="root-file",
        scratch_dir=scratch, local_inputs=[Path(f"/data/{name}"), Path("/data/b.root")],
        image="sslhep/servicex_science_image_topcp:25.2.74-v2.23.0",
    )


def _mounts(cmd: list[str]) -> list[str]:
    return [cmd[i + 1] for i, a in enumerate(cmd) if a == "-v"]


def test_container_is_started_like_a_transformer_pod(tmp_path: Path):
    runner = DockerRunner("w0", x509_proxy=Path("/home/u/x509up"))
    job = _job(tmp_path)
    cmd = runner.start_command(job, job.image)
    assert cmd[:4] == ["docker", "run", "-d", "--network"] and cmd[4] == "host"
    mounts = _mounts(cmd)
    assert f"{tmp_path / 'generated'}:/generated:ro" in mounts
    assert f"{tmp_path / 'scratch'}:/servicex/output" in mounts
    assert "/home/u/x509up:/tmp/grid-security/x509up:ro" in mounts
    assert "/data/in put's.root:/data/in put's.root:ro" in mounts
    assert "/data/b.root:/data/b.root:ro" in mounts
    assert "X509_USER_PROXY=/tmp/grid-security/x509up" in cmd
    assert cmd[-3:] == ["sleep", job.image, "infinity"] or cmd[-2:] == [job.image, "infinity"]
    assert "--rm" not in cmd  # removed explicitly, by ID, at shutdown


def test_no_proxy_mount_without_a_proxy(tmp_path: Path):
    cmd = DockerRunner("w0").start_command(_job(tmp_path), "img")
    assert not any("x509up" in m for m in _mounts(cmd))


def test_each_file_runs_through_docker_exec_with_a_login_shell(tmp_path: Path):
    runner = DockerRunner("w0")
    runner.container = "c0ffee"
    job = _job(tmp_path)
    cmd = runner.exec_command(job)
    assert cmd[:7] == ["docker", "exec", "c0ffee", "bash", "--login", "-c", cmd[6]]
    # the shell sees exactly three arguments, however odd the file name
    argv = shlex.split(cmd[6])
    assert argv == [
        "python", "/generated/transform_single_file.py", "/data/in put's.root",
        "/servicex/output/00001-2/:data:in put's.root", "root-file",
    ]


def test_shell_metacharacters_in_a_path_stay_data(tmp_path: Path):
    runner = DockerRunner("w0")
    runner.container = "c"
    job = _job(tmp_path, name="x.root; rm -rf / #$(id)")
    argv = shlex.split(runner.exec_command(job)[6])
    assert argv[2] == "/data/x.root; rm -rf / #$(id)" and len(argv) == 5


def test_container_is_removed_by_id(tmp_path: Path):
    runner = DockerRunner("w0")
    runner.container = "3f2a9c"
    assert runner.remove_command() == ["docker", "rm", "-f", "3f2a9c"]


def test_liveness_is_checked_by_container_id():
    runner = DockerRunner("w0", docker="/usr/bin/docker")
    runner.container = "3f2a9c"
    assert runner.inspect_command() == ["/usr/bin/docker", "inspect", "-f",
                                        "{{.State.Running}}", "3f2a9c"]


FAKE_DOCKER = """#!{python}
# A docker CLI double for the runner's container-replacement rule: `run` hands out new IDs,
# `exec` fails the way a just-killed container does (OCI exit 126), `inspect` lags and still
# says "running", `rm` is recorded.
import pathlib, sys
log = pathlib.Path({log!r})
cmd = sys.argv[1]
with log.open("a") as f:
    f.write(" ".join(sys.argv[1:]) + "\\n")
if cmd == "run":
    n = sum(1 for line in log.read_text().splitlines() if line.startswith("run"))
    print(f"container{{n}}")
elif cmd == "exec":
    print("OCI runtime exec failed: container is stopped", flush=True)
    sys.exit(126)
elif cmd == "inspect":
    print("true")
"""


def test_a_container_whose_exec_fails_like_a_killed_one_is_replaced(tmp_path: Path):
    import stat
    import sys

    log = tmp_path / "docker.log"
    fake = tmp_path / "docker"
    fake.write_text(FAKE_DOCKER.format(python=sys.executable, log=str(log)))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    runner = DockerRunner("w0", docker=str(fake))
    job = _job(tmp_path)

    first = runner.run(job, lambda line: None)
    assert not first.ok and first.returncode == 126
    assert runner.container is None  # dropped although `inspect` still said "running"
    second = runner.run(job, lambda line: None)
    assert not second.ok
    calls = [c.split()[:3] for c in log.read_text().splitlines()]
    # each failed exec drops its container by the ID `docker run` printed; the retry gets a new one
    assert [c for c in calls if c[0] in ("run", "rm")] == [
        ["run", "-d", "--network"], ["rm", "-f", "container1"],
        ["run", "-d", "--network"], ["rm", "-f", "container2"],
    ]
