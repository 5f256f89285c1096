"""Which runTop_el.py runs, and the x509 proxy it sees.

Resolution order (docs/contracts.md): $RUNTOP_EL, runTop_el.py on PATH, the ATLAS release +
TopCPToolkit setup scripts sourced in a clean bash, then the emulator.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from sciencekit import STUB, run


def _install_stub(directory: Path, name: str = "runTop_el.py") -> Path:
    """A copy of the stub that runs with this Python (the shebang names it)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    text = STUB.read_text().split("\n", 1)[1]
    target.write_text(f"#!{sys.executable}\n{text}")
    target.chmod(0o755)
    return target


def _clean_path(tmp_path: Path) -> str:
    """A PATH with bash and coreutils but neither runTop_el.py nor topcp-emulate."""
    bindir = tmp_path / "sysbin"
    bindir.mkdir(exist_ok=True)
    for tool in ("bash", "env"):
        found = shutil.which(tool)
        if found and not (bindir / tool).exists():
            (bindir / tool).symlink_to(found)
    return str(bindir)


@pytest.fixture
def no_runtop_env(env, tmp_path):
    del env["RUNTOP_EL"]
    env["PATH"] = _clean_path(tmp_path)
    env["ATLAS_RELEASE_SETUP"] = str(tmp_path / "no-release-setup.sh")
    env["TOPCP_SETUP"] = str(tmp_path / "no-topcp" / "x86_64-*" / "setup.sh")
    return env


def test_runtop_el_on_path(no_runtop_env, bundle, tmp_path, physlite_ttree):
    stub = _install_stub(tmp_path / "atlasbin")
    no_runtop_env["PATH"] = f"{stub.parent}{os.pathsep}{no_runtop_env['PATH']}"
    result = run(bundle, physlite_ttree, tmp_path / "o.root", no_runtop_env)
    assert result.returncode == 0, result.stdout
    assert f"runTop_el.py: real {stub} (found via PATH)" in result.stdout


def _fake_atlas(tmp_path: Path) -> tuple[Path, Path]:
    stub = _install_stub(tmp_path / "atlas" / "bin")
    release = tmp_path / "atlas" / "release_setup.sh"
    # Real setup scripts parse "$@": they must not be handed runTop_el.py's options.
    release.write_text(
        '[ "$#" -eq 0 ] || { echo "release setup saw arguments: $*"; return 1; }\n'
        f'export PATH="{stub.parent}:$PATH"\n'
        "export STUB_SETUP_MARK=release\n"
    )
    topcp = tmp_path / "TopCPToolkit" / "build" / "x86_64-el9-gcc13-opt" / "setup.sh"
    topcp.parent.mkdir(parents=True)
    topcp.write_text('export STUB_SETUP_MARK="$STUB_SETUP_MARK+topcp"\n')
    return release, topcp


def test_atlas_setup_is_sourced_without_login_files(
    no_runtop_env, bundle, tmp_path, physlite_ttree, record
):
    """Neither BASH_ENV nor ~/.bashrc/.bash_profile may matter (ServiceX sets BASH_ENV)."""
    release, topcp = _fake_atlas(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    for rc in (".bashrc", ".bash_profile", ".profile"):
        (home / rc).write_text("echo read-a-login-file; exit 8\n")
    bash_env = tmp_path / "bash_env.sh"
    bash_env.write_text("echo read-BASH_ENV; exit 9\n")
    no_runtop_env.update(
        ATLAS_RELEASE_SETUP=str(release),
        TOPCP_SETUP=str(tmp_path / "TopCPToolkit" / "build" / "x86_64-*" / "setup.sh"),
        HOME=str(home),
        BASH_ENV=str(bash_env),
    )
    result = run(bundle, physlite_ttree, tmp_path / "o.root", no_runtop_env)

    assert result.returncode == 0, result.stdout
    assert f"found via ATLAS setup ({release} + {topcp})" in result.stdout
    assert "topcp-setup: runTop_el.py = " in result.stdout
    assert "read-" not in result.stdout
    rec = record()
    assert rec["setup_mark"] == "release+topcp"
    assert rec["bash_env"] is None
    assert rec["argv"][:2] == ["-i", "input.txt"]


def test_atlas_setup_without_runtop_el(no_runtop_env, bundle, tmp_path, physlite_ttree):
    release = tmp_path / "release_setup.sh"
    release.write_text("export STUB_SETUP_MARK=release\n")
    topcp = tmp_path / "build" / "x86_64-centos7" / "setup.sh"
    topcp.parent.mkdir(parents=True)
    topcp.write_text("true\n")
    no_runtop_env.update(ATLAS_RELEASE_SETUP=str(release), TOPCP_SETUP=str(topcp))
    output = tmp_path / "o.root"
    result = run(bundle, physlite_ttree, output, no_runtop_env)
    assert result.returncode == 5, result.stdout
    assert "runTop_el.py not on PATH after the setup" in result.lines[-1]
    assert not output.exists()


def test_emulator_fallback_is_announced(no_runtop_env, bundle, tmp_path, physlite_ttree):
    emulator = _install_stub(tmp_path / "emu", "topcp-emulate")
    no_runtop_env["TOPCP_EMULATOR"] = str(emulator)
    result = run(bundle, physlite_ttree, tmp_path / "o.root", no_runtop_env)
    assert result.returncode == 0, result.stdout
    assert f"runTop_el.py: EMULATED {emulator} (found via $TOPCP_EMULATOR)" in result.stdout


def test_emulator_on_path(no_runtop_env, bundle, tmp_path, physlite_ttree):
    emulator = _install_stub(tmp_path / "emu", "topcp-emulate")
    no_runtop_env["PATH"] = f"{emulator.parent}{os.pathsep}{no_runtop_env['PATH']}"
    result = run(bundle, physlite_ttree, tmp_path / "o.root", no_runtop_env)
    assert result.returncode == 0, result.stdout
    assert f"EMULATED {emulator} (found via topcp-emulate)" in result.stdout


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="no system python3")
def test_nothing_found_under_a_plain_python(no_runtop_env, bundle, tmp_path, physlite_ttree):
    """Under a python without our venv (as in the pod) and without any runTop_el.py.

    This also shows the script needs nothing beyond the standard library.
    """
    import subprocess

    output = tmp_path / "o.root"
    proc = subprocess.run(
        [
            "/usr/bin/python3",
            str(bundle / "transform_single_file.py"),
            str(physlite_ttree),
            str(output),
            "root-file",
        ],
        env=no_runtop_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("ERROR: no runTop_el.py")
    assert not output.exists()


# ---------------------------------------------------------------------------------------- x509
def _proxy(tmp_path: Path, mode: int) -> Path:
    proxy = tmp_path / "grid-security-ro" / "x509up"
    proxy.parent.mkdir()
    proxy.write_text("-----BEGIN CERTIFICATE-----\nproxy\n")
    proxy.chmod(mode)
    return proxy


def test_read_only_proxy_is_copied_private(bundle, env, tmp_path, physlite_ttree, record):
    proxy = _proxy(tmp_path, 0o444)
    dest = tmp_path / "grid-security" / "x509up"
    env.update(X509_USER_PROXY=str(proxy), TOPCP_X509_DEST=str(dest))
    result = run(bundle, physlite_ttree, tmp_path / "o.root", env)
    assert result.returncode == 0, result.stdout
    seen = record()["x509"]
    assert seen == {"path": str(dest), "mode": 0o600, "content": proxy.read_text()}
    assert stat.S_IMODE(proxy.stat().st_mode) == 0o444  # the mounted original is untouched


def test_proxy_copy_falls_back_to_the_work_dir(bundle, env, tmp_path, physlite_ttree, record):
    proxy = _proxy(tmp_path, 0o644)
    env.update(X509_USER_PROXY=str(proxy), TOPCP_X509_DEST="/proc/no-such-dir/x509up")
    result = run(bundle, physlite_ttree, tmp_path / "o.root", env)
    assert result.returncode == 0, result.stdout
    rec = record()
    assert rec["x509"]["path"] == os.path.join(rec["cwd"], "x509up")
    assert rec["x509"]["mode"] == 0o600


def test_private_proxy_is_used_as_is(bundle, env, tmp_path, physlite_ttree, record):
    proxy = _proxy(tmp_path, 0o600)
    env["X509_USER_PROXY"] = str(proxy)
    result = run(bundle, physlite_ttree, tmp_path / "o.root", env)
    assert result.returncode == 0, result.stdout
    assert record()["x509"]["path"] == str(proxy)


def test_missing_proxy_runs_without_one(bundle, env, tmp_path, physlite_ttree, record):
    env["X509_USER_PROXY"] = str(tmp_path / "absent" / "x509up")
    result = run(bundle, physlite_ttree, tmp_path / "o.root", env)
    assert result.returncode == 0, result.stdout
    assert record()["x509"]["path"] is None
