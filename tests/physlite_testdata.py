"""Real PHYSLITE test files for machines without ``../shared/testdata``.

The shared folder holds two real files (see its README): the Run-2 TTree
``PHYSLITE_example.root`` from the coffea 2026.9.0 sdist, and the mc23 ttbar RNTuple
``uproot-physlite-rntuple_v1-0-0-0.root`` of scikit-hep-testdata. Without that folder:

- the TTree file is fetched exactly as ``topcp-sx sample`` does it
  (``topcp_client.sample.fetch_sample``: the coffea sdist from PyPI, sha256-checked);
- the RNTuple file cannot be fetched: scikit-hep-testdata's sdist and wheel on PyPI carry only
  a file list (0.6.9, checked with ``pip download --no-deps``; its README: "The files are not
  stored on PyPI"), the data itself comes from GitHub at run time. So an RNTuple *variant* of
  the TTree file is written with uproot's RNTuple writer (``WritableDirectory.mkrntuple``,
  uproot >= 5.6), in the layout of the real ATLAS file: RNTuple ``EventData``, dynamic
  variables as ``<Container>AuxDyn:<var>`` fields, static ones as sub-fields of a
  ``<Container>Aux:`` record. Every numeric variable is copied (scalars, vectors, vectors of
  vectors), and split ElementLink vectors (``btaggingLink``, ...) as ``{m_persKey,
  m_persIndex}`` records per object as in the real file; strings, member-wise streamed
  branches (the clusters) and unreadable branches are not.
  It holds the same 100 Run-2 events as the TTree file, not the mc23 ttbar events, and has no
  ``MetaData`` tree.

Both land in a per-user cache folder (``$TOPCP_TEST_CACHE``, else
``$XDG_CACHE_HOME/servicex-topcp/testdata``, else ``~/.cache/servicex-topcp/testdata``) and
are reused while intact: the TTree file by its sha256, the variant by a stamp naming the
source's sha256 and the converter version.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SHARED_NAMES = {"ttree": "PHYSLITE_example.root", "rntuple": "PHYSLITE_mc23_ttbar_rntuple.root"}
VARIANT_NAME = "PHYSLITE_example_rntuple.root"
CONVERTER_VERSION = 2
#: The members of a split ElementLink, in the real file's record order.
LINK_MEMBERS = ("m_persKey", "m_persIndex")


@dataclass(frozen=True)
class TestData:
    """Where the two PHYSLITE files are, and whether the RNTuple one is the real mc23 file."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    folder: Path
    ttree: Path
    rntuple: Path
    rntuple_is_real: bool
    origin: str


def shared_testdata(folder: Path) -> TestData:
    return TestData(folder, folder / SHARED_NAMES["ttree"], folder / SHARED_NAMES["rntuple"],
                    True, f"shared folder {folder}")


def cache_dir() -> Path:
    explicit = os.environ.get("TOPCP_TEST_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "servicex-topcp" / "testdata"


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One builder at a time per cache folder (two test sessions may start together)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def fetched_testdata(folder: Path | None = None) -> TestData:
    """Fetch (or reuse) the TTree file and build (or reuse) its RNTuple variant in ``folder``.

    Raises ``topcp_client.sample.SampleError`` when the download fails.
    """
    from topcp_client.sample import fetch_sample, sha256_of

    folder = folder or cache_dir()
    with _locked(folder):
        ttree = fetch_sample(folder)
        variant = folder / VARIANT_NAME
        stamp = folder / f".{VARIANT_NAME}.json"
        want = {"source_sha256": sha256_of(ttree), "converter": CONVERTER_VERSION}
        try:
            fresh = variant.is_file() and json.loads(stamp.read_text()) == want
        except (OSError, ValueError):
            fresh = False
        if not fresh:
            stamp.unlink(missing_ok=True)
            ttree_to_rntuple(ttree, variant)
            stamp.write_text(json.dumps(want))
    return TestData(folder, ttree, variant, False,
                    f"fetched into {folder} (RNTuple converted from the TTree file)")


def _numeric_leaf(layout) -> bool:
    """True for numbers and bools, possibly in lists of lists (what mkrntuple writes)."""
    import awkward as ak

    while isinstance(layout, (ak.contents.ListOffsetArray, ak.contents.ListArray,
                              ak.contents.RegularArray)):
        layout = layout.content
    return isinstance(layout, ak.contents.NumpyArray) and layout.parameter("__array__") is None


def _columns(tree) -> tuple[dict[str, object], dict[str, dict[str, object]]]:
    """(``XAuxDyn:var`` -> array, ``XAux:`` -> {var: array}) for every numeric variable."""
    import awkward as ak

    dynamic: dict[str, object] = {}
    static: dict[str, dict[str, object]] = {}
    links: dict[str, dict[str, object]] = {}
    for key in tree.keys(recursive=True):
        leaf = key.rsplit("/", 1)[-1]
        head, dot, var = leaf.partition(".")
        link, _, member = var.partition(".")
        if head.endswith("AuxDyn") and member in LINK_MEMBERS:
            # a split ElementLink vector: its members become one record field per object,
            # as in the real ATLAS RNTuple ({m_persKey: uint32, m_persIndex: uint32})
            try:
                links.setdefault(f"{head}:{link}", {})[member] = tree[key].array(library="ak")
            except Exception:  # noqa: BLE001 - an unreadable link is left out like the rest
                pass
            continue
        if not dot or not var or "." in var or not head.endswith(("AuxDyn", "Aux")):
            continue
        try:
            array = tree[key].array(library="ak")
        except Exception:  # ElementLink vectors and other types uproot cannot interpret
            continue
        if not _numeric_leaf(ak.to_layout(array)):
            continue
        array = ak.to_packed(array)
        if head.endswith("AuxDyn"):
            dynamic[f"{head}:{var}"] = array
        else:
            static.setdefault(f"{head}:", {})[var] = array
    for name, members in links.items():
        if set(members) == set(LINK_MEMBERS):
            dynamic[name] = ak.to_packed(ak.zip({m: members[m] for m in LINK_MEMBERS}))
    return dynamic, static


def ttree_to_rntuple(source: Path, dest: Path) -> Path:
    """Write ``dest``: the ``CollectionTree`` of ``source`` as an ``EventData`` RNTuple."""
    import awkward as ak
    import uproot

    with uproot.open(source) as f:
        dynamic, static = _columns(f["CollectionTree"])
    fields = dict(dynamic)
    for record, members in static.items():
        fields[record] = ak.zip(members, depth_limit=1)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        with uproot.recreate(tmp) as out:
            out.mkrntuple("EventData", ak.Array(fields))
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
