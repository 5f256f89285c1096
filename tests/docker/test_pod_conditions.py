"""Our science images inside a ServiceX transformer pod, as the real cluster makes it.

A transformer pod (``transformer_manager.py``, ssl-hep/ServiceX 2024-10 f42d1a5 lines 92-252
and the 2025-26 version) is two containers sharing ``localhost`` and an emptyDir:

* the **sidecar** (``tests/docker/pod_sidecar.py`` here, uid 1001 gid 0, umask 022) makes
  ``/servicex/output/<req>`` and ``<req>/scratch`` (mode 0755, owned 1001:0), hands each file
  over watch.sh's TCP protocol and reads ``<req>/abc.log`` with the upstream stats parsers;
* the **science container** runs as its image's default USER (the pod sets no
  securityContext), with the bundle mounted read-only at ``/generated`` as a ConfigMap volume
  (``..data`` symlinks, files 0644, no exec bit), input files under ``/data`` (the hostPath of
  ``TRANSFORMER_LOCAL_PATH``), ``BASH_ENV=/servicex/.bashrc``, and the command upstream builds:
  ``["bash", "--login", "-c", CMD]`` (2025-26) or ``["bash", "-c", CMD]`` (2024-10), where CMD
  copies the capabilities file and starts watch.sh, which runs
  ``python /generated/transform_single_file.py <in> <out> <fmt> 2>&1 | tee <req>/abc.log`` and
  reports ``PIPESTATUS[0]``.

The input path is 300 characters long, so the sidecar names the output with 255 characters
(``hash_path``). Each pod also gets a corrupt input: the file must fail, and the sidecar's
``Hard Failure:`` line must name the cause. Both images run: the production image (built FROM
the stand-in AnalysisBase, runTop_el.py behind the ATLAS setup scripts) and the emulated one.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest
from upstream_sidecar import hash_path

pytestmark = [pytest.mark.docker, pytest.mark.slow]

docker_sdk = pytest.importorskip("docker", reason="the Docker SDK for Python (pip install docker)")

HERE = Path(__file__).resolve().parent
REQUEST_ID = "0a60d26c-50a0-4704-8c00-f6e230006ba8"
SHARED = "/servicex/output"  # TRANSFORMER_SIDECAR_VOLUME_PATH
IMAGE_VARS = {"science": "TOPCP_SCIENCE_PROD_IMAGE", "emulated": "TOPCP_SCIENCE_IMAGE"}
SIDECAR_IMAGE_VARS = ("TOPCP_POD_SIDECAR_IMAGE", "BASE_IMAGE")
SIDECAR_IMAGE_DEFAULT = "localhost/base-python:bookworm"
# The science command, built as transformer_manager.py builds it (2024-10 lines 188-209; the
# same text in 2025-26), without the x509 prefix (a deployment with noCerts).
LANGUAGE, COMMAND = "python", "/generated/transform_single_file.py"
SCIENCE_CMD = (
    " "
    + f"cp /generated/transformer_capabilities.json {SHARED} && "
    + "PYTHONPATH=/generated:$PYTHONPATH "
    + f"bash {SHARED}/scripts/watch.sh "
    + f"{LANGUAGE} "
    + f"{COMMAND} "
    + f"{SHARED}/{REQUEST_ID}"
)
SHELLS = {"2024-10": ["bash", "-c"], "2025": ["bash", "--login", "-c"]}


# --------------------------------------------------------------------------------------------
# A small Docker SDK toolkit for this file
# --------------------------------------------------------------------------------------------
def _dotenv(name: str) -> str | None:
    env_file = HERE.parents[1] / ".env"
    if env_file.is_file():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key == name:
                return value.strip()
    return None


@pytest.fixture(scope="module")
def client():
    try:
        c = docker_sdk.from_env(timeout=120)
        c.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine here"
        pytest.skip(f"no Docker engine answers ({exc})")
    yield c
    c.close()


def _have(client, image: str) -> bool:
    try:
        client.images.get(image)
        return True
    except docker_sdk.errors.ImageNotFound:
        return False


@pytest.fixture(scope="module")
def sidecar_image(client) -> str:
    """Any image with python3 serves as the sidecar (upstream's is python:3.10)."""
    candidates = [os.environ.get(v) for v in SIDECAR_IMAGE_VARS] + [SIDECAR_IMAGE_DEFAULT]
    for image in filter(None, candidates):
        if _have(client, image):
            return image
    pytest.skip(f"no sidecar base image ({SIDECAR_IMAGE_DEFAULT}; set TOPCP_POD_SIDECAR_IMAGE)")


def science_image(client, kind: str) -> str:
    image = os.environ.get(IMAGE_VARS[kind]) or _dotenv(IMAGE_VARS[kind])
    if not image or not _have(client, image):
        pytest.skip(f"image {image} not built (docker/build-images.sh)")
    return image


class Pod:
    """Two containers started and removed (by ID) like one transformer pod's."""

    def __init__(self, client, root: Path) -> None:
        self.client = client
        self.root = root
        self.containers: list = []

    def run(self, image: str, command: list[str], **kwargs):
        kwargs.setdefault("labels", {"servicex-topcp-test": "pod-conditions"})
        container = self.client.containers.run(image, command, detach=True, **kwargs)
        self.containers.append(container)
        return container

    def close(self) -> None:
        for container in reversed(self.containers):
            try:
                container.remove(force=True, v=True)
            except docker_sdk.errors.NotFound:
                pass


def _configmap_volume(bundle_zip: bytes, dest: Path) -> Path:
    """The bundle laid out as kubelet mounts a ConfigMap: ``..data`` symlinks, 0644 files."""
    import io
    import zipfile

    data = dest / "..2026_01_01_00_00_00.000000001"
    data.mkdir(parents=True)
    with zipfile.ZipFile(io.BytesIO(bundle_zip)) as zf:
        for name in zf.namelist():
            (data / name).write_bytes(zf.read(name))
            (data / name).chmod(0o644)
            os.symlink(f"..data/{name}", dest / name)
    os.symlink(data.name, dest / "..data")
    data.chmod(0o755)
    dest.chmod(0o755)
    return dest


def _long_input(data_root: Path, source: Path, length: int = 300) -> str:
    """A local replica path of exactly ``length`` characters inside the pod (under /data)."""
    name = "DAOD_PHYSLITE.e8514_s4162_r14622_p6026.pool.root.1"
    inside = "/data/"
    parts = []
    remaining = length - len(inside) - len(name)
    while remaining > 0:
        seg = min(remaining - 1, 120)
        if seg <= 0:  # a single slash left: widen the last folder instead
            parts[-1] += "x"
            break
        parts.append(("rucio.mc23_13p6TeV." * 10)[:seg])
        remaining -= seg + 1
    path = inside + "/".join(parts) + "/" + name
    assert len(path) == length, len(path)
    host = data_root / path[len(inside):]
    host.parent.mkdir(parents=True, exist_ok=True)
    host.write_bytes(source.read_bytes())
    host.chmod(0o644)
    for d in [data_root, *host.relative_to(data_root).parents]:
        (data_root / d).chmod(0o755)
    return path


def _bundle(configs: dict[str, Path], levels: tuple[str, ...], image: str) -> bytes:
    from topcp_codegen.bundle import generate

    query = {lv: (configs[lv].read_text() if lv in levels else None)
             for lv in ("reco", "parton", "particle")}
    query.update(max_events=-1, no_systematics=True, no_filter=False)
    return generate(json.dumps(query), default_image=image, allowed_registries={}).zip_bytes


def run_pod(client, sidecar_image: str, image: str, shell: list[str], bundle_zip: bytes,
            inputs: list[str], data_root: Path, root: Path) -> tuple[list[dict], str, str]:
    """One request through one pod; returns the sidecar's per-file records and both logs."""
    empty_dir = root / "emptydir"
    empty_dir.mkdir()
    empty_dir.chmod(0o777)  # kubelet creates emptyDir volumes 0777
    results = root / "results"
    results.mkdir()
    results.chmod(0o777)
    generated = _configmap_volume(bundle_zip, root / "configmap")
    pod_dir = root / "sidecar"
    pod_dir.mkdir()
    for helper in (HERE / "pod_sidecar.py", HERE.parent / "upstream_sidecar.py"):
        (pod_dir / helper.name).write_bytes(helper.read_bytes())
    (pod_dir / "jobs.json").write_text(json.dumps([{"path": p} for p in inputs]))
    for f in pod_dir.iterdir():
        f.chmod(0o644)
    pod_dir.chmod(0o755)
    env = {"BASH_ENV": "/servicex/.bashrc", "LOG_LEVEL": "INFO", "POD_NAME": "transformer-test",
           "HOST_NAME": "node-1", "INSTANCE_NAME": "servicex-test"}
    pod = Pod(client, root)
    try:
        sidecar = pod.run(
            sidecar_image,
            ["python3", "/pod/pod_sidecar.py", SHARED, REQUEST_ID, "/results", "/pod/jobs.json"],
            user="1001:0", network_mode="none", environment=env,
            volumes={str(empty_dir): {"bind": SHARED, "mode": "rw"},
                     str(pod_dir): {"bind": "/pod", "mode": "ro"},
                     str(results): {"bind": "/results", "mode": "rw"}})
        deadline = time.monotonic() + 60
        while not (empty_dir / "scripts" / "watch.sh").is_file():  # the sidecar is listening
            sidecar.reload()
            assert sidecar.status != "exited", sidecar.logs().decode(errors="replace")
            assert time.monotonic() < deadline, "the sidecar never set up scripts/watch.sh"
            time.sleep(0.2)
        science = pod.run(
            image, [*shell, SCIENCE_CMD], network_mode=f"container:{sidecar.id}",
            environment=env,
            volumes={str(empty_dir): {"bind": SHARED, "mode": "rw"},
                     str(generated): {"bind": "/generated", "mode": "ro"},
                     str(data_root): {"bind": "/data", "mode": "ro"}})
        sidecar_rc = sidecar.wait(timeout=600)["StatusCode"]
        science.wait(timeout=120)
        logs = (sidecar.logs().decode(errors="replace"), science.logs().decode(errors="replace"))
        assert sidecar_rc == 0, f"sidecar failed:\n{logs[0]}\nscience:\n{logs[1]}"
        records = [json.loads((results / f"{n}.json").read_text()) for n in range(len(inputs))]
        return records, logs[0], logs[1]
    finally:
        pod.close()


# --------------------------------------------------------------------------------------------
# The pod runs
# --------------------------------------------------------------------------------------------
CASES = {
    # (image kind, sidecar generation whose command form is used, levels)
    "science-2024-reco": ("science", "2024-10", ("reco",)),
    "science-2025-multilevel": ("science", "2025", ("reco", "particle", "parton")),
    "emulated-2024-reco": ("emulated", "2024-10", ("reco",)),
    "emulated-2025-multilevel": ("emulated", "2025", ("reco", "particle", "parton")),
}


@pytest.fixture(scope="module", params=list(CASES))
def pod_run(request, client, sidecar_image, ttbar_configs, physlite_ttree,
            tmp_path_factory) -> dict:
    kind, generation, levels = CASES[request.param]
    image = science_image(client, kind)
    root = tmp_path_factory.mktemp(f"pod-{request.param}-{uuid.uuid4().hex[:6]}")
    root.chmod(0o755)
    data_root = root / "data"
    data_root.mkdir()
    long_path = _long_input(data_root, physlite_ttree)
    corrupt = data_root / "corrupt.DAOD_PHYSLITE.root"
    corrupt.write_bytes(b"root\x00" + b"\x17" * 4000)  # ROOT magic, nothing readable after it
    corrupt.chmod(0o644)
    records, sidecar_log, science_log = run_pod(
        client, sidecar_image, image, SHELLS[generation], _bundle(ttbar_configs, levels, image),
        [long_path, f"/data/{corrupt.name}"], data_root, root)
    return {"case": request.param, "kind": kind, "generation": generation, "levels": levels,
            "scratch": root / "emptydir" / REQUEST_ID / "scratch",
            "long_path": long_path, "records": records, "sidecar_log": sidecar_log,
            "science_log": science_log, "events": _input_events(physlite_ttree)}


def _input_events(path: Path) -> int:
    import uproot

    with uproot.open(path) as f:
        return f["CollectionTree"].num_entries


def _explain(run: dict, rec: dict) -> str:
    if rec["log"] is None:  # tee could not write abc.log: show what the container printed
        return f"response {rec['response']}; no abc.log; science container:\n{run['science_log']}"
    return f"response {rec['response']}; abc.log:\n{rec['log']}"


def test_the_sidecar_made_the_folders_as_the_real_one_does(pod_run):
    """Guards the reproduction itself: 0755 folders owned by uid 1001, group 0."""
    rec = pod_run["records"][0]
    for folder in ("request_dir", "scratch_dir"):
        assert rec[folder] == {"mode": "0o755", "uid": 1001, "gid": 0}, rec[folder]


def test_a_300_character_path_gives_a_255_character_output_that_is_written(pod_run):
    rec = pod_run["records"][0]
    expected = hash_path(pod_run["long_path"].replace("/", ":"))
    assert len(pod_run["long_path"]) == 300 and len(expected) == 255
    assert rec["output_name"] == expected
    assert rec["response"] == "success.", _explain(pod_run, rec)
    assert rec["output_exists"] and rec["output_size"] > 0
    # exactly one file in scratch: no temporary or partial files left next to the output
    assert rec["scratch_listing"] == [expected], rec["scratch_listing"]
    assert rec["request_listing"] == ["abc.log", "scratch"], rec["request_listing"]


def test_the_output_is_the_ntuple_and_readable_by_the_sidecar(pod_run):
    import uproot

    rec = pod_run["records"][0]
    assert rec["response"] == "success.", _explain(pod_run, rec)
    assert int(rec["output"]["mode"], 8) & 0o044 == 0o044, rec["output"]  # uid 1001 reads it
    with uproot.open(pod_run["scratch"] / rec["output_name"]) as f:
        trees = {k.split(";")[0] for k, c in f.classnames().items() if c == "TTree"}
    assert "reco" in trees, trees


def test_the_sidecar_records_the_true_event_count_and_size(pod_run):
    """What the file-complete record carries, on the sidecar generations that can run us."""
    rec = pod_run["records"][0]
    assert rec["response"] == "success.", _explain(pod_run, rec)
    parser = rec["capabilities"]["stats-parser"]
    for generation, outcome in rec["sidecars"].items():
        assert outcome["parser"] == parser, f"{generation} sidecar has no {parser}"
        assert outcome["status"] == "success"
        assert outcome["total_events"] == pod_run["events"], (generation, outcome, rec["log"])
        assert outcome["total_bytes"] == rec["output_size"], (generation, outcome)


def test_a_failed_file_fails_and_the_sidecar_shows_its_cause(pod_run):
    rec = pod_run["records"][1]
    assert rec["response"] == "failure.", _explain(pod_run, rec)  # PIPESTATUS[0], not tee's status
    assert not rec["output_exists"]
    assert rec["scratch_listing"] == [pod_run["records"][0]["output_name"]]  # nothing added
    ours = [ln for ln in rec["log"].splitlines() if ln.startswith("ERROR: ")][-1]
    assert "corrupt.DAOD_PHYSLITE.root" in ours, rec["log"]
    for generation, outcome in rec["sidecars"].items():
        # the line the sidecar logs for the file: our cause, through the parser we name
        expected = "Hard Failure: TopCPTransformException: " + ours[len("ERROR: "):]
        assert outcome["hard_failure"] == expected, (generation, outcome, rec["log"])
