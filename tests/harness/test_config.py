"""Harness settings: defaults users rely on and clear errors for bad values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from topcp_harness.config import HarnessConfig, S3Settings


def test_defaults_bind_localhost_with_one_worker_per_core(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    cfg = HarnessConfig(state_dir=tmp_path)
    assert (cfg.host, cfg.port, cfg.runner, cfg.retries) == ("127.0.0.1", 5001, "process", 2)
    assert cfg.worker_count == (os.cpu_count() or 1)
    # safe by default: no token needed on loopback, inputs from the working folder only,
    # no remote fetches, and outputs expire after 30 days as with ServiceX's minio cleanup
    assert cfg.token is None and cfg.data_dirs == (tmp_path.resolve(),)
    assert not cfg.allow_remote and cfg.expire_days == 30


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "harness.example.org"])
def test_a_non_loopback_bind_without_a_token_is_refused(tmp_path: Path, host: str):
    with pytest.raises(ValueError, match=f"refusing to listen on {host} without a token.*--auth"):
        HarnessConfig(state_dir=tmp_path, host=host)
    # with a token, or explicitly private (a container publishing on 127.0.0.1), it is allowed
    assert HarnessConfig(state_dir=tmp_path, host=host, token="t" * 32).host == host
    assert HarnessConfig(state_dir=tmp_path, host=host, insecure_bind=True).host == host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_binds_need_no_token(tmp_path: Path, host: str):
    assert HarnessConfig(state_dir=tmp_path, host=host).token is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"runner": "k8s"}, "runner must be one of process, docker"),
    ({"workers": 0}, "workers must be at least 1"),
    ({"retries": -1}, "retries must be 0 or more"),
    ({"port": 70000}, "port must be 0..65535"),
    ({"token": "short"}, "at least 16 characters"),
    ({"expire_days": -1}, "expire_days must be 0"),
])
def test_bad_settings_say_what_is_expected(tmp_path: Path, kwargs: dict, message: str):
    with pytest.raises(ValueError, match=message):
        HarnessConfig(state_dir=tmp_path, **kwargs)


def test_s3_settings_from_a_dict_accept_a_url():
    s3 = S3Settings.coerce({"endpoint": "https://minio.local:9000/", "access_key": "a",
                            "secret_key": "b"})
    assert (s3.endpoint, s3.secure, s3.url) == ("minio.local:9000", True,
                                                "https://minio.local:9000")


def test_s3_settings_name_the_missing_keys():
    with pytest.raises(ValueError, match="access_key, secret_key"):
        S3Settings.coerce({"endpoint": "127.0.0.1:9000"})


def test_a_busy_port_is_reported_before_anything_starts(harness, tmp_path: Path):
    from topcp_harness.server import Harness

    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{harness.port}.*--port"):
        Harness(HarnessConfig(port=harness.port, state_dir=tmp_path)).start()
    assert not (tmp_path / "s3").exists()  # no SeaweedFS was started


def test_two_harnesses_cannot_share_a_state_folder(harness):
    from topcp_harness.server import Harness

    with pytest.raises(RuntimeError, match=r"is in use by another harness \(pid \d+\)"):
        Harness(HarnessConfig(port=0, state_dir=harness.config.state_dir)).start()
