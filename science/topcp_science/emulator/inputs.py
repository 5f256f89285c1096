"""PHYSLITE input: the runTop_el.py input list, and uniform access to TTree and RNTuple files.

PHYSLITE comes in two layouts that carry the same variables under different names:
TTree ``CollectionTree`` with ``<Container>AuxDyn.<var>`` branches, and RNTuple ``EventData``
with ``<Container>AuxDyn:<var>`` fields (static ``Aux`` variables sit one level deeper in
both). ``PhysliteSource`` hides that behind ``(container, var)`` pairs so the physics code
never sees a separator, and iterates in chunks so memory stays flat as files grow.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import uproot

from .errors import EmulatorError
from .memberwise import decode_uint32_member

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


@dataclass(frozen=True)
class Column:
    """Where one ``(container, var)`` lives in the file.

    ``key`` is the branch/field; ``field`` picks a member of a record-valued column (the
    ``m_persIndex`` of an ElementLink); ``memberwise`` marks a TTree branch streamed
    member-wise that uproot cannot read and ``memberwise.py`` decodes from the baskets.
    """

    key: str
    field: str | None = None
    memberwise: bool = False


@dataclass
class PhysliteSource:
    """One open PHYSLITE file; ``columns`` maps ``(container, var)`` to where it is stored."""

    name: str
    fmt: str  # "ttree" or "rntuple"
    obj: object
    num_entries: int
    columns: dict[tuple[str, str], Column] = field(default_factory=dict)
    file: object = None

    def metadata_tree(self):
        """The MetaData TTree (FileMetaData, CutBookkeepers, TruthMetaData), or None.

        Opened once: uproot needs a while for its thousands of branches."""
        if not hasattr(self, "_meta"):
            try:
                self._meta = self.file["MetaData"]
            except Exception:  # absent or unreadable: callers fall back and say so
                self._meta = None
        return self._meta

    def weight_names(self, dsid: int) -> list[str] | None:
        """Generator weight names from MetaData's TruthMetaData (None when not readable)."""
        meta = self.metadata_tree()
        if meta is None:
            return None
        try:
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
        present = [w for w in wanted if w in self.columns]
        special = [w for w in present if self.columns[w].memberwise]
        keys = sorted({self.columns[w].key for w in present if not self.columns[w].memberwise})
        stop = self.num_entries if entry_stop is None else min(entry_stop, self.num_entries)
        if stop <= 0:
            return
        if not keys:
            # Nothing to read (should not happen: EventInfo is always wanted); still count events.
            for start in range(0, stop, step):
                yield {("__len__", ""): ak.Array([0] * (min(stop, start + step) - start))}
            return
        for chunk, start, end in self._chunks(keys, step, stop):
            out: dict[tuple[str, str], ak.Array] = {}
            for w in present:
                col = self.columns[w]
                if col.memberwise:
                    continue
                value = self._extract(chunk, col.key)
                out[w] = value[col.field] if col.field else value
            for w in special:
                try:
                    out[w] = decode_uint32_member(self.obj[self.columns[w].key], start, end)
                except ValueError:
                    pass  # the caller sees the column missing and says so
            del chunk  # drop references before the next chunk is read: one chunk in memory
            yield out
            del out

    def _chunks(self, keys: list[str], step: int, stop: int) -> Iterator[tuple[ak.Array, int, int]]:
        if self.fmt != "rntuple":
            for chunk, report in self.obj.iterate(keys, step_size=step, entry_stop=stop, library="ak",
                                                  report=True):
                yield chunk, int(report.start), int(report.stop)
            return
        # RNTuple: read whole clusters, about ``step`` events at a time. (uproot's own
        # RNTuple iterate holds on to more memory between steps.)
        read = exact_rntuple_arrays(self.obj)
        start = 0
        while start < stop:
            end = min(self._cluster_boundary(start + step), stop)
            yield read(keys, entry_start=start, entry_stop=end, library="ak"), start, end
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


_STOP_CLUSTER = 'numpy.searchsorted(cluster_starts, entry_stop, side="right")'
_exact_arrays = None  # None: not built yet; False: not applicable to this uproot


def exact_rntuple_arrays(ntuple):
    """``ntuple.arrays`` that reads only the clusters holding the requested entries.

    uproot's RNTuple ``arrays`` (5.7) finds the last cluster with
    ``searchsorted(cluster_starts, entry_stop, side="right")``: when ``entry_stop`` is a
    cluster boundary -- every chunk the emulator reads ends on one -- it also reads and
    decompresses the *next* cluster, which the result then slices away (the TTree reader had
    the same off-by-one, fixed in uproot PR 1656). For 2-cluster chunks that is 50 % more
    input work and memory. This builds, once, a copy of that method from uproot's own source
    with ``side="left"`` (the clusters whose first entry is below ``entry_stop``) and binds it
    to ``ntuple``; uproot itself is not modified. When the source does not hold exactly
    that expression, or ``ntuple`` does not use that method, uproot's own ``arrays`` is
    returned (correct, just slower). tests/emulator compare both on multi-cluster files.
    """
    global _exact_arrays
    from uproot.behaviors import RNTuple as rntuple_behavior

    original = rntuple_behavior.HasFields.arrays
    if getattr(type(ntuple), "arrays", None) is not original:
        return ntuple.arrays
    if _exact_arrays is None:
        _exact_arrays = False
        try:
            source = textwrap.dedent(inspect.getsource(original))
        except (OSError, TypeError):
            source = ""
        if source.count(_STOP_CLUSTER) == 1:
            namespace = dict(vars(rntuple_behavior))
            code = compile(source.replace(_STOP_CLUSTER, _STOP_CLUSTER.replace('"right"', '"left"')),
                           inspect.getsourcefile(original) or "<uproot>", "exec")
            exec(code, namespace)  # noqa: S102 - uproot's own source, one expression changed
            _exact_arrays = namespace["arrays"]
    if _exact_arrays is False:
        return ntuple.arrays
    return _exact_arrays.__get__(ntuple, type(ntuple))


#: ElementLink members stored as sub-branches / record fields.
_LINK_MEMBERS = ("m_persIndex", "m_persKey")


def _index_ttree(tree: object) -> dict[tuple[str, str], Column]:
    cols: dict[tuple[str, str], Column] = {}
    for key in tree.keys(recursive=True):
        leaf = key.rsplit("/", 1)[-1]
        head, dot, var = leaf.partition(".")
        if not dot or not var:
            continue
        if "." in var:
            base, _, member = var.partition(".")
            if member in _LINK_MEMBERS and head.endswith("AuxDyn") and "/" in key:
                cols[(head[: -len("AuxDyn")], var)] = Column(key)
            continue
        if head.endswith("AuxDyn"):
            cols[(head[: -len("AuxDyn")], var)] = Column(key)
            # The streamed class name (TBranchElement.fClassName) says whether this is a
            # vector<vector<ElementLink>>; asking uproot for ``typename`` instead would build
            # the interpretation of all ~900 AuxDyn branches (seconds).
            try:
                branch = tree[key]
                typename = str(branch.member("fClassName")) if branch.has_member("fClassName") else ""
            except Exception:  # noqa: BLE001 - an unreadable branch simply offers no link members
                typename = ""
            if "ElementLink" in typename and typename.replace(" ", "").startswith("vector<vector<"):
                # vector<vector<ElementLink>> (e.g. caloClusterLinks): records per link
                for member in _LINK_MEMBERS:
                    cols[(head[: -len("AuxDyn")], f"{var}.{member}")] = Column(key, field=member)
        elif head.endswith("Aux"):
            cols.setdefault((head[: -len("Aux")], var), Column(key))
    if "egammaClusters" in tree.keys() and ("egammaClusters", "samplingPattern") not in cols:
        cols[("egammaClusters", "samplingPattern")] = Column("egammaClusters", memberwise=True)
    return cols


class _RNTupleColumns(dict):
    """Lazy ``(container, var)`` -> Column index of an RNTuple.

    Listing every (sub)field of a PHYSLITE RNTuple (``keys()``, ~3 000 fields) takes uproot
    tens of seconds; the top-level fields take a fraction of a second. So the dynamic
    ``<Container>AuxDyn:<var>`` fields are indexed at once, and record members
    (``btaggingLink.m_persIndex``), static ``<Container>Aux:`` members and the clusters'
    ``m_samplingPattern`` are looked up when first asked for.
    """

    def __init__(self, ntuple) -> None:
        super().__init__()
        self.ntuple = ntuple
        self.top = set(ntuple.keys(recursive=False))
        self._subfields: dict[str, list[str]] = {}
        for key in self.top:
            head, colon, var = key.partition(":")
            if colon and var and head.endswith("AuxDyn") and "." not in var:
                self[(head[: -len("AuxDyn")], var)] = Column(key)

    def _sub(self, key: str) -> list[str]:
        if key not in self._subfields:
            try:
                self._subfields[key] = list(self.ntuple[key].keys(recursive=False))
            except Exception:  # noqa: BLE001 - a field without members simply has none
                self._subfields[key] = []
        return self._subfields[key]

    def _resolve(self, wanted) -> Column | None:
        if not (isinstance(wanted, tuple) and len(wanted) == 2):
            return None
        cont, var = wanted
        base, dot, member = var.partition(".")
        if dot:
            key = f"{cont}AuxDyn:{base}"
            if member in _LINK_MEMBERS and key in self.top and member in self._sub(key):
                return Column(key, field=member)
            return None
        if wanted == ("egammaClusters", "samplingPattern") and "egammaClusters" in self.top \
                and "m_samplingPattern" in self._sub("egammaClusters"):
            return Column("egammaClusters", field="m_samplingPattern")
        aux = f"{cont}Aux:"
        if aux in self.top and var in self._sub(aux):
            return Column(f"{aux}.{var}")
        return None

    def __contains__(self, wanted) -> bool:
        if dict.__contains__(self, wanted):
            return True
        col = self._resolve(wanted)
        if col is None:
            return False
        self[wanted] = col
        return True

    def __getitem__(self, wanted) -> Column:
        if wanted not in self:
            raise KeyError(wanted)
        return dict.__getitem__(self, wanted)

    def get(self, wanted, default=None):
        return self[wanted] if wanted in self else default


def _index_rntuple(ntuple: object) -> dict[tuple[str, str], Column]:
    prime_field_children(ntuple)
    return _RNTupleColumns(ntuple)


def prime_field_children(ntuple) -> bool:
    """Fill every field's ``fields`` list of an uproot RNTuple in one pass.

    uproot (5.7) computes a field's children on first use by scanning *all* field records,
    and its ``arrays`` starts by listing every field: quadratic in the number of fields,
    about 15-20 s of CPU for a real PHYSLITE file (~3 000 fields) before the first byte is
    read. This computes the same lists the property would (children in record order, an
    anonymous child replaced by its own children) with one scan and stores them where the
    property caches them. Returns False, leaving uproot to do it, when the objects do not
    look as expected (another uproot version); tests/emulator compare both."""
    try:
        records = ntuple.field_records
        fields = ntuple.all_fields
        if len(records) != len(fields) or not all(
                getattr(f, "_fields", 0) is None and hasattr(f, "is_anonymous") for f in fields):
            return False
        children: dict[int, list[int]] = {}
        for i, rec in enumerate(records):
            parent = rec.parent_field_id
            if parent != i:
                children.setdefault(parent, []).append(i)

        def resolve(fid: int) -> list:
            field = fields[fid]
            if field._fields is None:
                out = []
                for i in children.get(fid, ()):
                    if fields[i].is_anonymous:
                        out.extend(resolve(i))
                    else:
                        out.append(fields[i])
                field._fields = out
            return field._fields

        for fid in range(len(fields)):
            resolve(fid)
    except (AttributeError, TypeError, IndexError, RecursionError):
        return False
    return True


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
