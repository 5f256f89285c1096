"""Bigger PHYSLITE inputs for the benchmarks, made by replicating a real small file's events.

The shared test files hold 100 events: too few to measure throughput or memory growth. Both the
emulator and the harness benchmarks build their inputs here, so they measure files made the same
way: the source's own layout (TTree ``CollectionTree`` or RNTuple ``EventData``), its events
repeated in blocks, written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import awkward as ak
import uproot


def copyable_branches(tree) -> list[str]:
    """Branches uproot can round-trip into a new file: flat and singly-jagged numbers."""
    keys = []
    for name, branch in tree.items():
        if branch.branches or branch.num_entries != tree.num_entries:
            continue
        try:
            t = str(branch.array(library="ak", entry_stop=1).type)
        except Exception:  # noqa: BLE001 - uproot raises many types for unreadable branches
            continue
        if "var * var" in t or "string" in t or "{" in t:
            continue
        keys.append(name)
    return keys


def replicate(
    source: Path,
    dest: Path,
    events: int,
    *,
    tree: str = "CollectionTree",
    keys: list[str] | None = None,
    block_events: int = 10_000,
) -> Path:
    """Write ``dest`` holding ``events`` events: the source's ``keys`` repeated (all copyable
    branches when ``keys`` is None), in blocks of about ``block_events``; atomic."""
    with uproot.open(source) as f:
        t = f[tree]
        data = t.arrays(keys if keys is not None else copyable_branches(t), library="ak")
    names = data.fields
    block = ak.concatenate([data] * max(1, block_events // len(data)))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    with uproot.recreate(tmp) as out:
        written = 0
        while written < events:
            take = min(len(block), events - written)
            chunk = {k: block[k][:take] for k in names}
            if written == 0:
                out[tree] = chunk
            else:
                out[tree].extend(chunk)
            written += take
    os.replace(tmp, dest)
    return dest
