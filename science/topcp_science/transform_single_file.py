#!/usr/bin/env python3
"""Run TopCPToolkit's ``runTop_el.py`` on one input file for ServiceX.

Usage: ``transform_single_file.py <input path or URL> <output path> <format>``

This file is shipped flat in every bundle (``/generated`` in a transformer pod) and is started
by a plain ``python``/``python3`` *before* any ATLAS environment exists, so it uses the standard
library only and keeps to Python 3.9 syntax. Everything it needs comes from its own folder
(``run_manifest.json`` and the YAMLs), or from ``TOPCP_BUNDLE_DIR``.

Why a wrapper at all: the upstream image sets ATLAS up only in ``~/.bashrc`` (which ServiceX's
``bash -c`` never reads), runs concurrent jobs in one ``$TMPDIR`` although ``runTop_el.py`` uses
fixed temporary names, reports failures as a bare traceback and prints no event count. This
script sets the environment up itself, isolates every call, verifies the output and ends its
log (which the sidecar tees to ``<request>/abc.log``) with the lines the sidecar's
``RawUprootStats`` parser reads (ssl-hep/ServiceX transformer_sidecar, raw_uproot_stats.py,
v1.5.0+ 2024-09 and 2025-26): on success exactly one ``Transform stats: Total Events: N,
resulting file size S`` line (N counts each input event once however many levels ran; S is
the output's size); on failure a ``TopCPTransformException: <cause>`` line, which that parser
reports as the file's error, then our ``ERROR: <cause> [exit N: ...]`` line. runTop_el.py's own
output, EventLoop's ``Processing events`` lines included, is relayed unchanged.

Exit codes and environment variables are documented in ``docs/science.md`` and in ``EXIT_CODES``.
"""

from __future__ import annotations

import glob
import json
import lzma
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

# --------------------------------------------------------------------------------------------
# Exit codes (documented in docs/science.md; keep both in sync)
# --------------------------------------------------------------------------------------------
EXIT_OK = 0
EXIT_USAGE = 2  # bad arguments, unsupported output format
EXIT_BUNDLE = 3  # missing/invalid run_manifest.json or YAML named in it
EXIT_INPUT = 4  # local input missing, unreadable, empty or not a ROOT file
EXIT_ENVIRONMENT = 5  # no runTop_el.py (real or emulated) could be found or set up
EXIT_INTERNAL = 6  # work dir / output move failed (disk full, permissions)
EXIT_CONFIG = 10  # runTop_el.py rejected the YAML configuration
EXIT_CRASH = 11  # runTop_el.py failed for another reason (or was killed)
EXIT_TIMEOUT = 12  # runTop_el.py ran longer than TOPCP_TIMEOUT_S
EXIT_NO_OUTPUT = 13  # runTop_el.py finished but wrote no <name>.root
EXIT_CORRUPT_OUTPUT = 14  # the output is not a readable ROOT file / merge failed
# Terminated by SIGTERM/SIGINT/SIGHUP: 128 + signal number (143, 130, 129).

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_USAGE: "bad arguments",
    EXIT_BUNDLE: "bad or missing bundle",
    EXIT_INPUT: "unreadable input",
    EXIT_ENVIRONMENT: "no runTop_el.py available",
    EXIT_INTERNAL: "work dir or output move failed",
    EXIT_CONFIG: "configuration rejected by runTop_el.py",
    EXIT_CRASH: "runTop_el.py crashed",
    EXIT_TIMEOUT: "timeout",
    EXIT_NO_OUTPUT: "no output written",
    EXIT_CORRUPT_OUTPUT: "corrupt output",
}

ROOT_FORMATS = ("root-file", "root", "root_ttree")
LEVELS = ("reco", "particle", "parton")
OUTPUT_NAME = "output"  # runTop_el.py -o; it writes <name>.root
# runTop_el.py -t: the config folder in the work dir. A name no TopCPToolkit or athena data
# folder uses, so PathResolver's CALIBPATH search could never substitute another config for it.
CONFIG_DIR_NAME = "servicex_topcp_config"
DEFAULT_TIMEOUT_S = 6 * 3600.0
DEFAULT_KILL_GRACE_S = 10.0
DEFAULT_RELEASE_SETUP = "/release_setup.sh"
DEFAULT_TOPCP_SETUP = "/TopCPToolkit/build/x86_64-*/setup.sh"
DEFAULT_X509_DEST = "/tmp/grid-security/x509up"
PREFIX = "topcp-transform: "

# runTop_el.py / athena ConfigText messages that mean "your YAML was rejected".
CONFIG_ERROR_PATTERNS = (
    re.compile(r"Unkn?own block", re.IGNORECASE),  # athena spells it "Unkown block"
    re.compile(r"There are options set that are not used"),
    re.compile(r"should be of type"),
    re.compile(r"\bis required\b"),
    re.compile(r"PathResolver failed"),
    re.compile(r"yaml\.(scanner|parser|constructor|composer)\.\w+Error"),
    re.compile(r"unknown branch pattern"),
    re.compile(r"Unknown option"),
)
EVENTS_RE = re.compile(r"Processing events (\d+)-(\d+) in file\s*(.*?)\s*$")
EXCEPTION_RE = re.compile(r"^(?:[\w.]+\.)?\w*(?:Error|Exception|Exit)\b:?\s*.*")


class TransformError(Exception):
    """A failure with its exit code; ``str()`` is the one-line cause for the ERROR line."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class Interrupted(Exception):
    """Raised when SIGTERM/SIGINT arrives while no child runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# --------------------------------------------------------------------------------------------
# Output helpers: our lines never contain the word ERROR except the final one (see docs)
# --------------------------------------------------------------------------------------------
def say(message: str) -> None:
    r"""Print one informational line of ours.

    Our informational lines never contain the word ERROR (a user path could): the only such
    line of ours is the final one, which ``local_runner`` and the harness pick out, and
    ServiceX's TopCPStats (2025) would take the *first* ERROR line as the file's error. They
    start with ``topcp-transform:``, so RawUprootStats' ``^\S*Error`` / ``^\S*Exception``
    never match them either.
    """
    text = message.replace("ERROR", "error").replace("\n", " ")
    sys.stdout.write(PREFIX + text + "\n")
    sys.stdout.flush()


#: Starts the line the sidecar's RawUprootStats takes as the file's error: it reports the first
#: line matching ``^\S*Exception.*`` (raw_uproot_stats.py, ServiceX v1.5.1+; v1.5.0 matched
#: ``.*Exception.*``), and runTop_el.py's log has no such line of its own.
SIDECAR_ERROR_PREFIX = "TopCPTransformException: "


def fail_lines(code: int, message: str) -> list[str]:
    """The two closing lines of a failed call: the sidecar's error line, then our ERROR line."""
    text = " ".join(message.split())
    if len(text) > 600:
        text = text[:597] + "..."
    summary = text + " [exit " + str(code) + ": " + EXIT_CODES.get(code, "signal") + "]"
    return [SIDECAR_ERROR_PREFIX + summary, "ERROR: " + summary]


def env_float(env: dict, name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise TransformError(
            EXIT_USAGE, name + "=" + repr(raw) + " is not a number of seconds"
        ) from None
    if value <= 0:
        raise TransformError(EXIT_USAGE, name + "=" + repr(raw) + " must be > 0")
    return value


def env_flag(env: dict, name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


# --------------------------------------------------------------------------------------------
# Minimal ROOT file reader (standard library only): header, top-directory keys, TTree entries
# --------------------------------------------------------------------------------------------
class RootFileError(Exception):
    """The file is not a readable ROOT file (bad magic, truncated, unclosed, bad key list)."""


class RootKey:
    __slots__ = ("classname", "name", "title", "cycle", "seek", "nbytes", "objlen", "keylen")

    def __init__(self, classname, name, title, cycle, seek, nbytes, objlen, keylen):
        self.classname = classname
        self.name = name
        self.title = title
        self.cycle = cycle
        self.seek = seek
        self.nbytes = nbytes
        self.objlen = objlen
        self.keylen = keylen

    def __repr__(self) -> str:
        return f"RootKey({self.classname!r}, {self.name!r};{self.cycle})"


def _read_tstring(buf: bytes, pos: int) -> tuple[str, int]:
    if pos >= len(buf):
        raise RootFileError("string runs past the end of the record")
    n = buf[pos]
    pos += 1
    if n == 255:
        (n,) = struct.unpack_from(">i", buf, pos)
        pos += 4
    if n < 0 or pos + n > len(buf):
        raise RootFileError("string runs past the end of the record")
    return buf[pos : pos + n].decode("latin-1"), pos + n


def _parse_key(buf: bytes, pos: int) -> tuple[RootKey, int]:
    """Parse one TKey header at ``pos``; returns the key and the position after it."""
    try:
        nbytes, version, objlen, _datime, keylen, cycle = struct.unpack_from(">ihiIhh", buf, pos)
        p = pos + 18
        if version > 1000:  # large-file key: 64-bit seeks
            seek_key, _seek_pdir = struct.unpack_from(">qq", buf, p)
            p += 16
        else:
            seek_key, _seek_pdir = struct.unpack_from(">ii", buf, p)
            p += 8
    except struct.error:
        raise RootFileError("key header runs past the end of the record") from None
    classname, p = _read_tstring(buf, p)
    name, p = _read_tstring(buf, p)
    title, p = _read_tstring(buf, p)
    if nbytes <= 0 or keylen <= 0 or objlen < 0:
        raise RootFileError(f"invalid key header for {name!r}")
    return RootKey(classname, name, title, cycle, seek_key, nbytes, objlen, keylen), p


def read_root_keys(path: str) -> list[RootKey]:
    """List the keys of a ROOT file's top directory without ROOT or uproot.

    Reads the TFile header (small and >2 GB variants), the top TDirectory record and the key
    list at ``fSeekKeys``. Raises RootFileError on anything that a closed, complete ROOT file
    would not contain, which is how we tell a crashed or truncated output from a good one.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(512)
        if head[:4] != b"root":
            raise RootFileError("not a ROOT file (no 'root' magic at the start)")
        try:
            version, begin = struct.unpack_from(">ii", head, 4)
            if version >= 1000000:  # large file: 64-bit fEND, fSeekFree, fSeekInfo
                (end,) = struct.unpack_from(">q", head, 12)
                (nbytes_name,) = struct.unpack_from(">i", head, 36)
            else:
                (end,) = struct.unpack_from(">i", head, 12)
                (nbytes_name,) = struct.unpack_from(">i", head, 28)
        except struct.error:
            raise RootFileError("file header is truncated") from None
        if end > size:
            raise RootFileError(f"file is truncated ({size} bytes, header says {end})")
        if begin <= 0 or nbytes_name <= 0 or begin + nbytes_name + 42 > size:
            raise RootFileError("file header is corrupt")
        f.seek(begin + nbytes_name)
        drec = f.read(64)
        try:
            (dversion,) = struct.unpack_from(">h", drec, 0)
            if dversion > 1000:
                nbytes_keys, _ = struct.unpack_from(">ii", drec, 10)
                (seek_keys,) = struct.unpack_from(">q", drec, 34)
            else:
                nbytes_keys, _ = struct.unpack_from(">ii", drec, 10)
                (seek_keys,) = struct.unpack_from(">i", drec, 26)
        except struct.error:
            raise RootFileError("top directory record is truncated") from None
        if seek_keys <= 0 or nbytes_keys <= 0:
            raise RootFileError("file was not closed (no key list): the writer probably crashed")
        if seek_keys + nbytes_keys > size:
            raise RootFileError("key list lies beyond the end of the file (truncated)")
        f.seek(seek_keys)
        buf = f.read(nbytes_keys)
    if len(buf) < nbytes_keys:
        raise RootFileError("key list is truncated")
    _, pos = _parse_key(buf, 0)  # the key of the key list itself
    try:
        (nkeys,) = struct.unpack_from(">i", buf, pos)
    except struct.error:
        raise RootFileError("key list is truncated") from None
    pos += 4
    if nkeys < 0 or nkeys > len(buf):
        raise RootFileError(f"key list is corrupt ({nkeys} keys)")
    keys = []
    for _ in range(nkeys):
        key, pos = _parse_key(buf, pos)
        keys.append(key)
    return keys


def _decompress(data: bytes, objlen: int) -> bytes:
    """Undo ROOT's block compression for the algorithms the standard library knows."""
    out = []
    pos = 0
    while pos < len(data):
        header = data[pos : pos + 9]
        if len(header) < 9:
            raise RootFileError("compressed block header is truncated")
        alg = header[:2]
        csize = header[3] | (header[4] << 8) | (header[5] << 16)
        block = data[pos + 9 : pos + 9 + csize]
        if alg == b"ZL":
            out.append(zlib.decompress(block))
        elif alg == b"XZ":
            out.append(lzma.decompress(block))
        else:
            name = alg.decode("latin-1")
            raise RootFileError(f"compression {name!r} needs ROOT or uproot")
        pos += 9 + csize
    result = b"".join(out)
    if len(result) != objlen:
        raise RootFileError("decompressed size mismatch")
    return result


def _skip_versioned(buf: bytes, pos: int) -> int:
    """Skip one streamed base-class record using its byte count."""
    (count,) = struct.unpack_from(">I", buf, pos)
    if not count & 0x40000000:
        raise RootFileError("record without a byte count")
    return pos + 4 + (count & ~0x40000000)


def tree_entries(path: str, key: RootKey) -> int:
    """Read ``fEntries`` of the TTree behind ``key`` (zlib/lzma compressed or not)."""
    with open(path, "rb") as f:
        f.seek(key.seek + key.keylen)
        data = f.read(key.nbytes - key.keylen)
    if key.objlen > len(data):
        data = _decompress(data, key.objlen)
    try:
        pos = 6  # TTree byte count + version
        for _ in range(4):  # TNamed, TAttLine, TAttFill, TAttMarker
            pos = _skip_versioned(data, pos)
        (entries,) = struct.unpack_from(">q", data, pos)
    except struct.error:
        raise RootFileError("TTree record is truncated") from None
    return entries


# --------------------------------------------------------------------------------------------
# Bundle: run_manifest.json and the YAMLs
# --------------------------------------------------------------------------------------------
class Manifest:
    def __init__(self, levels, max_events, no_systematics, no_filter):
        self.levels = levels  # {level: absolute yaml path}, only the requested levels
        self.max_events = max_events
        self.no_systematics = no_systematics
        self.no_filter = no_filter


def load_manifest(bundle_dir: str) -> Manifest:
    path = os.path.join(bundle_dir, "run_manifest.json")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise TransformError(
            EXIT_BUNDLE,
            f"bundle {bundle_dir} has no run_manifest.json (set TOPCP_BUNDLE_DIR to the unpacked bundle, "
            "or regenerate it with the topcp code generator)",
        ) from None
    except (OSError, ValueError) as exc:
        raise TransformError(EXIT_BUNDLE, f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise TransformError(EXIT_BUNDLE, f"{path}: expected a JSON object")
    if data.get("manifest_version") != 1:
        raise TransformError(
            EXIT_BUNDLE,
            f"{path}: manifest_version {data.get('manifest_version')!r} is not supported "
            "(this script reads version 1)",
        )
    raw_levels = data.get("levels")
    if not isinstance(raw_levels, dict):
        raise TransformError(EXIT_BUNDLE, f"{path}: 'levels' must be an object")
    levels = {}
    for level, name in raw_levels.items():
        if level not in LEVELS:
            raise TransformError(
                EXIT_BUNDLE, f"{path}: unknown level {level!r} (expected one of {LEVELS})"
            )
        if name is None:
            continue
        if not isinstance(name, str) or not name or os.path.basename(name) != name:
            raise TransformError(
                EXIT_BUNDLE, f"{path}: levels.{level} must be a file name in the bundle"
            )
        yaml_path = os.path.join(bundle_dir, name)
        if not os.path.isfile(yaml_path):
            raise TransformError(
                EXIT_BUNDLE, f"{path}: levels.{level} names {name}, which is not in the bundle"
            )
        levels[level] = yaml_path
    if not levels:
        raise TransformError(EXIT_BUNDLE, f"{path}: no level (reco/particle/parton) requested")
    max_events = data.get("max_events", -1)
    if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < -1:
        raise TransformError(EXIT_BUNDLE, f"{path}: max_events must be an integer >= -1")
    flags = {}
    for name in ("no_systematics", "no_filter"):
        value = data.get(name, False)
        if not isinstance(value, bool):
            raise TransformError(EXIT_BUNDLE, f"{path}: {name} must be true or false")
        flags[name] = value
    return Manifest(levels, max_events, flags["no_systematics"], flags["no_filter"])


_OUTPUT_BLOCK_RE = re.compile(r"^Output\s*:(.*)$")
_TREE_NAME_RE = re.compile(r"""^treeName\s*:\s*(['"]?)([^'"#\s]+)\1\s*(?:#.*)?$""")
_FLOW_TREE_RE = re.compile(r"""treeName\s*:\s*(['"]?)([^'",}\s]+)\1""")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _tree_name(text: str) -> str | None:
    m = _TREE_NAME_RE.match(text.strip())
    return m.group(2) if m else None


def _block_tree_names(block: list[str]) -> list[str]:
    """Tree names of one block-style ``Output`` value (a mapping or a list of mappings)."""
    content = [ln for ln in block if ln.strip() and not ln.strip().startswith("#")]
    if not content:
        return ["analysis"]
    base = _indent(content[0])
    if not content[0].strip().startswith("-"):
        for ln in content:
            if _indent(ln) == base and _tree_name(ln):
                return [_tree_name(ln)]
        return ["analysis"]
    names: list[str | None] = []
    key_indent = -1
    for ln in content:
        ind, text = _indent(ln), ln.strip()
        if ind == base and text.startswith("-"):
            rest = text[1:]
            key_indent = ind + 1 + _indent(rest)
            names.append(_tree_name(rest))
        elif ind == key_indent and names and names[-1] is None:
            names[-1] = _tree_name(ln)
    return [n or "analysis" for n in names]


def expected_trees(yaml_text: str) -> list[str] | None:
    """The tree names a TopCP YAML's ``Output`` block declares, without a YAML library.

    Returns ``[]`` when there is no Output block (no ntuple tree at that level) and ``None``
    when the answer cannot be known (``include:`` may bring the Output block from elsewhere).
    ``Output`` may be a mapping or a list of mappings; ``treeName`` defaults to 'analysis'.
    """
    lines = yaml_text.splitlines()
    names: list[str] = []
    found = False
    i = 0
    while i < len(lines):
        m = _OUTPUT_BLOCK_RE.match(lines[i])
        i += 1
        if not m:
            continue
        found = True
        rest = m.group(1).split("#", 1)[0].strip()
        if rest:  # flow style: Output: {treeName: reco, ...}
            names.extend([fm.group(2) for fm in _FLOW_TREE_RE.finditer(rest)] or ["analysis"])
            continue
        block = []
        while i < len(lines) and (not lines[i].strip() or lines[i][0] in " \t-#"):
            block.append(lines[i])
            i += 1
        names.extend(_block_tree_names(block))
    if not found:
        return None if re.search(r"^include\s*:", yaml_text, re.MULTILINE) else []
    return names


# --------------------------------------------------------------------------------------------
# Which runTop_el.py runs
# --------------------------------------------------------------------------------------------
# Sourced in a clean, non-interactive bash (no profile, no rc, no BASH_ENV); the paths arrive
# as positional arguments, never interpolated into the script text.
SETUP_SCRIPT = r"""
release="$1"; topcp="$2"; shift 2
args=("$@"); set --   # the setup scripts must not see runTop_el.py's options
source "$release" || { echo "topcp-setup: sourcing the release setup $release failed" >&2; exit 126; }
source "$topcp" || { echo "topcp-setup: sourcing the TopCPToolkit setup $topcp failed" >&2; exit 126; }
command -v runTop_el.py >/dev/null 2>&1 || { echo "topcp-setup: runTop_el.py not on PATH after the setup" >&2; exit 127; }
echo "topcp-setup: runTop_el.py = $(command -v runTop_el.py)"
exec runTop_el.py "${args[@]}"
"""


class Runner:
    def __init__(self, kind: str, how: str, prefix: list[str], path: str, via_setup: bool = False):
        self.kind = kind  # "real" or "EMULATED"
        self.how = how  # where it was found
        self.prefix = prefix  # argv before runTop_el.py's own options
        self.path = path
        self.via_setup = via_setup


def _script_argv(path: str) -> list[str]:
    """An executable is run directly; a non-executable .py with this Python."""
    if os.access(path, os.X_OK):
        return [path]
    return [sys.executable, path]


def resolve_runner(env: dict) -> Runner:
    explicit = env.get("RUNTOP_EL", "").strip()
    if explicit:
        if not os.path.isfile(explicit):
            raise TransformError(EXIT_ENVIRONMENT, f"RUNTOP_EL={explicit} does not exist")
        kind = "EMULATED" if os.path.basename(explicit).startswith("topcp-emulate") else "real"
        return Runner(kind, "$RUNTOP_EL", _script_argv(explicit), explicit)
    found = shutil.which("runTop_el.py", path=env.get("PATH"))
    if found:
        return Runner("real", "PATH", _script_argv(found), found)
    release = env.get("ATLAS_RELEASE_SETUP", "").strip() or DEFAULT_RELEASE_SETUP
    topcp_pattern = env.get("TOPCP_SETUP", "").strip() or DEFAULT_TOPCP_SETUP
    topcp = sorted(glob.glob(topcp_pattern))
    bash = shutil.which("bash", path=env.get("PATH")) or (
        "/bin/bash" if os.path.exists("/bin/bash") else None
    )
    if os.path.isfile(release) and topcp and bash:
        return Runner(
            "real",
            f"ATLAS setup ({release} + {topcp[-1]})",
            [bash, "--noprofile", "--norc", "-c", SETUP_SCRIPT, "topcp-setup", release, topcp[-1]],
            "runTop_el.py",
            via_setup=True,
        )
    emulator = env.get("TOPCP_EMULATOR", "").strip()
    if emulator:
        if not os.path.isfile(emulator):
            raise TransformError(EXIT_ENVIRONMENT, f"TOPCP_EMULATOR={emulator} does not exist")
        return Runner("EMULATED", "$TOPCP_EMULATOR", _script_argv(emulator), emulator)
    found = shutil.which("topcp-emulate", path=env.get("PATH"))
    if not found:
        beside = os.path.join(os.path.dirname(sys.executable), "topcp-emulate")
        found = beside if os.path.isfile(beside) else None
    if found:
        return Runner("EMULATED", "topcp-emulate", _script_argv(found), found)
    raise TransformError(
        EXIT_ENVIRONMENT,
        f"no runTop_el.py: not in $RUNTOP_EL, not on PATH, no ATLAS setup at {release} + {topcp_pattern}, and no "
        "topcp-emulate (install servicex-topcp or set TOPCP_EMULATOR)",
    )


def build_command(manifest: Manifest, config_dir: str = CONFIG_DIR_NAME) -> list[str]:
    """runTop_el.py options for this bundle (see docs/science.md).

    ``-t`` names the config folder relative to the work dir (runTop_el.py's cwd), as upstream
    passes ``-t customConfig``: TopCPToolkit's ``makeTextBasedSequence`` asks PathResolver for
    ``<name>/<level>.yaml``, and every PathResolver version looks in the current directory
    first (athena PathResolver.cxx: the boost version tries the name as given, the 2025
    std::filesystem version searches ``./`` before CALIBPATH), so no absolute path is needed.
    """
    args = ["-i", "input.txt", "-o", OUTPUT_NAME, "-t", config_dir]
    if manifest.max_events >= 0:
        args += ["-e", str(manifest.max_events)]
    if manifest.no_systematics:
        args.append("--no-systematics")
    if manifest.no_filter:
        args.append("--no-filter")
    if "particle" in manifest.levels:
        args.append("--particle")
    if "parton" in manifest.levels:
        args.append("--parton")
    if "reco" not in manifest.levels:
        args.append("--no-reco")
    return args


# --------------------------------------------------------------------------------------------
# Input, work dir, x509
# --------------------------------------------------------------------------------------------
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def check_input(source: str) -> str:
    """Return the input as runTop_el.py should see it; local files are checked up front."""
    if "\n" in source or "\r" in source or "," in source:
        raise TransformError(
            EXIT_USAGE,
            f"input {source!r} contains a comma or newline, which runTop_el.py's input list would "
            "split into several files",
        )
    if _URL_RE.match(source) and not source.startswith("file://"):
        return source  # remote (root://, https://, davs://): runTop_el.py opens it itself
    path = source[len("file://") :] if source.startswith("file://") else source
    path = os.path.abspath(path)
    if not os.path.exists(path):
        raise TransformError(EXIT_INPUT, f"input file {path} does not exist")
    if not os.path.isfile(path):
        raise TransformError(EXIT_INPUT, f"input {path} is not a regular file")
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise TransformError(
            EXIT_INPUT, f"input file {path} is unreadable: {exc.strerror}"
        ) from None
    if not magic:
        raise TransformError(EXIT_INPUT, f"input file {path} is empty")
    if magic != b"root":
        raise TransformError(
            EXIT_INPUT, f"input file {path} is not a ROOT file (expected a PHYSLITE DAOD)"
        )
    try:  # the header and key list too: a truncated copy (or a text file starting "root") fails here
        read_root_keys(path)
    except (RootFileError, OSError) as exc:
        raise TransformError(
            EXIT_INPUT, f"input file {path} is not a readable ROOT file ({exc}); expected a "
            "complete PHYSLITE DAOD"
        ) from None
    return path


def make_workdir(output: str, env: dict) -> str:
    """A private directory for one call, on the output's file system where possible."""
    candidates = []
    if env.get("TOPCP_WORK_ROOT"):
        candidates.append(env["TOPCP_WORK_ROOT"])
    candidates.append(os.path.dirname(os.path.dirname(output)))
    candidates.append(tempfile.gettempdir())
    last = None
    for base in candidates:
        if not base or not os.path.isdir(base):
            continue
        try:
            return tempfile.mkdtemp(prefix=".topcp-work-", dir=base)
        except OSError as exc:
            last = exc
    raise TransformError(EXIT_INTERNAL, f"cannot create a work directory ({last})")


def prepare_x509(env: dict, workdir: str) -> None:
    """Make the child see X509_USER_PROXY as a private mode-600 file, or leave it unset."""
    proxy = env.get("X509_USER_PROXY", "").strip()
    if not proxy:
        say("x509: no X509_USER_PROXY set (fine for open data)")
        return
    try:
        st = os.stat(proxy)
    except OSError:
        say(f"x509: X509_USER_PROXY={proxy} does not exist; running without a proxy")
        env.pop("X509_USER_PROXY", None)
        return
    if stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.getuid():
        say(f"x509: using {proxy} (mode 600)")
        return
    try:
        with open(proxy, "rb") as f:
            content = f.read()
    except OSError as exc:
        say(f"x509: cannot read {proxy} ({exc.strerror}); running without a proxy")
        env.pop("X509_USER_PROXY", None)
        return
    dest = env.get("TOPCP_X509_DEST", "").strip() or DEFAULT_X509_DEST
    for target in (dest, os.path.join(workdir, "x509up")):
        if os.path.abspath(target) == os.path.abspath(proxy):
            continue
        try:
            _write_private(target, content)
        except OSError:
            continue
        env["X509_USER_PROXY"] = target
        say(f"x509: copied {proxy} (mode {stat.S_IMODE(st.st_mode):o}) to {target} (mode 600)")
        return
    say(f"x509: could not make a private copy of {proxy}; passing it unchanged")


def _write_private(target: str, content: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(target))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".x509up.", dir=directory)  # mkstemp: mode 600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------------------------
# Running the child
# --------------------------------------------------------------------------------------------
class ChildState:
    """What the signal handler and the timeout thread share with the main thread."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.starting = False
        self.signum: int | None = None
        self.timed_out = False
        self.finishing = False
        self.grace = DEFAULT_KILL_GRACE_S

    def kill_group(self, sig: int) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def terminate(self, grace: float) -> None:
        """SIGTERM the child's group, SIGKILL it after ``grace`` seconds if still there."""
        self.kill_group(signal.SIGTERM)
        timer = threading.Timer(grace, self.kill_group, args=(signal.SIGKILL,))
        timer.daemon = True
        timer.start()


STATE = ChildState()


def _on_signal(signum: int, _frame) -> None:
    """SIGTERM/SIGINT/SIGHUP: stop runTop_el.py's group, or abandon the call before/after it.

    While the child runs, the main thread is blocked in ``wait()``: kill the group and let the
    main thread see ``STATE.signum`` when the child is gone. Once the output move has begun
    (``finishing``), the call completes instead, so that a success is never half-reported.
    """
    first = STATE.signum is None
    if first:
        STATE.signum = signum
    if STATE.starting or STATE.finishing:
        return  # handled right after Popen returns / the call is completing anyway
    proc = STATE.proc
    if proc is not None and proc.returncode is None:
        if first:
            STATE.terminate(STATE.grace)
        else:
            STATE.kill_group(signal.SIGKILL)
        return
    raise Interrupted(signum)


class LogScan:
    """What we learn from the child's log while streaming it."""

    def __init__(self) -> None:
        self.chunks: dict[tuple[str, int], int] = {}
        self.config_error: str | None = None
        self.exception: str | None = None
        self.first_error: str | None = None  # EventLoop's first ERROR line names the cause
        self.setup_problem: str | None = None
        self.first_error: str | None = None  # the child's first "ERROR..." line
        self.tail: list[str] = []

    def feed(self, line: str) -> None:
        m = EVENTS_RE.search(line)
        if m:
            begin, end = int(m.group(1)), int(m.group(2))
            key = (m.group(3), begin)
            # Each level (reco, particle, parton) is its own EventLoop job over the same file:
            # count a file chunk once, not once per level.
            self.chunks[key] = max(self.chunks.get(key, 0), end - begin)
        if self.config_error is None:
            for pattern in CONFIG_ERROR_PATTERNS:
                if pattern.search(line):
                    self.config_error = line.strip()
                    break
        stripped = line.strip()
        if EXCEPTION_RE.match(stripped):
            self.exception = stripped
        if self.first_error is None and "ERROR" in stripped:
            self.first_error = stripped
        if stripped.startswith("topcp-setup: ") and "=" not in stripped:
            self.setup_problem = stripped[len("topcp-setup: ") :]
        if stripped:
            self.tail.append(stripped)
            del self.tail[:-5]

    @property
    def events(self) -> int | None:
        return sum(self.chunks.values()) if self.chunks else None


def _stream(proc: subprocess.Popen, scan: LogScan) -> None:
    out = sys.stdout
    for raw in iter(proc.stdout.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        scan.feed(line)
        out.write(line + "\n")
        out.flush()


def run_child(
    argv: list[str], workdir: str, env: dict, timeout: float, grace: float
) -> tuple[int, LogScan]:
    scan = LogScan()
    STATE.starting = True
    try:
        proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: one killpg reaches everything
        )
    except OSError as exc:
        STATE.starting = False
        raise TransformError(EXIT_ENVIRONMENT, f"cannot start {argv[0]}: {exc.strerror}") from None
    STATE.proc = proc
    STATE.starting = False
    if STATE.signum is not None:
        STATE.terminate(grace)

    def on_timeout() -> None:
        STATE.timed_out = True
        STATE.terminate(grace)

    timer = threading.Timer(timeout, on_timeout)
    timer.daemon = True
    timer.start()
    reader = threading.Thread(target=_stream, args=(proc, scan), daemon=True)
    reader.start()
    try:
        returncode = proc.wait()
    finally:
        timer.cancel()
    # A grandchild that left the process group could keep the pipe open: do not wait forever.
    reader.join(timeout=5.0)
    return returncode, scan


# --------------------------------------------------------------------------------------------
# Output checks and the atomic move
# --------------------------------------------------------------------------------------------
def surface_hadd_stderr(workdir: str) -> str:
    path = os.path.join(workdir, "hadd_stderr.txt")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read().strip()
    except OSError:
        return ""
    for line in text.splitlines()[:50]:
        sys.stdout.write("hadd_stderr.txt: " + line + "\n")
    sys.stdout.flush()
    return text


def verify_output(path: str, trees_by_level: dict, hadd_text: str) -> list[RootKey]:
    try:
        keys = read_root_keys(path)
    except RootFileError as exc:
        raise TransformError(
            EXIT_CORRUPT_OUTPUT, f"runTop_el.py's output is corrupt: {exc}"
        ) from None
    except OSError as exc:
        raise TransformError(
            EXIT_CORRUPT_OUTPUT, f"cannot read runTop_el.py's output: {exc.strerror}"
        ) from None
    if not keys:
        raise TransformError(EXIT_CORRUPT_OUTPUT, "runTop_el.py's output holds no objects at all")
    present = {k.name for k in keys}
    missing = []
    for level, names in trees_by_level.items():
        for name in names or ():
            if name not in present:
                missing.append(f"{name} ({level} level)")
    if missing:
        if hadd_text:
            raise TransformError(
                EXIT_CORRUPT_OUTPUT,
                f"output lacks tree(s) {', '.join(missing)} and hadd reported: "
                + hadd_text.splitlines()[0],
            )
        # runTop_el.py deletes empty trees, and --particle/--parton are off on data: a missing
        # tree with a clean merge means no event passed that level, which is a valid result
        # (the file still carries the metadata/sum-of-weights histograms users need).
        say(
            f"Warning: output has no tree {', '.join(missing)}; runTop_el.py drops empty trees, "
            "so no event passed that selection (or the level does not run on data)"
        )
    return keys


# The temporary name beside the output is short and independent of the output's name: the
# sidecar names outputs after the input path with up to exactly 255 characters (NAME_MAX;
# transformer.py hash_path, ssl-hep/ServiceX 2024-10 lines 444-462, unchanged in 2025-26),
# so anything longer than the output name itself would fail with ENAMETOOLONG.
TEMP_PREFIX = ".topcp-"
TEMP_SUFFIX = ".part"


def move_atomically(src: str, dest: str) -> None:
    """Put ``src`` at ``dest`` in one rename, so the sidecar never sees a partial output."""
    directory = os.path.dirname(dest)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=directory)
    os.close(fd)
    try:
        try:
            os.replace(src, tmp)
        except OSError:  # another file system: copy beside the target, then rename
            shutil.copyfile(src, tmp)
        # The sidecar, another uid (1001) than ours, uploads the file: a plain file's mode under
        # our umask (0644 with the pod's 022), whatever runTop_el.py's writer left (a mkstemp
        # file is 0600, and so was the copy's temporary file).
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def events_from_output(path: str, keys: list[RootKey], trees_by_level: dict) -> int:
    """Fallback when the log has no EventLoop line: entries of the first level's tree."""
    wanted = [n for names in trees_by_level.values() for n in (names or ())]
    trees = [k for k in keys if k.classname == "TTree"]
    trees.sort(key=lambda k: wanted.index(k.name) if k.name in wanted else len(wanted))
    for key in trees:
        try:
            return tree_entries(path, key)
        except (RootFileError, OSError, zlib.error, lzma.LZMAError):
            continue
    return 0


# --------------------------------------------------------------------------------------------
# Main flow
# --------------------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> tuple[str, str, str]:
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        sys.stdout.write(__doc__ + "\n")
        raise SystemExit(0)
    if len(argv) != 4:
        raise TransformError(
            EXIT_USAGE,
            "usage: transform_single_file.py <input path or URL> <output path> <format> "
            f"(got {len(argv) - 1} arguments)",
        )
    source, output, fmt = argv[1], argv[2], argv[3].strip().lower()
    if fmt == "parquet":
        raise TransformError(
            EXIT_USAGE,
            "output format 'parquet' is not supported: a TopCPToolkit ntuple holds one tree per "
            "level plus metadata and cutflow histograms, which is not one table; request ROOT "
            "output ('root-file') and read the trees with uproot",
        )
    if fmt not in ROOT_FORMATS:
        raise TransformError(
            EXIT_USAGE,
            f"unknown output format {argv[3]!r} (expected one of {', '.join(ROOT_FORMATS)})",
        )
    if not source.strip():
        raise TransformError(EXIT_USAGE, "the input path is empty")
    if not output.strip() or output.endswith(os.sep):
        raise TransformError(EXIT_USAGE, f"the output path {output!r} is not a file path")
    output = os.path.abspath(output)
    if os.path.isdir(output):
        raise TransformError(EXIT_USAGE, f"the output path {output} is a directory")
    return source, output, fmt


def transform(argv: list[str], env: dict) -> int:
    started = time.monotonic()
    source, output, _fmt = parse_args(argv)
    bundle_dir = env.get("TOPCP_BUNDLE_DIR", "").strip() or os.path.dirname(
        os.path.abspath(__file__)
    )
    manifest = load_manifest(bundle_dir)
    timeout = env_float(env, "TOPCP_TIMEOUT_S", DEFAULT_TIMEOUT_S)
    grace = env_float(env, "TOPCP_KILL_GRACE_S", DEFAULT_KILL_GRACE_S)
    STATE.grace = grace
    input_for_child = check_input(source)
    runner = resolve_runner(env)
    say(f"runTop_el.py: {runner.kind} {runner.path} (found via {runner.how})")

    trees_by_level = {}
    for level, yaml_path in manifest.levels.items():
        with open(yaml_path, encoding="utf-8", errors="replace") as f:
            trees_by_level[level] = expected_trees(f.read())

    out_dir = os.path.dirname(output)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise TransformError(
            EXIT_INTERNAL, f"cannot create output folder {out_dir}: {exc.strerror}"
        ) from None
    if os.path.isfile(output) or os.path.islink(output):
        say(f"removing the stale output of an earlier attempt at {output}")
        try:
            os.unlink(output)
        except OSError as exc:
            raise TransformError(
                EXIT_INTERNAL, f"cannot remove the earlier output {output}: {exc.strerror}"
            ) from None

    workdir = make_workdir(output, env)
    keep = env_flag(env, "TOPCP_KEEP_WORKDIR")
    try:
        tmpdir = os.path.join(workdir, "tmp")
        config_dir = os.path.join(workdir, CONFIG_DIR_NAME)
        os.mkdir(tmpdir)
        os.mkdir(config_dir)
        for level, yaml_path in manifest.levels.items():
            shutil.copyfile(yaml_path, os.path.join(config_dir, level + ".yaml"))
        with open(os.path.join(workdir, "input.txt"), "w", encoding="utf-8") as f:
            f.write(input_for_child + "\n")
        child_env = dict(env)
        child_env["TMPDIR"] = tmpdir
        child_env.pop("BASH_ENV", None)  # the setup must not depend on it (see docs)
        prepare_x509(child_env, workdir)
        args = build_command(manifest, CONFIG_DIR_NAME)
        say(f"work dir {workdir}; running: runTop_el.py {' '.join(args)}")
        returncode, scan = run_child(runner.prefix + args, workdir, child_env, timeout, grace)

        if STATE.signum is not None:
            raise Interrupted(STATE.signum)
        if STATE.timed_out:
            raise TransformError(
                EXIT_TIMEOUT,
                f"runTop_el.py ran longer than TOPCP_TIMEOUT_S={timeout:g}s and was killed",
            )
        hadd_text = surface_hadd_stderr(workdir)
        if runner.via_setup and returncode in (126, 127) and scan.setup_problem:
            raise TransformError(EXIT_ENVIRONMENT, scan.setup_problem)
        if returncode != 0:
            if scan.config_error:
                raise TransformError(
                    EXIT_CONFIG, "runTop_el.py rejected the configuration: " + scan.config_error
                )
            if returncode < 0:
                why = f"runTop_el.py was killed by signal {-returncode}"
                if -returncode == signal.SIGKILL:
                    why += " (out of memory?)"
            else:
                why = f"runTop_el.py failed with exit code {returncode}"
            # EventLoop logs the cause as its first ERROR line; the Python exception that
            # follows (runTop_el.py's "output.root was not successfully created") is a result.
            detail = scan.first_error or scan.exception or (
                scan.tail[-1] if scan.tail else "no output"
            )
            if scan.first_error and scan.exception and scan.exception not in scan.first_error:
                detail += "; then " + scan.exception
            raise TransformError(EXIT_CRASH, why + ": " + detail)
        produced = os.path.join(workdir, OUTPUT_NAME + ".root")
        if not os.path.isfile(produced):
            cause = scan.config_error or scan.exception
            if cause and scan.config_error:
                raise TransformError(
                    EXIT_CONFIG, "runTop_el.py rejected the configuration: " + cause
                )
            raise TransformError(
                EXIT_NO_OUTPUT,
                f"runTop_el.py exited 0 but wrote no {OUTPUT_NAME}.root"
                + (": " + cause if cause else ""),
            )
        keys = verify_output(produced, trees_by_level, hadd_text)
        events = scan.events
        if events is None:
            events = events_from_output(produced, keys, trees_by_level)
            say(f"no EventLoop 'Processing events' line; counted {events} events in the output")
        STATE.finishing = True  # from here on a signal no longer aborts the call
        try:
            move_atomically(produced, output)
        except OSError as exc:
            raise TransformError(
                EXIT_INTERNAL, f"cannot move the output to {output}: {exc}"
            ) from None
        size = os.path.getsize(output)
        say(f"done in {time.monotonic() - started:.1f}s")
        sys.stdout.write(f"Transform stats: Total Events: {events}, resulting file size {size}\n")
        sys.stdout.flush()
        return EXIT_OK
    finally:
        STATE.finishing = True  # a signal now must not interrupt the clean-up
        if keep:
            say(f"keeping the work dir {workdir} (TOPCP_KEEP_WORKDIR)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _on_signal) for sig in handled}
    try:
        try:
            return transform(argv, dict(os.environ))
        except TransformError as exc:
            code, message = exc.code, str(exc)
        except OSError as exc:  # an unforeseen file-system failure still gets its ERROR line
            code, message = EXIT_INTERNAL, f"file system error: {exc}"
        except Interrupted as exc:
            code = 128 + exc.signum
            message = f"terminated by {signal.Signals(exc.signum).name}; runTop_el.py's process group was killed"
        STATE.finishing = True  # a late signal must not break the ERROR line
        sys.stdout.write("".join(line + "\n" for line in fail_lines(code, message)))
        sys.stdout.flush()
        return code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
