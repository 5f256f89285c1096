"""Every bad input gets its own message and exit code, and nothing is published.

These run the installed console script as users do. The code table lives in
docs/x509-proxy.md and topcp_x509_proxy.errors.ExitCode.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from topcp_x509_proxy.errors import ExitCode

from .conftest import run_cli
from .helpers import credential_args
from .pki import PASSPHRASE, write


def rfc_args(pki, out: Path, **over: str) -> list[str]:
    """rfc3820 --once options; ``over`` replaces options (argparse keeps the last one given)."""
    return credential_args(pki, "rfc3820", out, "--once", *[x for kv in over.items() for x in kv])


def check(done, code: ExitCode, *fragments: str, out: Path) -> None:
    assert done.returncode == code, f"exit {done.returncode}, expected {code}: {done.stderr}"
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr
    assert not out.exists(), "nothing may be published after an error"
    assert PASSPHRASE not in done.stderr + done.stdout
    assert "-----\nMII" not in done.stderr + done.stdout  # no PEM body of any key


def test_missing_certificate(pki, tmp_path) -> None:
    out = tmp_path / "x509up"
    missing = tmp_path / "nope" / "usercert.pem"
    done = run_cli(rfc_args(pki, out, **{"--cert": str(missing)}))
    check(done, ExitCode.MISSING_FILE, f"certificate {missing} does not exist", "--cert", out=out)


def test_missing_key(pki, tmp_path) -> None:
    out = tmp_path / "x509up"
    pki.key.unlink()
    done = run_cli(rfc_args(pki, out))
    check(done, ExitCode.MISSING_FILE, f"private key {pki.key} does not exist", "--key", out=out)


def test_missing_passphrase_file(pki, tmp_path) -> None:
    out = tmp_path / "x509up"
    done = run_cli(rfc_args(pki, out, **{"--passphrase-file": str(tmp_path / "pw")}))
    check(done, ExitCode.MISSING_FILE, "passphrase file", "does not exist", out=out)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_key_readable_by_group_or_others_is_refused(pki, tmp_path, mode) -> None:
    out = tmp_path / "x509up"
    os.chmod(pki.key, mode)
    done = run_cli(rfc_args(pki, out))
    check(done, ExitCode.INSECURE_KEY, f"mode {mode:04o}", f"chmod 600 {pki.key}", out=out)


def test_wrong_passphrase(pki, tmp_path) -> None:
    out = tmp_path / "x509up"
    write(pki.passphrase_file, "Correct Horse\n", 0o600)
    done = run_cli(rfc_args(pki, out))
    check(done, ExitCode.WRONG_PASSPHRASE, f"wrong passphrase for private key {pki.key}", out=out)
    assert "Correct Horse" not in done.stderr


def test_encrypted_key_without_passphrase(pki, tmp_path) -> None:
    out = tmp_path / "x509up"
    args = [
        a for a in rfc_args(pki, out) if a not in ("--passphrase-file", str(pki.passphrase_file))
    ]
    done = run_cli(args)
    check(
        done,
        ExitCode.WRONG_PASSPHRASE,
        "is encrypted but no passphrase was given",
        "--passphrase-file",
        out=out,
    )


def test_expired_certificate(pki, tmp_path) -> None:
    out = tmp_path / "x509up"
    done = run_cli(
        rfc_args(pki, out, **{"--cert": str(pki.expired_cert), "--key": str(pki.expired_key)})
    )
    check(
        done, ExitCode.EXPIRED, f"certificate {pki.expired_cert}", "expired on", "renew it", out=out
    )


def test_certificate_key_mismatch(pki, tmp_path) -> None:
    out = tmp_path / "x509up"
    done = run_cli(rfc_args(pki, out, **{"--key": str(pki.other_key)}))
    check(
        done,
        ExitCode.KEY_MISMATCH,
        f"private key {pki.other_key} does not belong to certificate {pki.cert}",
        out=out,
    )


def test_certificate_that_is_not_pem(pki, tmp_path) -> None:
    out = tmp_path / "x509up"
    write(pki.cert, b"\x30\x82\x01\x00 DER or junk")
    done = run_cli(rfc_args(pki, out))
    check(done, ExitCode.BAD_INPUT, "holds no PEM certificate", "openssl pkcs12", out=out)


def test_key_that_is_not_pem(pki, tmp_path) -> None:
    out = tmp_path / "x509up"
    write(pki.key, "just text\n", 0o600)
    done = run_cli(rfc_args(pki, out))
    check(done, ExitCode.BAD_INPUT, "holds no PEM private key", out=out)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--lifetime", "soon"], "cannot read 'soon' as a duration"),
        (["--lifetime", "0s"], "must be longer than zero"),
        (["--lifetime", "1h", "--renew-threshold", "2h"], "must be shorter than --lifetime"),
        (["--health-port", "70000"], "outside 0-65535"),
        (["--mode", "kerberos"], "invalid choice: 'kerberos'"),
        (["--key-bits", "1024"], "invalid choice: 1024"),
    ],
)
def test_bad_options_are_usage_errors(pki, tmp_path, extra, fragment) -> None:
    out = tmp_path / "x509up"
    done = run_cli(rfc_args(pki, out) + extra)
    check(done, ExitCode.USAGE, fragment, out=out)
    assert f"{extra[-2]}: {extra[-2]}:" not in done.stderr  # the option is named once


def test_key_path_that_is_a_directory_is_not_a_permission_problem(pki, tmp_path) -> None:
    out = tmp_path / "x509up"
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o755)
    done = run_cli(rfc_args(pki, out, **{"--key": str(folder)}))
    check(done, ExitCode.MISSING_FILE, f"private key {folder} is not a regular file", out=out)
    assert "chmod" not in done.stderr


def test_passthrough_source_that_is_a_directory(tmp_path) -> None:
    out = tmp_path / "x509up"
    done = run_cli(["--mode", "passthrough", "--source", str(tmp_path), "--out", str(out),
                    "--once"])
    check(done, ExitCode.MISSING_FILE, f"{tmp_path} is not a regular file", out=out)
    assert "chmod" not in done.stderr


def test_out_pointing_at_a_directory(pki, tmp_path) -> None:
    done = run_cli(rfc_args(pki, tmp_path))
    assert done.returncode == ExitCode.USAGE and "is a directory" in done.stderr


def test_unwritable_output_directory(pki, tmp_path) -> None:
    blocker = write(tmp_path / "file", "not a directory")
    out = blocker / "x509up"
    done = run_cli(rfc_args(pki, out))
    assert done.returncode == ExitCode.OUTPUT_ERROR, done.stderr
    assert f"cannot create output directory {blocker}" in done.stderr


def test_health_port_in_use(pki, tmp_path) -> None:
    out = tmp_path / "x509up"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        args = [a for a in rfc_args(pki, out) if a != "--once"] + ["--health-port", str(port)]
        done = run_cli(args)
    check(done, ExitCode.HEALTH_PORT, f"127.0.0.1:{port}", "--health-port", out=out)


def test_bad_environment_value_names_the_variable(pki, tmp_path) -> None:
    out = tmp_path / "x509up"
    done = run_cli(rfc_args(pki, out), env={"X509_PROXY_LIFETIME": "forever"})
    check(done, ExitCode.USAGE, "X509_PROXY_LIFETIME='forever'", out=out)
