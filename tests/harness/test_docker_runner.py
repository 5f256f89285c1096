"""The docker runner: mounts as in a ServiceX pod, one container reused per file, driven
through the Docker SDK. These tests give it a recording double of the SDK's client (the
calls and answers of docker 7.x, as the real engine gave them in tests/docker's runner test:
a killed container's exec reports 137, an exec on a stopped one is refused with 409)."""

from __future__ import annotations

import shlex
import threading
from pathlib import Path

import docker.errors
import pytest
from topcp_harness import runners
from topcp_harness.runners import HARNESS_LABEL, DockerRunner, Job


def _job(tmp_path: Path, name: str = "in put's.root", request: str = "0a60d26c-50a0") -> Job:
    scratch = tmp_path / "scratch"
    return Job(
        request_id=f"{request}-4704-8c00-f6e230006ba8", bundle_dir=tmp_path / "generated",
        input=f"/data/{name}", output=scratch / "00001-2" / f":data:{name}", fmt="root-file",
        scratch_dir=scratch, local_inputs=[Path(f"/data/{name}"), Path("/data/b.root")],
        image="sslhep/servicex_science_image_topcp:25.2.74-v2.23.0",
    )


class FakeEngine:
    """The part of ``docker.DockerClient`` the runner uses, recording every call."""

    def __init__(self, outputs: list[tuple[list[bytes], int]] | None = None) -> None:
        self.calls: list[tuple] = []
        self.outputs = list(outputs or [])
        self.status: dict[str, str] = {}
        self.refuse_exec: set[str] = set()
        self.block: threading.Event | None = None
        self.exec_env: list[dict] = []
        self.containers = self
        self.api = self
        self._execs: dict[str, tuple[list[bytes], int]] = {}

    # client.containers
    def run(self, **spec):
        cid = f"container{sum(1 for c in self.calls if c[0] == 'run') + 1}"
        self.calls.append(("run", cid, spec))
        self.status[cid] = "running"
        return type("C", (), {"id": cid})()

    def get(self, cid):
        engine = self

        class C:
            id = cid
            status = engine.status.get(cid, "exited")

            def kill(self):
                engine.calls.append(("kill", cid))
                engine.status[cid] = "exited"
                if engine.block is not None:
                    engine.block.set()

        if cid not in self.status:
            raise docker.errors.NotFound(f"no such container {cid}")
        return C()

    # client.api
    def exec_create(self, cid, cmd, **kwargs):
        self.calls.append(("exec", cid, cmd))
        self.exec_env.append(kwargs.get("environment"))
        if cid in self.refuse_exec:
            raise docker.errors.APIError(
                "conflict", response=type("R", (), {"status_code": 409, "reason": "Conflict"})(),
                explanation=f"Container {cid} is not running")
        exec_id = f"exec{len(self._execs)}"
        self._execs[exec_id] = self.outputs.pop(0) if self.outputs else ([b"ok\n"], 0)
        return {"Id": exec_id}

    def exec_start(self, exec_id, stream=False):
        chunks, _ = self._execs[exec_id]
        yield from chunks
        if self.block is not None:
            self.block.wait(10)

    def exec_inspect(self, exec_id):
        return {"ExitCode": self._execs[exec_id][1], "Running": False}

    def remove_container(self, cid, force=False, v=False):
        self.calls.append(("rm", cid, force, v))
        self.status.pop(cid, None)

    def names(self, kind: str) -> list[str]:
        return [c[1] for c in self.calls if c[0] == kind]


def test_container_is_started_like_a_transformer_pod(tmp_path: Path):
    job = _job(tmp_path)
    spec = DockerRunner("w0", x509_proxy=Path("/home/u/x509up")).container_spec(job, job.image)
    assert spec["network_mode"] == "host" and spec["image"] == job.image
    assert spec["volumes"] == {
        str(tmp_path / "generated"): {"bind": "/generated", "mode": "ro"},
        str(tmp_path / "scratch"): {"bind": "/servicex/output", "mode": "rw"},
        "/home/u/x509up": {"bind": "/tmp/grid-security/x509up", "mode": "ro"},
        "/data/in put's.root": {"bind": "/data/in put's.root", "mode": "ro"},
        "/data/b.root": {"bind": "/data/b.root", "mode": "ro"},
    }
    assert spec["environment"] == {"PYTHONPATH": "/generated",
                                   "X509_USER_PROXY": "/tmp/grid-security/x509up"}
    assert spec["entrypoint"] == ["sleep"] and spec["command"] == ["infinity"]
    assert spec["labels"] == {HARNESS_LABEL: "1"} and spec["detach"] is True
    assert "auto_remove" not in spec and "remove" not in spec  # removed explicitly, by ID


def test_no_proxy_mount_without_a_proxy(tmp_path: Path):
    spec = DockerRunner("w0").container_spec(_job(tmp_path), "img")
    assert not any("x509up" in v["bind"] for v in spec["volumes"].values())
    assert "X509_USER_PROXY" not in spec["environment"]


def test_each_file_runs_through_exec_with_a_login_shell(tmp_path: Path):
    argv = DockerRunner("w0").exec_argv(_job(tmp_path))
    assert argv[:3] == ["bash", "--login", "-c"] and len(argv) == 4
    # the shell sees exactly three arguments, however odd the file name
    assert shlex.split(argv[3]) == [
        "python", "/generated/transform_single_file.py", "/data/in put's.root",
        "/servicex/output/00001-2/:data:in put's.root", "root-file",
    ]


def test_shell_metacharacters_in_a_path_stay_data(tmp_path: Path):
    argv = shlex.split(DockerRunner("w0").exec_argv(_job(tmp_path, "x.root; rm -rf / #$(id)"))[3])
    assert argv[2] == "/data/x.root; rm -rf / #$(id)" and len(argv) == 5


def test_log_lines_stream_as_they_come_however_the_chunks_split(tmp_path: Path):
    euro = "€".encode()
    chunks = [b"first li", b"ne\r\nsecond " + euro[:1], euro[1:] + b"\n",
              b"Transform stats: Total Events: 100, resulting file size 4242\nlast, no newline"]
    engine = FakeEngine([(chunks, 0)])
    seen: list[str] = []
    outcome = DockerRunner("w0", client=engine).run(_job(tmp_path), seen.append)
    assert seen == ["first line", "second €",
                    "Transform stats: Total Events: 100, resulting file size 4242",
                    "last, no newline"]
    assert outcome.ok and outcome.events == 100 and outcome.size == 4242


def test_one_container_serves_every_file_of_a_request(tmp_path: Path):
    engine = FakeEngine()
    runner = DockerRunner("w0", client=engine)
    for _ in range(3):
        assert runner.run(_job(tmp_path), lambda line: None).ok
    assert engine.names("run") == ["container1"] and engine.names("exec") == ["container1"] * 3
    runner.run(_job(tmp_path, request="1b71e37d-61b1"), lambda line: None)  # a new request
    assert engine.names("run") == ["container1", "container2"]
    assert engine.names("rm") == ["container1"]
    runner.close()
    assert [c for c in engine.calls if c[0] == "rm"][-1] == ("rm", "container2", True, True)
    assert runner.container is None


def test_a_transform_error_keeps_the_container(tmp_path: Path):
    engine = FakeEngine([([b"ERROR: input /data/x is not PHYSLITE\n"], 3)])
    runner = DockerRunner("w0", client=engine)
    outcome = runner.run(_job(tmp_path), lambda line: None)
    assert outcome.returncode == 3 and outcome.error == "ERROR: input /data/x is not PHYSLITE"
    assert runner.container == "container1" and engine.names("rm") == []


@pytest.mark.parametrize("code", [137, 126])
def test_a_container_whose_exec_fails_like_a_killed_one_is_replaced(tmp_path: Path, code: int):
    # The engine still says "running" (it lags right after a kill): the exit code decides.
    engine = FakeEngine([([b"OCI runtime exec failed: container is stopped\n"], code)] * 2)
    runner = DockerRunner("w0", client=engine)
    job = _job(tmp_path)
    first = runner.run(job, lambda line: None)
    assert not first.ok and first.returncode == code
    assert runner.container is None
    assert not runner.run(job, lambda line: None).ok
    # each failed exec drops its container by ID; the retry gets a new one
    assert [(c[0], c[1]) for c in engine.calls if c[0] in ("run", "rm")] == [
        ("run", "container1"), ("rm", "container1"), ("run", "container2"), ("rm", "container2")]


def test_a_container_that_died_between_files_is_replaced_before_the_file_runs(tmp_path: Path):
    engine = FakeEngine()
    runner = DockerRunner("w0", client=engine)
    assert runner.run(_job(tmp_path), lambda line: None).ok
    engine.refuse_exec.add("container1")  # e.g. killed by hand while idle
    assert runner.run(_job(tmp_path), lambda line: None).ok
    assert engine.names("exec") == ["container1", "container1", "container2"]
    assert runner.container == "container2"


def test_the_file_timeout_reaches_the_script_and_a_hung_one_loses_its_container(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(runners, "TERMINATE_GRACE_S", 0.05)
    engine = FakeEngine([([b"working\n"], 137)])
    engine.block = threading.Event()  # the exec hangs until the container is killed
    runner = DockerRunner("w0", client=engine, timeout=0.05)
    outcome = runner.run(_job(tmp_path), lambda line: None)
    assert engine.exec_env == [{"TOPCP_TIMEOUT_S": "0.05"}]
    assert ("kill", "container1") in engine.calls
    assert not outcome.ok and runner.container is None


def test_an_unreachable_engine_is_a_failed_attempt_with_the_reason(tmp_path: Path):
    class NoEngine:
        class containers:  # noqa: N801 - mirrors the SDK's attribute
            @staticmethod
            def run(**spec):
                raise docker.errors.DockerException("Error while fetching server API version")

    outcome = DockerRunner("w0", client=NoEngine()).run(_job(tmp_path), lambda line: None)
    assert outcome.returncode == 125 and not outcome.ok
    assert "cannot run sslhep/servicex_science_image_topcp" in outcome.error
    assert "server API version" in outcome.error
