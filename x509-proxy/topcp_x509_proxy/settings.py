"""Command-line options and their ``X509_PROXY_*`` environment equivalents.

Why: on a laptop the sidecar is run with flags; in a container it is configured with env vars.
One table drives both, so every option has exactly one env name, and the command line wins.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .durations import parse_duration
from .errors import UsageError
from .rfc3820 import ALLOWED_KEY_BITS

MODES = ("voms", "rfc3820", "passthrough")
DEFAULT_OUT = "/tmp/grid-security/x509up"
DEFAULT_HEALTH_PORT = 8480
STATUS_FILE_NAME = "x509-proxy-status.json"
_OFF = {"", "none", "off", "-"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

#: option dest -> environment variable (documented in docs/x509-proxy.md).
ENV = {
    "mode": "X509_PROXY_MODE",
    "cert": "X509_PROXY_CERT",
    "key": "X509_PROXY_KEY",
    "passphrase_file": "X509_PROXY_PASSPHRASE_FILE",
    "out": "X509_PROXY_OUT",
    "lifetime": "X509_PROXY_LIFETIME",
    "renew_threshold": "X509_PROXY_RENEW_THRESHOLD",
    "interval": "X509_PROXY_INTERVAL",
    "retry_interval": "X509_PROXY_RETRY_INTERVAL",
    "poll_interval": "X509_PROXY_POLL_INTERVAL",
    "vo": "X509_PROXY_VO",
    "source": "X509_PROXY_SOURCE",
    "status_file": "X509_PROXY_STATUS_FILE",
    "health_port": "X509_PROXY_HEALTH_PORT",
    "health_host": "X509_PROXY_HEALTH_HOST",
    "once": "X509_PROXY_ONCE",
    "voms_proxy_init": "X509_PROXY_VOMS_PROXY_INIT",
    "voms_timeout": "X509_PROXY_VOMS_TIMEOUT",
    "key_bits": "X509_PROXY_KEY_BITS",
    "log_level": "X509_PROXY_LOG_LEVEL",
}


@dataclass(frozen=True)
class Settings:
    """Everything the service needs, validated; durations in seconds."""

    mode: str
    cert: Path
    key: Path
    passphrase_file: Path | None
    out: Path
    lifetime: float
    renew_threshold: float
    interval: float
    retry_interval: float
    poll_interval: float
    vo: str
    source: Path
    status_file: Path | None
    health_port: int
    health_host: str
    once: bool
    voms_proxy_init: str
    voms_timeout: float
    key_bits: int
    log_level: str
    healthcheck: bool = False


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see topcp-x509-proxy --help)")


def _duration(option: str):
    def parse(text: str) -> float:
        # argparse and the X509_PROXY_* reader both name the option already: no prefix here.
        try:
            value = parse_duration(text, option=option)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{option}: ")) from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be longer than zero, got {text!r}")
        return value

    return parse


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a port number: {text!r} (0 turns the endpoint off)"
        ) from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"port {port} is outside 0-65535 (0 turns the endpoint off)"
        )
    return port


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="topcp-x509-proxy",
        description=(
            "Keep a valid grid proxy at a shared path (default /tmp/grid-security/x509up), "
            "renewed before it expires and always written atomically with mode 0600. "
            "Every option can also be set with the X509_PROXY_* variable named in its help."
        ),
    )
    a = p.add_argument
    a(
        "--mode",
        choices=MODES,
        help="voms: run voms-proxy-init; rfc3820: sign a plain RFC 3820 "
        "proxy with the user's key; passthrough: republish an existing proxy (default voms) [X509_PROXY_MODE]",
    )
    a(
        "--cert",
        help="user certificate PEM (default $X509_USER_CERT or ~/.globus/usercert.pem) [X509_PROXY_CERT]",
    )
    a(
        "--key",
        help="user private key PEM, mode 0600/0400 (default $X509_USER_KEY or "
        "~/.globus/userkey.pem) [X509_PROXY_KEY]",
    )
    a(
        "--passphrase-file",
        help="file holding the key's passphrase; read, never logged, "
        "given to voms-proxy-init on stdin [X509_PROXY_PASSPHRASE_FILE]",
    )
    a("--out", help=f"where to publish the proxy (default {DEFAULT_OUT}) [X509_PROXY_OUT]")
    a(
        "--lifetime",
        type=_duration("--lifetime"),
        help="proxy lifetime: 12h, 30m, 90s, 1h30m, "
        "12:00 or hours (default 12h) [X509_PROXY_LIFETIME]",
    )
    a(
        "--renew-threshold",
        type=_duration("--renew-threshold"),
        help="renew (and warn) when less "
        "than this is left (default 3h, or a quarter of --lifetime if shorter) [X509_PROXY_RENEW_THRESHOLD]",
    )
    a(
        "--interval",
        type=_duration("--interval"),
        help="also renew this often regardless (default 6h, as upstream) [X509_PROXY_INTERVAL]",
    )
    a(
        "--retry-interval",
        type=_duration("--retry-interval"),
        help="wait this long after a failed "
        "renewal before trying again (default 60s) [X509_PROXY_RETRY_INTERVAL]",
    )
    a(
        "--poll-interval",
        type=_duration("--poll-interval"),
        help="check the passthrough source "
        "for changes, and --out for removal, this often (default 30s) [X509_PROXY_POLL_INTERVAL]",
    )
    a(
        "--vo",
        help="VOMS VO (default atlas; 'none' for a proxy without VOMS attributes) [X509_PROXY_VO]",
    )
    a(
        "--source",
        help="passthrough: the proxy to republish (default /tmp/x509up_u<uid>) [X509_PROXY_SOURCE]",
    )
    a(
        "--status-file",
        help=f"JSON status file (default {STATUS_FILE_NAME} beside --out; "
        "'none' turns it off) [X509_PROXY_STATUS_FILE]",
    )
    a(
        "--health-port",
        type=_port,
        help=f"HTTP /healthz and /status port (default "
        f"{DEFAULT_HEALTH_PORT}; 0 = off) [X509_PROXY_HEALTH_PORT]",
    )
    a(
        "--health-host",
        help="address the health endpoint binds (default 127.0.0.1) [X509_PROXY_HEALTH_HOST]",
    )
    a(
        "--once",
        action="store_true",
        default=None,
        help="make or copy one proxy, then exit [X509_PROXY_ONCE]",
    )
    a(
        "--voms-proxy-init",
        help="voms-proxy-init executable (default: found on PATH) [X509_PROXY_VOMS_PROXY_INIT]",
    )
    a(
        "--voms-timeout",
        type=_duration("--voms-timeout"),
        help="give up on voms-proxy-init after this (default 2m) [X509_PROXY_VOMS_TIMEOUT]",
    )
    a(
        "--key-bits",
        type=int,
        choices=ALLOWED_KEY_BITS,
        help="RSA size of the proxy key (default 2048) [X509_PROXY_KEY_BITS]",
    )
    a(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        type=str.upper,
        help="log verbosity (default INFO) [X509_PROXY_LOG_LEVEL]",
    )
    a(
        "--healthcheck",
        action="store_true",
        help="ask a running instance's /healthz and exit 0 (healthy) or 1; for Docker HEALTHCHECK",
    )
    a("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def _from_env(parser: argparse.ArgumentParser, dest: str, env: Mapping[str, str]):
    """The env value for ``dest`` converted like the flag would be; None when unset."""
    name = ENV[dest]
    raw = env.get(name)
    if raw is None:
        return None
    action = next(a for a in parser._actions if a.dest == dest)
    if dest == "once":
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise UsageError(f"{name}={raw!r}: use 1/true/yes or 0/false/no")
    if raw.strip() == "" and dest not in ("vo", "status_file", "passphrase_file"):
        return None
    value = raw
    try:
        if action.type is not None:
            value = action.type(raw)  # type: ignore[misc]
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise UsageError(f"{name}={raw!r}: {exc}") from None
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise UsageError(f"{name}={raw!r}: choose one of {choices}")
    return value


def parse_settings(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Merge defaults < environment < command line, then check the combination."""
    env = os.environ if env is None else env
    parser = build_parser()
    ns = parser.parse_args(argv)
    for dest in ENV:
        if getattr(ns, dest) is None:
            setattr(ns, dest, _from_env(parser, dest, env))

    home = Path(env.get("HOME") or Path.home())
    mode = ns.mode or "voms"
    cert = Path(ns.cert or env.get("X509_USER_CERT") or home / ".globus" / "usercert.pem")
    key = Path(ns.key or env.get("X509_USER_KEY") or home / ".globus" / "userkey.pem")
    out = Path(ns.out or DEFAULT_OUT)
    pass_file = None if ns.passphrase_file in (None, "") else Path(ns.passphrase_file)
    if ns.status_file is None:
        status_file: Path | None = out.parent / STATUS_FILE_NAME
    elif ns.status_file.strip().lower() in _OFF:
        status_file = None
    else:
        status_file = Path(ns.status_file)
    vo = "atlas" if ns.vo is None else ("" if ns.vo.strip().lower() in _OFF else ns.vo.strip())
    source = Path(ns.source or f"/tmp/x509up_u{os.getuid()}")
    lifetime = ns.lifetime or 12 * 3600.0
    settings = Settings(
        mode=mode,
        cert=cert,
        key=key,
        passphrase_file=pass_file,
        out=out,
        lifetime=lifetime,
        renew_threshold=ns.renew_threshold or min(3 * 3600.0, lifetime / 4),
        interval=ns.interval or 6 * 3600.0,
        retry_interval=ns.retry_interval or 60.0,
        poll_interval=ns.poll_interval or 30.0,
        vo=vo,
        source=source,
        status_file=status_file,
        health_port=DEFAULT_HEALTH_PORT if ns.health_port is None else ns.health_port,
        health_host=ns.health_host or "127.0.0.1",
        once=bool(ns.once),
        voms_proxy_init=ns.voms_proxy_init or "voms-proxy-init",
        voms_timeout=ns.voms_timeout or 120.0,
        key_bits=ns.key_bits or 2048,
        log_level=ns.log_level or "INFO",
        healthcheck=bool(ns.healthcheck),
    )
    _check(settings)
    return settings


def _check(s: Settings) -> None:
    if s.out.is_dir():
        raise UsageError(
            f"--out {s.out} is a directory; give the proxy file path, e.g. {s.out / 'x509up'}"
        )
    if s.mode != "passthrough" and s.renew_threshold >= s.lifetime:
        raise UsageError(
            f"--renew-threshold ({s.renew_threshold:g}s) must be shorter than --lifetime "
            f"({s.lifetime:g}s), otherwise every new proxy would be renewed at once"
        )
    if s.mode == "passthrough":
        try:
            same = s.source.resolve() == s.out.resolve()
        except OSError:
            same = False
        if same:
            raise UsageError(
                f"--source and --out are the same file ({s.out}); publish to another path"
            )
    if s.status_file is not None and s.status_file.resolve() == s.out.resolve():
        raise UsageError("--status-file must differ from --out")
