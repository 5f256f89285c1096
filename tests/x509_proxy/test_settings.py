"""Options: duration forms, X509_PROXY_* environment equivalents, defaults and precedence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from topcp_x509_proxy.durations import format_duration, parse_duration
from topcp_x509_proxy.errors import UsageError
from topcp_x509_proxy.settings import DEFAULT_HEALTH_PORT, ENV, parse_settings


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("12h", 43200),
        ("30m", 1800),
        ("90s", 90),
        ("12", 43200),
        ("1.5", 5400),
        ("1h30m", 5400),
        ("2d", 172800),
        ("12:00", 43200),
        ("0:05", 300),
        ("0.5s", 0.5),
        ("1H 30M", 5400),
    ],
)
def test_duration_forms(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "12x", "h", "1h-30m", "1:75", "nan"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text, option="--lifetime")


def test_format_duration() -> None:
    assert [format_duration(s) for s in (42, 90, 43199, -5)] == ["42s", "1m30s", "11h59m", "-5s"]


def test_defaults(tmp_path: Path) -> None:
    s = parse_settings([], env={"HOME": str(tmp_path)})
    assert s.mode == "voms" and s.vo == "atlas"
    assert (
        s.cert == tmp_path / ".globus" / "usercert.pem"
        and s.key == tmp_path / ".globus" / "userkey.pem"
    )
    assert s.out == Path("/tmp/grid-security/x509up")
    assert s.status_file == Path("/tmp/grid-security/x509-proxy-status.json")
    assert (s.lifetime, s.renew_threshold, s.interval) == (12 * 3600, 3 * 3600, 6 * 3600)
    assert s.health_port == DEFAULT_HEALTH_PORT and s.health_host == "127.0.0.1"
    assert s.source == Path(f"/tmp/x509up_u{os.getuid()}")
    assert s.key_bits == 2048 and s.once is False


def test_standard_grid_variables_give_cert_and_key(tmp_path: Path) -> None:
    s = parse_settings(
        [], env={"X509_USER_CERT": "/c.pem", "X509_USER_KEY": "/k.pem", "HOME": str(tmp_path)}
    )
    assert (s.cert, s.key) == (Path("/c.pem"), Path("/k.pem"))


def test_every_option_has_an_environment_variable(tmp_path: Path) -> None:
    env = {
        ENV["mode"]: "rfc3820",
        ENV["cert"]: "/e/c.pem",
        ENV["key"]: "/e/k.pem",
        ENV["passphrase_file"]: "/run/secrets/pw",
        ENV["out"]: str(tmp_path / "p"),
        ENV["lifetime"]: "24h",
        ENV["renew_threshold"]: "2h",
        ENV["interval"]: "3h",
        ENV["retry_interval"]: "10s",
        ENV["poll_interval"]: "5s",
        ENV["vo"]: "none",
        ENV["source"]: "/host/x509up_u1000",
        ENV["status_file"]: "off",
        ENV["health_port"]: "0",
        ENV["health_host"]: "0.0.0.0",
        ENV["once"]: "yes",
        ENV["voms_proxy_init"]: "/opt/voms-proxy-init",
        ENV["voms_timeout"]: "30s",
        ENV["key_bits"]: "4096",
        ENV["log_level"]: "debug",
    }
    s = parse_settings([], env=env)
    assert s.mode == "rfc3820" and s.cert == Path("/e/c.pem") and s.key == Path("/e/k.pem")
    assert s.passphrase_file == Path("/run/secrets/pw") and s.out == tmp_path / "p"
    assert (s.lifetime, s.renew_threshold, s.interval) == (86400, 7200, 10800)
    assert (s.retry_interval, s.poll_interval, s.voms_timeout) == (10, 5, 30)
    assert s.vo == "" and s.source == Path("/host/x509up_u1000") and s.status_file is None
    assert s.health_port == 0 and s.health_host == "0.0.0.0" and s.once is True
    assert (
        s.voms_proxy_init == "/opt/voms-proxy-init"
        and s.key_bits == 4096
        and s.log_level == "DEBUG"
    )


def test_command_line_wins_over_environment(tmp_path: Path) -> None:
    s = parse_settings(
        ["--lifetime", "2h", "--mode", "passthrough"],
        env={"X509_PROXY_LIFETIME": "24h", "X509_PROXY_MODE": "voms", "HOME": str(tmp_path)},
    )
    assert s.lifetime == 7200 and s.mode == "passthrough"


def test_default_threshold_follows_a_short_lifetime(tmp_path: Path) -> None:
    assert parse_settings(["--lifetime", "2h"], env={"HOME": str(tmp_path)}).renew_threshold == 1800


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"X509_PROXY_ONCE": "maybe"}, "X509_PROXY_ONCE='maybe'"),
        ({"X509_PROXY_MODE": "krb5"}, "choose one of voms, rfc3820, passthrough"),
        ({"X509_PROXY_KEY_BITS": "1024"}, "choose one of 2048, 3072, 4096"),
        ({"X509_PROXY_HEALTH_PORT": "http"}, "not a port number"),
    ],
)
def test_bad_environment_values(env: dict[str, str], fragment: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(")):
        parse_settings([], env={**env, "HOME": str(tmp_path)})
