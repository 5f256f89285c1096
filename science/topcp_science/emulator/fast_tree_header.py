"""A linear-time TTree header builder for uproot's writer (trees with thousands of branches).

``uproot.writing._cascadetree.Tree._build_out`` serialises a new TTree's metadata and, for
every branch, recomputes running byte offsets by summing over everything serialised so
far (``sum(len(x) for x in out if x is not None)``) -- quadratic in the number of branches:
about 9 s for 1 200 branches, minutes for the ~2 000 branches a systematics run writes.

``install`` compiles a copy of that method in which the output list keeps those running
totals itself (``_TrackedOut``), so each lookup is O(1); the bytes produced are identical
(tests/emulator compare both builders on the same tree). The copy is made from uproot's own
source at run time, only when every expected expression is found; otherwise uproot is left
untouched (slow but correct). Nothing here changes any other uproot behaviour.
"""

from __future__ import annotations

import inspect
import re
import textwrap

_NONE_COUNT = "sum(1 if x is None else 0 for x in out)"
_TOTAL_LEN = re.compile(r"sum\(\s*len\(x\) for x in out if x is not None\s*\)")
_CREATE = "out = [None]"

ORIGINAL = None
INSTALLED = False


class _TrackedOut(list):
    """A list of byte chunks (or None placeholders) that keeps the total length of its
    chunks and the number of placeholders up to date."""

    def __init__(self, items=()) -> None:
        super().__init__(items)
        self._total = sum(len(x) for x in self if x is not None)
        self._nones = sum(1 for x in self if x is None)

    def _add(self, x, sign: int) -> None:
        if x is None:
            self._nones += sign
        else:
            self._total += sign * len(x)

    def append(self, x) -> None:
        super().append(x)
        self._add(x, 1)

    def extend(self, xs) -> None:
        for x in xs:
            self.append(x)

    def __iadd__(self, xs):
        self.extend(xs)
        return self

    def insert(self, i, x) -> None:
        super().insert(i, x)
        self._add(x, 1)

    def __setitem__(self, i, x) -> None:
        if isinstance(i, slice):
            raise NotImplementedError("slice assignment")
        self._add(self[i], -1)
        super().__setitem__(i, x)
        self._add(x, 1)

    def _unsupported(self, *args, **kwargs):
        raise NotImplementedError("only append/extend/insert/item assignment are tracked")

    pop = remove = clear = sort = reverse = __delitem__ = __imul__ = _unsupported

    def none_count(self) -> int:
        return self._nones

    def total_len(self) -> int:
        return self._total


def patched_source(source: str) -> str | None:
    """uproot's ``_build_out`` source with the running sums replaced, or None if it does
    not contain exactly the expressions this patch knows."""
    if source.count(_CREATE) != 1 or _NONE_COUNT not in source or not _TOTAL_LEN.search(source):
        return None
    source = source.replace(_CREATE, "out = _TrackedOut([None])")
    source = source.replace(_NONE_COUNT, "out.none_count()")
    source = _TOTAL_LEN.sub("out.total_len()", source)
    if "for x in out if" in source or "for x in out)" in source:
        return None  # a whole-list scan this patch does not know: leave uproot alone
    return source


def install() -> bool:
    """Replace ``Tree._build_out`` with the linear version; False when not applicable."""
    global ORIGINAL, INSTALLED
    if INSTALLED:
        return True
    try:
        from uproot.writing import _cascadetree
    except ImportError:  # pragma: no cover - uproot is a dependency
        return False
    original = _cascadetree.Tree._build_out
    try:
        source = textwrap.dedent(inspect.getsource(original))
    except (OSError, TypeError):
        return False
    new = patched_source(source)
    if new is None:
        return False
    namespace = dict(vars(_cascadetree))
    namespace["_TrackedOut"] = _TrackedOut
    exec(compile(new, inspect.getsourcefile(original) or "<uproot>", "exec"), namespace)  # noqa: S102
    ORIGINAL = original
    _cascadetree.Tree._build_out = namespace["_build_out"]
    INSTALLED = True
    return True
