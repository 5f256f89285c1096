"""PHYSLITE input: the runTop_el.py input list, and uniform access to TTree and RNTuple files.

PHYSLITE comes in two layouts that carry the same variables under different names:
TTree ``CollectionTree`` with ``<Container>AuxDyn.<var>`` branches, and RNTuple ``EventData``
with ``<Container>AuxDyn:<var>`` fields (static ``Aux`` variables sit one level deeper in
both). ``PhysliteSource`` hides that behind ``(container, var)`` pairs so the physics code
never sees a separator, and iterates in chunks so memory stays flat as files grow.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import uproot

from .errors import EmulatorError

#: Default number of events per chunk: big enough for vectorised speed, small enough for memory.
DEFAULT_STEP = 20_000

_REMOTE_NEEDS = {
    "root": ("fsspec_xrootd", "fsspec-xrootd (pip install 'servicex-topcp[xrootd]')"),
    "http": ("aiohttp", "aiohttp (pip install aiohttp)"),
    "https": ("aiohttp", "aiohttp (pip install aiohttp)"),
}


def read_input_list(path: str | Path) -> list[str]:
    """Read runTop_el.py's ``-i`` file: one or more names per line, comma separated.

    Unlike metaConfig.parse_input_filelist, blank entries are dropped (they would only
    produce an 'empty file name' failure later).
    """
    p = Path(path)
    if not p.is_file():
        raise EmulatorError(f"input list {p} does not exist (give -i a text file listing PHYSLITE files)")
    names: list[str] = []
    for line in p.read_text(encoding="utf-8").splitlines():
        for part in line.split(","):
            part = part.strip()
            if part:
                names.append(part)
    if not names:
        raise EmulatorError(f"input list {p} names no input files")
    return names


def _scheme(name: str) -> str:
    head, sep, _ = name.partition("://")
    return head.lower() if sep else ""


def _check_reachable(name: str) -> None:
    scheme = _scheme(name)
    if scheme in ("", "file"):
        local = name[len("file://"):] if scheme == "file" else name
        if not os.path.exists(local):
            raise EmulatorError(f"input file {local} does not exist")
        if not os.path.isfile(local):
            raise EmulatorError(f"input file {local} is not a regular file")
        return
    need = _REMOTE_NEEDS.get(scheme)
    if need is None:
        raise EmulatorError(
            f"input {name}: unsupported URL scheme '{scheme}://' (use a local path, root:// or https://)"
        )
    module, package = need
    if importlib.util.find_spec(module) is None:
        raise EmulatorError(f"input {name}: reading {scheme}:// URLs needs the package {package}")


@dataclass
class PhysliteSource:
    """One open PHYSLITE file; ``columns`` maps ``(container, var)`` to the uproot key."""

    name: str
    fmt: str  # "ttree" or "rntuple"
    obj: object
    num_entries: int
    columns: dict[tuple[str, str], str] = field(default_factory=dict)
    file: object = None

    def weight_names(self, dsid: int) -> list[str] | None:
        """Generator weight names from MetaData's TruthMetaData (None when not readable)."""
        try:
            meta = self.file["MetaData"]
            base = "TruthMetaDataAux./TruthMetaDataAux."
            names = meta[base + "weightNames"].array(library="ak")
            channels = meta[base + "mcChannelNumber"].array(library="ak")
        except Exception:  # absent or unreadable metadata: fall back to numbered weights
            return None
        entries = [(list(c), list(n)) for c, n in zip(ak.to_list(channels), ak.to_list(names), strict=False)]
        for chans, lists in entries:
            for c, n in zip(chans, lists, strict=False):
                if int(c) == dsid:
                    return [str(x) for x in n]
        for _, lists in entries:
            if lists:
                return [str(x) for x in lists[0]]
        return None

    def has(self, container: str, var: str) -> bool:
        return (container, var) in self.columns

    def iterate(
        self,
        wanted: list[tuple[str, str]],
        *,
        step: int = DEFAULT_STEP,
        entry_stop: int | None = None,
    ) -> Iterator[dict[tuple[str, str], ak.Array]]:
        """Yield chunks of the wanted columns (those absent from the file are skipped)."""
        keys = sorted({self.columns[w] for w in wanted if w in self.columns})
        back = {self.columns[w]: w for w in wanted if w in self.columns}
        stop = self.num_entries if entry_stop is None else min(entry_stop, self.num_entries)
        if stop <= 0:
            return
        if not keys:
            # Nothing to read (should not happen: EventInfo is always wanted); still count events.
            for start in range(0, stop, step):
                yield {("__len__", ""): ak.Array([0] * (min(stop, start + step) - start))}
            return
        for chunk in self._chunks(keys, step, stop):
            out: dict[tuple[str, str], ak.Array] = {}
            for key in keys:
                out[back[key]] = self._extract(chunk, key)
            del chunk  # drop references before the next chunk is read: one chunk in memory
            yield out
            del out

    def _chunks(self, keys: list[str], step: int, stop: int) -> Iterator[ak.Array]:
        if self.fmt != "rntuple":
            yield from self.obj.iterate(keys, step_size=step, entry_stop=stop, library="ak")
            return
        # RNTuple: read whole clusters, about ``step`` events at a time. (uproot's own
        # RNTuple iterate holds on to more memory between steps.)
        start = 0
        while start < stop:
            end = min(self._cluster_boundary(start + step), stop)
            yield self.obj.arrays(keys, entry_start=start, entry_stop=end, library="ak")
            start = end

    def _cluster_boundary(self, entry: int) -> int:
        """The first cluster boundary at or after ``entry``."""
        edge = 0
        for summary in getattr(self.obj, "cluster_summaries", []):
            edge += int(summary.num_entries)
            if edge >= entry:
                return edge
        return max(entry, edge)

    def _extract(self, chunk: ak.Array, key: str) -> ak.Array:
        if key in chunk.fields:
            return chunk[key]
        # RNTuple static Aux fields come back nested: "Cont Aux:" record with field "var".
        outer, _, inner = key.partition(":.")
        return chunk[outer + ":"][inner]


def _index_ttree(tree: object) -> dict[tuple[str, str], str]:
    cols: dict[tuple[str, str], str] = {}
    for key in tree.keys(recursive=True):
        leaf = key.rsplit("/", 1)[-1]
        head, dot, var = leaf.partition(".")
        if not dot or not var or "." in var:
            continue
        if head.endswith("AuxDyn"):
            cols[(head[: -len("AuxDyn")], var)] = key
        elif head.endswith("Aux"):
            cols.setdefault((head[: -len("Aux")], var), key)
    return cols


def _index_rntuple(ntuple: object) -> dict[tuple[str, str], str]:
    cols: dict[tuple[str, str], str] = {}
    for key in ntuple.keys():
        head, colon, var = key.partition(":")
        if not colon or not var:
            continue
        if head.endswith("AuxDyn") and "." not in var:
            cols[(head[: -len("AuxDyn")], var)] = key
        elif head.endswith("Aux") and var.startswith(".") and "." not in var[1:]:
            cols.setdefault((head[: -len("Aux")], var[1:]), key)
    return cols


def open_physlite(name: str) -> PhysliteSource:
    """Open one PHYSLITE file (path or URL), raising ``EmulatorError`` with the reason."""
    _check_reachable(name)
    try:
        f = uproot.open(name, array_cache=None, object_cache=None)
    except (ModuleNotFoundError, ImportError) as exc:
        raise EmulatorError(f"input {name}: a package needed to read it is missing: {exc}") from exc
    except Exception as exc:  # uproot raises many types for corrupt/non-ROOT files
        raise EmulatorError(f"input {name} is not a readable ROOT file: {exc}") from exc
    classes = f.classnames(recursive=False)
    if any(k.split(";")[0] == "CollectionTree" for k in classes):
        tree = f["CollectionTree"]
        src = PhysliteSource(name, "ttree", tree, int(tree.num_entries), _index_ttree(tree), f)
    elif any(k.split(";")[0] == "EventData" and v == "ROOT::RNTuple" for k, v in classes.items()):
        ntuple = f["EventData"]
        src = PhysliteSource(name, "rntuple", ntuple, int(ntuple.num_entries), _index_rntuple(ntuple), f)
    else:
        raise EmulatorError(
            f"input {name} is not PHYSLITE: it has neither a 'CollectionTree' TTree nor an "
            f"'EventData' RNTuple (found: {', '.join(sorted({k.split(';')[0] for k in classes})) or 'nothing'})"
        )
    if not src.has("EventInfo", "eventNumber"):
        raise EmulatorError(
            f"input {name} is not PHYSLITE: no EventInfoAuxDyn eventNumber in its {src.fmt}"
        )
    return src
