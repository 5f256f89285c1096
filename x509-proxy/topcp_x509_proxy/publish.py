"""Publish files atomically: temp file beside the target, fsync, rename, fsync the directory.

Why: the science container may read the proxy at any moment; a reader must see either the
old complete file or the new complete file, never a truncated one, and a crash must not leave
a half-written proxy at the shared path.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import OutputError


def ensure_directory(directory: Path, *, mode: int = 0o755) -> None:
    """Create the output directory (and parents) if needed; leave an existing one alone."""
    if directory.is_dir():
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, mode)  # mkdir's mode is masked by the umask
    except OSError as exc:
        raise OutputError(
            f"cannot create output directory {directory}: {exc.strerror or exc}"
        ) from None


def atomic_write(target: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``target`` with ``data`` in one rename; the file never exists with other content."""
    ensure_directory(target.parent)
    if target.is_dir():
        raise OutputError(f"output path {target} is a directory; give a file path with --out")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write in {target.parent}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; some filesystems do not allow this, which is harmless."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
