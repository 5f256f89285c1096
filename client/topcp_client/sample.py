"""``topcp-sx sample``: a real PHYSLITE file for users without the shared test data.

The coffea 2026.9.0 source distribution on PyPI ships ``tests/samples/PHYSLITE_example.root``
(100 events, Run-2 MC). We download the sdist with pip (so proxies and indexes configured for
pip just work), extract that one member safely, and check its sha256 before publishing it
atomically at ``DEST/PHYSLITE_example.root``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

COFFEA_VERSION = "2026.9.0"
SDIST_NAME = f"coffea-{COFFEA_VERSION}.tar.gz"
MEMBER = f"coffea-{COFFEA_VERSION}/tests/samples/PHYSLITE_example.root"
FILE_NAME = "PHYSLITE_example.root"
SHA256 = "6ebbafb5a1f72ca0b6fa47de73c28906101997e6f8a58d97536e4c040a15aa0b"
MAX_MEMBER_BYTES = 64 * 1024 * 1024


class SampleError(RuntimeError):
    """Download, extraction or verification failed; the message says which and why."""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_sdist(workdir: Path) -> Path:
    """``pip download`` the coffea sdist (no deps, no wheels) into ``workdir``."""
    argv = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
        "--disable-pip-version-check", "--quiet", "--dest", str(workdir),
        f"coffea=={COFFEA_VERSION}",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    tarball = workdir / SDIST_NAME
    if done.returncode != 0 or not tarball.is_file():
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise SampleError(
            f"pip download of coffea=={COFFEA_VERSION} failed (exit {done.returncode}): "
            + " / ".join(detail) + "; check network access to PyPI, or pass any PHYSLITE file "
            "to 'topcp-sx run' yourself"
        )
    return tarball


def extract_member(tarball: Path, dest_file: Path, *, member: str = MEMBER,
                   expected_sha256: str = SHA256) -> Path:
    """Copy one regular-file member out of ``tarball`` to ``dest_file`` if its hash matches.

    Only the named member is read (no ``extractall``): links, devices, oversized members and
    path tricks are rejected, and the file appears at ``dest_file`` only once verified.
    """
    try:
        tf = tarfile.open(tarball, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise SampleError(f"{tarball}: not a readable tarball ({exc})") from None
    with tf:
        try:
            info = tf.getmember(member)
        except KeyError:
            raise SampleError(f"{tarball}: has no member {member}") from None
        if not info.isreg():
            raise SampleError(f"{tarball}: {member} is not a regular file")
        if info.size > MAX_MEMBER_BYTES:
            raise SampleError(f"{tarball}: {member} is {info.size} bytes, more than expected")
        src = tf.extractfile(info)
        if src is None:
            raise SampleError(f"{tarball}: cannot read {member}")
        dest_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest_file.with_name(f".{dest_file.name}.part")
        h = hashlib.sha256()
        try:
            with src, open(tmp, "wb") as out:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    h.update(chunk)
                    out.write(chunk)
            if h.hexdigest() != expected_sha256:
                raise SampleError(
                    f"{member}: sha256 {h.hexdigest()} does not match the expected "
                    f"{expected_sha256}; not using it"
                )
            tmp.replace(dest_file)
        finally:
            tmp.unlink(missing_ok=True)
    return dest_file


def fetch_sample(dest: Path | str = Path("samples")) -> Path:
    """Return ``dest/PHYSLITE_example.root``, downloading it only when absent or corrupt."""
    dest = Path(dest)
    target = dest / FILE_NAME
    if target.is_file() and sha256_of(target) == SHA256:
        return target
    with tempfile.TemporaryDirectory(prefix="topcp-sx-sample-") as tmp:
        tarball = download_sdist(Path(tmp))
        return extract_member(tarball, target)
