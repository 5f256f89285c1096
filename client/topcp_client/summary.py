"""``topcp-sx summary``: one sample summary across output files, for normalising MC.

Every TopCP output carries its own bookkeeping, and a sample delivered as N files must be added
up before any plot is right. The formats read here are the release's:

- ``CutBookkeeper_<DSID>_<RUN>_<SYS>``: athena ``AsgCutBookkeeperAlg`` (AsgAnalysisAlgorithms,
  ATLAS-experiment/athena stored copy 71432025369, 2026) books
  ``TH1F(name, "CutBookkeeper Information", 3, 0.5, 3.5)`` with bins "Initial events",
  "Initial sum of weights", "Initial sum of weights squared", filled from the input's
  ``AllExecutedEvents`` CutBookkeeper of the highest cycle (file metadata, i.e. the events
  *before* any skim), one histogram per generator-weight systematic (``_NOSYS`` for nominal).
- Event cutflows ``cflow_EventInfo__<region>_<SYS>``: ``EventCutFlowHistAlg`` (stored copy
  70883156500, 2025) books ``TH1F(name, "event cut flow", N+1, 0, N+1)``, bin 1 ``total``,
  the others labelled with the selection names; ``EventCutFlowBlock`` names them
  ``'cflow_' + container + '_' + selection + postfix + '_%SYS%'`` (AsgAnalysisConfig).
  Object cutflows ``cflow_<Container>_<selection>_<SYS>`` are summed the same way.
- ``metadata`` TH1I (TopCPToolkit ``bin/ab/runTop_el.py``): bin labels data type
  (``fullsim``/``fastsim``/``data``), campaign (or data year), DSID, e-tag.

The emulator's output is read the same way (it writes TH1D, 'all' as first cutflow label and
'mc' as data type; summing does not depend on either).

What identifies an input: in order, the emulator marker's input list (when it has one), a
ServiceX object name (the input path with ``/`` -> ``:``, test-harness naming.py), else the
output file name (``topcp-sx run`` names outputs after their input). Independently of names, two
outputs of one sample sharing (run, event) numbers (``eventNumber``/``runNumber`` branches,
written with PileupReweighting) are reported as the same events counted twice. Equal
CutBookkeepers are no evidence: with a constant generator weight (Powheg ttbar) any two files
of equal size have them.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import ntuple

SUMMARY_NAME = "topcp-summary.json"
FORMAT = "topcp-sx-summary/1"
NOSYS = ntuple.NOSYS
_CBK = re.compile(r"^CutBookkeeper_(\d+)_(\d+)_(.+)$")
_CBK_LABELS = ("Initial events", "Initial sum of weights", "Initial sum of weights squared")
_EVENT_FLOW = "cflow_EventInfo__"
#: Trees whose event numbers identify events (the reco level first).
_ID_TREES = ("reco", "analysis")


class SummaryError(ValueError):
    """Bad summary input (no files, not a TopCP output, unreadable summary JSON)."""


@dataclass
class FileRecord:
    """What one output file contributes to the summary."""

    path: str
    name: str
    size: int
    input: str
    input_source: str
    emulated: bool = False
    data_type: str | None = None
    campaign: str | None = None
    dsid: int | None = None
    etag: str | None = None
    runs: list[int] = field(default_factory=list)
    #: (dsid, run) -> systematic -> [events, sumw, sumw2]
    bookkeepers: dict[tuple[int, int], dict[str, list[float]]] = field(default_factory=dict)
    #: histogram base name (without _<SYS>) -> systematic -> (labels, values)
    cutflows: dict[str, dict[str, tuple[list[str], list[float]]]] = field(default_factory=dict)
    trees: dict[str, int] = field(default_factory=dict)
    event_ids: set[tuple[int, int]] | None = None

    @property
    def is_data(self) -> bool:
        """Data by the ``metadata`` histogram (bin 1 ``data``); unknown counts as not data."""
        return (self.data_type or "").lower() == "data"

    def nominal(self) -> list[float] | None:
        for per_sys in self.bookkeepers.values():
            if NOSYS in per_sys:
                return per_sys[NOSYS]
        return None


@dataclass
class Summary:
    """The summed bookkeeping of a set of output files, grouped by sample (DSID and run)."""

    files: list[FileRecord]
    samples: list[dict[str, Any]]
    checks: dict[str, Any]
    created: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.checks.get("ok"))

    def sample_for(self, dsid: int | None, run: int | None = None) -> dict[str, Any] | None:
        for s in self.samples:
            if s.get("dsid") == dsid and (run is None or s.get("run") == run):
                return s
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "written_by": "topcp-sx summary (servicex-topcp)",
            "created": self.created,
            "emulated": _emulated_flag(self.files),
            "files": [_file_json(r) for r in self.files],
            "samples": self.samples,
            "checks": self.checks,
        }


def _emulated_flag(records: Sequence[FileRecord]) -> bool | str:
    flags = {r.emulated for r in records}
    return "mixed" if len(flags) > 1 else (flags.pop() if flags else False)


def _file_json(r: FileRecord) -> dict[str, Any]:
    nominal = r.nominal()
    return {
        "path": r.path, "name": r.name, "size": r.size, "input": r.input,
        "input_source": r.input_source, "emulated": r.emulated, "data_type": r.data_type,
        "campaign": r.campaign, "dsid": r.dsid, "etag": r.etag, "runs": r.runs,
        "trees": r.trees,
        "nominal": None if nominal is None else dict(zip(("events", "sumw", "sumw2"), nominal,
                                                         strict=True)),
    }


# -- reading one file ------------------------------------------------------------------------

def input_identity(output: Path, marker: dict[str, Any] | None) -> tuple[str, str]:
    """(input name, where it came from) for one output file; see the module docstring."""
    if isinstance(marker, dict):
        for key in ("inputs", "input_files", "input"):
            value = marker.get(key)
            if isinstance(value, list) and len(value) == 1 and value[0]:
                return Path(str(value[0])).name, "emulator marker"
            if isinstance(value, str) and value:
                return Path(value).name, "emulator marker"
    name = output.name
    if ":" in name:  # ServiceX object name: the input path with '/' replaced by ':'
        return name.rsplit(":", 1)[-1], "ServiceX object name"
    return name, "output file name"


def _labels_values(h) -> tuple[list[str], list[float]]:
    values = [float(v) for v in h.values()]
    labels = list(h.axis().labels() or [])
    if len(labels) != len(values):
        labels = [str(i + 1) for i in range(len(values))]
    return labels, values


def _bookkeeper_triplet(labels: list[str], values: list[float]) -> list[float]:
    if all(lab in labels for lab in _CBK_LABELS):
        return [values[labels.index(lab)] for lab in _CBK_LABELS]
    return (values + [0.0, 0.0, 0.0])[:3]


def _split_systematic(rest: str, known: Iterable[str]) -> tuple[str, str]:
    """``ejets_JET_X__1up`` -> (``ejets``, ``JET_X__1up``) using the known systematic names."""
    best = ""
    for s in known:
        if rest.endswith("_" + s) and len(s) > len(best):
            best = s
    if best:
        return rest[: -len(best) - 1], best
    m = re.search(r"_([A-Z][A-Za-z0-9_]*__\d+(?:up|down))$", rest)
    if m:
        return rest[: m.start()], m.group(1)
    return rest, ""


def _read_event_ids(objs: dict[str, Any], trees: dict[str, int]) -> set[tuple[int, int]] | None:
    import numpy as np

    for name in (*_ID_TREES, *trees):
        if name not in trees or trees[name] == 0:
            continue
        obj = objs[name]
        keys = set(obj.keys())
        if "eventNumber" not in keys:
            continue
        events = obj["eventNumber"].array(library="np").astype(np.uint64)
        runs = (obj["runNumber"].array(library="np").astype(np.uint64) if "runNumber" in keys
                else np.zeros(len(events), dtype=np.uint64))
        return set(zip(runs.tolist(), events.tolist(), strict=True))
    return None


def read_record(path: Path | str, *, event_ids: bool = True) -> FileRecord:
    """Read one output file's bookkeeping (histograms only, plus event numbers if asked).

    Remembered per (path, size, mtime): ``plot --xsec`` and repeated summaries in one process
    read each file once. The record is shared: treat it as read-only.
    """
    p = Path(path)
    if not p.is_file():
        return _read_record(p, event_ids, 0, 0)  # raises the "no such file" error
    st = p.stat()
    return _read_record(p, event_ids, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=512)
def _read_record(p: Path, event_ids: bool, _size: int, _mtime: int) -> FileRecord:
    f = ntuple.open_root(p)
    with f:
        classes = {k.split(";")[0]: v for k, v in f.classnames(recursive=False).items()}
        marker_text = ntuple.emulator_marker(f)
        marker = None
        if marker_text:
            try:
                marker = json.loads(marker_text)
            except ValueError:
                marker = None
        name, source = input_identity(p, marker)
        rec = FileRecord(path=str(p), name=p.name, size=p.stat().st_size, input=name,
                         input_source=source, emulated=marker_text is not None)
        objs = {n: f[n] for n, c in classes.items() if c == "TTree" or str(c).endswith("RNTuple")}
        rec.trees = {n: int(obj.num_entries) for n, obj in objs.items()}
        if not rec.trees and not any(n.startswith(("CutBookkeeper_", "cflow_")) or n == "metadata"
                                     for n in classes):
            raise SummaryError(f"{p}: not a TopCP output (no trees, CutBookkeepers, cutflows or "
                               "metadata histogram)")
        if classes.get("metadata", "").startswith("TH1"):
            labels = list(f["metadata"].axis().labels() or [])
            labels += [""] * (4 - len(labels))
            rec.data_type = labels[0] or None
            rec.campaign = labels[1] or None
            rec.dsid = int(labels[2]) if labels[2].isdigit() and int(labels[2]) else None
            rec.etag = labels[3] or None
        known = {NOSYS}
        for n, c in classes.items():
            if n.startswith("listOfSystematics") and c.startswith("TH1"):
                known.update(lab for lab in (f[n].axis().labels() or []) if lab)
        for n, c in classes.items():
            m = _CBK.match(n)
            if m and c.startswith("TH1"):
                dsid, run, sys = int(m.group(1)), int(m.group(2)), m.group(3)
                known.add(sys)
                rec.bookkeepers.setdefault((dsid, run), {})[sys] = _bookkeeper_triplet(
                    *_labels_values(f[n]))
        for n, c in classes.items():
            if n.startswith("cflow_") and c.startswith("TH1"):
                base, sys = _split_systematic(n[len("cflow_"):], known)
                rec.cutflows.setdefault(base, {})[sys or NOSYS] = _labels_values(f[n])
        rec.runs = sorted({run for _, run in rec.bookkeepers})
        if rec.dsid is None and rec.bookkeepers:
            rec.dsid = sorted(rec.bookkeepers)[0][0]
        if event_ids:
            rec.event_ids = _read_event_ids(objs, rec.trees)
    return rec


# -- combining -------------------------------------------------------------------------------

def _sample_key(rec: FileRecord) -> tuple[Any, ...]:
    if rec.bookkeepers:
        return ("mc", *sorted(rec.bookkeepers)[0])
    return ("data" if rec.is_data else "unknown", rec.dsid or 0, rec.campaign or "")


def _add(into: list[float], values: Sequence[float]) -> None:
    for i, v in enumerate(values):
        into[i] += v


def _combine(records: list[FileRecord], problems: list[str]) -> dict[str, Any]:
    first = records[0]
    sample: dict[str, Any] = {
        "dsid": first.dsid, "run": first.runs[0] if first.runs else None,
        "data_type": first.data_type, "campaign": first.campaign, "etag": first.etag,
        "is_data": first.is_data, "files": [r.name for r in records], "n_files": len(records),
    }
    for key in ("data_type", "campaign", "etag"):
        seen = sorted({str(getattr(r, key)) for r in records})
        if len(seen) > 1:
            problems.append(f"DSID {first.dsid}: files disagree on {key} ({', '.join(seen)})")
    sumw: dict[str, list[float]] = {}
    for r in records:
        for per_sys in r.bookkeepers.values():
            for sys, triplet in per_sys.items():
                _add(sumw.setdefault(sys, [0.0, 0.0, 0.0]), triplet)
    systs = sorted(sumw, key=lambda s: (s != NOSYS, s))
    sample["sum_of_weights"] = {s: dict(zip(("events", "sumw", "sumw2"), sumw[s], strict=True))
                                for s in systs}
    counts: set[int] = {len(per) for r in records for per in r.bookkeepers.values()}
    if len(counts) > 1:
        problems.append(f"DSID {first.dsid}: the files carry different numbers of CutBookkeeper "
                        f"systematics ({', '.join(map(str, sorted(counts)))}): mixed configs?")
    events: dict[str, int] = {}
    for r in records:
        for tree, n in r.trees.items():
            events[tree] = events.get(tree, 0) + n
    sample["events"] = events
    flows: dict[str, dict[str, dict[str, Any]]] = {}
    for r in records:
        for base, per_sys in r.cutflows.items():
            for sys, (labels, values) in per_sys.items():
                slot = flows.setdefault(base, {}).get(sys)
                if slot is None:
                    flows[base][sys] = {"labels": list(labels), "values": list(values)}
                elif slot["labels"] != list(labels):
                    problems.append(f"cutflow {base} ({sys}) has other bins in {r.name} than "
                                    "in the files before it (different configs?); not added")
                else:
                    _add(slot["values"], values)
    sample["cutflows"] = {b[len("EventInfo__"):]: v for b, v in sorted(flows.items())
                          if b.startswith("EventInfo__")}
    sample["object_cutflows"] = {b: v for b, v in sorted(flows.items())
                                 if not b.startswith("EventInfo__")}
    return sample


def _duplicates(records: list[FileRecord]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    by_path: dict[str, list[str]] = {}
    for r in records:
        by_path.setdefault(os.path.realpath(r.path), []).append(r.path)
    for real, paths in by_path.items():
        if len(paths) > 1:
            found.append({"reason": "the same file was given more than once", "input": real,
                          "files": paths})
    distinct = {os.path.realpath(r.path): r for r in records}.values()
    groups: dict[tuple[str, str], list[FileRecord]] = {}
    for r in distinct:
        groups.setdefault(("input", _norm(r.input)), []).append(r)
    # Identical CutBookkeepers are no evidence: samples with a constant generator weight (e.g.
    # Powheg ttbar) give equal sums for any two files of equal size.
    for (_, _), members in groups.items():
        if len(members) > 1:
            found.append({"reason": f"outputs of the same input ({members[0].input}, from the "
                                    f"{members[0].input_source})",
                          "input": members[0].input, "files": [m.path for m in members]})
    with_ids = [r for r in distinct if r.event_ids]
    for i, a in enumerate(with_ids):
        for b in with_ids[i + 1:]:
            if (a.dsid, a.runs) != (b.dsid, b.runs):
                continue
            shared = a.event_ids & b.event_ids  # type: ignore[operator]
            if shared:
                found.append({"reason": f"{len(shared)} (run, event) numbers appear in both",
                              "input": f"{a.input} / {b.input}", "files": [a.path, b.path],
                              "shared_events": len(shared)})
    # one entry per set of files
    unique: dict[tuple[str, ...], dict[str, Any]] = {}
    for d in found:
        key = tuple(sorted(d["files"]))
        if key in unique:
            unique[key]["reason"] += "; " + d["reason"]
        else:
            unique[key] = d
    return list(unique.values())


def _norm(name: str) -> str:
    base = Path(name.rsplit(":", 1)[-1]).name
    return base[: -len(".root")] if base.endswith(".root") else base


def summarize(
    files: Iterable[str | Path],
    *,
    expected_inputs: Iterable[str] | None = None,
    expected_events: int | None = None,
    event_ids: bool = True,
) -> Summary:
    """Sum CutBookkeepers, cutflows and tree entries over ``files``, grouped by sample.

    ``expected_inputs`` (the input files/URLs the sample was made from) lets the summary name
    the inputs with no output; ``expected_events`` (the dataset's total from AMI/rucio) is
    compared with the summed "Initial events". Duplicates are always looked for.
    """
    paths = [Path(p) for p in files]
    if not paths:
        raise SummaryError("no output files given")
    records = [read_record(p, event_ids=event_ids) for p in paths]
    problems: list[str] = []
    notes: list[str] = []
    duplicates = _duplicates(records)
    seen: set[str] = set()
    unique_records = []
    for r in records:  # a file listed twice is reported and counted once
        real = os.path.realpath(r.path)
        if real not in seen:
            seen.add(real)
            unique_records.append(r)
    groups: dict[tuple[Any, ...], list[FileRecord]] = {}
    for r in unique_records:
        groups.setdefault(_sample_key(r), []).append(r)
    samples = [_combine(members, problems) for _, members in sorted(groups.items(),
                                                                      key=lambda kv: str(kv[0]))]
    missing: list[str] = []
    if expected_inputs is not None:
        expected = list(expected_inputs)
        have = {_norm(r.input) for r in unique_records}
        missing = [x for x in expected if _norm(x) not in have]
        wanted = {_norm(x) for x in expected}
        extra = sorted({r.input for r in unique_records if _norm(r.input) not in wanted})
        if extra:
            problems.append("outputs of inputs not in the expected list: " + ", ".join(extra))
    else:
        notes.append("no expected input list given: missing files cannot be named (pass "
                     "--inputs with the files or URLs the sample was made from)")
    if expected_events is not None:
        total = sum(s["sum_of_weights"].get(NOSYS, {}).get("events", 0) for s in samples)
        if not math.isclose(total, expected_events, rel_tol=1e-6):
            problems.append(f"expected {expected_events} input events, the CutBookkeepers "
                            f"count {total:.0f}: "
                            + ("files are missing" if total < expected_events else
                               "files are counted more than once"))
    if any(r.emulated for r in records):
        notes.append("emulated outputs (topcp-emulate): the numbers are a preview, not physics")
    for r in unique_records:
        if not r.bookkeepers and not r.is_data:
            problems.append(f"{r.name}: no CutBookkeeper_* histograms (GeneratorLevelAnalysis "
                            "missing, saveCutBookkeepers: False or a custom histPattern?): it "
                            "cannot be normalised")
    checks = {
        "ok": not duplicates and not missing and not problems,
        "files_given": len(records),
        "files_counted": len(unique_records),
        "duplicates": duplicates,
        "missing": missing,
        "problems": problems,
        "notes": notes,
    }
    created = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return Summary(records, samples, checks, created)


# -- files on disk ---------------------------------------------------------------------------

def output_files(items: Sequence[str | Path]) -> list[Path]:
    """Expand folders into their ``*.root`` files (sorted); keep files as given (duplicates too)."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(x for x in p.iterdir() if x.is_file() and x.suffix == ".root"
                           and not x.name.startswith("."))
            if not found:
                raise SummaryError(f"{p}: no .root files in this folder")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise SummaryError(f"{p}: no such file or folder")
    return out


def default_destination(items: Sequence[str | Path], files: Sequence[Path]) -> Path:
    """``OUTDIR/topcp-summary.json`` for one folder, else beside the files (one common folder)."""
    dirs = [Path(i) for i in items if Path(i).is_dir()]
    if len(dirs) == 1 and len(items) == 1:
        return dirs[0] / SUMMARY_NAME
    parents = {p.resolve().parent for p in files}
    if len(parents) == 1:
        return parents.pop() / SUMMARY_NAME
    raise SummaryError("the files are in several folders: say where to write the summary "
                       "with -o/--output")


def write_summary(summary: Summary, dest: Path | str) -> Path:
    """Write the JSON atomically (temporary file in the same folder, then rename)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=str(dest.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(summary.to_dict(), out, indent=1, sort_keys=False)
            out.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def load_summary(path: Path | str) -> dict[str, Any]:
    """Read a summary JSON written by ``write_summary`` (a dict in the ``to_dict`` layout)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SummaryError(f"{p}: no such summary file") from None
    except (OSError, ValueError) as exc:
        raise SummaryError(f"{p}: not a readable summary JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SummaryError(f"{p}: not a topcp-sx summary (expected format '{FORMAT}')")
    return data


def summary_beside(ntuple_path: Path | str) -> tuple[Path, dict[str, Any]] | None:
    """The summary JSON next to an output file, if there is one that lists this file."""
    p = Path(ntuple_path)
    candidate = p.resolve().parent / SUMMARY_NAME
    if not candidate.is_file():
        return None
    try:
        data = load_summary(candidate)
    except SummaryError:
        return None
    if any(Path(f.get("path", "")).resolve() == p.resolve() for f in data.get("files", [])):
        return candidate, data
    return None
