"""The EventSelection ``selectionCutsDict`` keyword grammar, as a small AST.

Mirrors athena ``EventSelectionConfig.interpret`` (EventSelectionConfig.py, 2025, stored copy
70095520447): one cut per line, ``#`` comments and blank lines ignored. The reader picks the
handler by the first keyword *of its own list order* that appears anywhere among the line's
words (``"EL_N" in text.split()``, then ``MU_N``, ...); every handler but OS/SS then insists
that this keyword is the first word. What the reader silently ignores (extra OS/SS words, a
last MLLWINDOW word other than ``veto``, a seventh LJETMASSWINDOW_N word) is a warning, not an
error. Public so the emulator evaluates exactly what the validator accepted::

    from topcp_codegen.validation import parse_cuts
    for cut in parse_cuts("EL_N tight 25000 == 1\\nSAVE"):
        cut.keyword, cut.selection, cut.value, cut.comparator, cut.count
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

COMPARATORS = ("<", ">", "==", ">=", "<=")

#: keyword -> kind; N_OBJ kinds take ``[selection] minPt comparator count``.
OBJECT_COUNTS = {"EL_N": "electrons", "MU_N": "muons", "JET_N": "jets", "PH_N": "photons",
                 "TAU_N": "taus", "LJET_N": "largeRjets", "LJETMASS_N": "largeRjets"}
#: The reader's dispatch order (``interpret``'s if/elif chain): the first of these found among
#: a line's words selects the handler.
KEYWORDS = (
    "EL_N", "MU_N", "SUM_EL_N_MU_N", "SUM_EL_N_MU_N_TAU_N", "JET_N_GHOST", "JET_N", "JET_N_BTAG",
    "PH_N", "TAU_N", "LJET_N_GHOST", "LJET_N", "OBJ_N", "MET", "MWT", "MET+MWT", "MLL",
    "MLLWINDOW", "OS", "SS", "MLL_OSSF", "LJETMASS_N", "LJETMASSWINDOW_N", "SAVE", "IMPORT",
    "EVENTFLAG", "GLOBALTRIGMATCH", "RUN_NUMBER",
)


@dataclass(frozen=True)
class Cut:
    """One parsed cut line.

    ``value``: the pT threshold (object counts), the mass threshold (LJETMASS_N) or the
    reference value (MET, MWT, MET+MWT, MLL); ``values``: several thresholds (SUM_* per lepton
    pT, window low/high); ``selections``: extra object selections named on the line;
    ``btag``: (tagger, WP) for ``JET_N_BTAG GN2v01:FixedCutBEff_77``; ``region``: IMPORT
    target; ``flag``: EVENTFLAG decoration or GLOBALTRIGMATCH postfix; ``leptons``: OS/SS
    flavours (empty = all); ``container``: OBJ_N's ``Container.selection``; ``ghost``:
    JET_N_GHOST's ghost spec.
    """

    keyword: str
    line: int
    text: str
    comparator: str | None = None
    count: int | None = None
    value: float | None = None
    values: tuple[float, ...] = ()
    selections: tuple[str, ...] = ()
    btag: tuple[str, str] | None = None
    region: str | None = None
    flag: str | None = None
    leptons: tuple[str, ...] = ()
    container: str | None = None
    ghost: str | None = None
    veto: bool = False


@dataclass(frozen=True)
class CutProblem:
    """A malformed cut: ``line`` is 1-based within the cut text, ``column`` 1-based.

    ``severity`` "warning": the reader accepts the line but ignores part of it.
    """

    line: int
    column: int
    message: str
    suggestion: str | None = None
    severity: str = "error"


class CutSyntaxError(ValueError):
    def __init__(self, problems: list[CutProblem]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(f"line {first.line}: {first.message}")


class _Bad(Exception):
    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion


def _float(tok: str) -> float:
    try:
        value = float(tok)
    except ValueError:
        raise _Bad(f"{tok!r} should be a number") from None
    if value < 0:
        raise _Bad(f"{tok!r} must not be negative")
    return value


def _int(tok: str) -> int:
    try:
        value = int(tok)
    except ValueError:
        raise _Bad(f"{tok!r} should be a whole number (a count)",
                   "write e.g. 2, not 2.0" if tok.replace(".", "", 1).isdigit() else None) from None
    if value < 0:
        raise _Bad(f"{tok!r} must not be negative")
    return value


def _cmp(tok: str) -> str:
    if tok not in COMPARATORS:
        raise _Bad(f"{tok!r} is not a comparator; use one of {' '.join(COMPARATORS)}")
    return tok


def _btag(tok: str) -> tuple[str, str]:
    # check_btagging only counts the parts; an empty tagger or WP names a decoration
    # (ftag_select_<tagger>_<WP>) that no FlavourTagging entry writes (rule cut-btag)
    parts = tok.split(":")
    if len(parts) != 2:
        raise _Bad(f"{tok!r} should be written 'btagger:btagWP'")
    return parts[0], parts[1]


def _nargs(items: list[str], allowed: tuple[int, ...], form: str) -> None:
    if len(items) not in allowed:
        raise _Bad(f"{items[0]} takes {form}; got {len(items) - 1} argument(s)")


def _dispatch(items: list[str]) -> str:
    """The handler the reader picks: the first keyword of its order among the words."""
    for kw in KEYWORDS:
        if kw in items:
            if kw not in ("OS", "SS") and items[0] != kw:
                raise _Bad(f"{items[0]!r} must come first on a {kw} line (the reader: "
                           f"'Misconfiguration! Check {kw} in: ...')", f"start the line with {kw}")
            return kw
    close = difflib.get_close_matches(items[0].upper(), KEYWORDS, n=1, cutoff=0.6)
    raise _Bad(f"unknown cut keyword {items[0]!r}",
               f"did you mean {close[0]!r}?" if close else None)


def _parse_line(items: list[str], line: int, text: str, notes: list[str]) -> Cut:
    """One line; ``notes`` collects what the reader accepts but ignores (warnings)."""
    kw = _dispatch(items)
    a = items[1:]
    if kw in OBJECT_COUNTS:
        _nargs(items, (4, 5), "'[selection] minPt comparator count'")
        sel = (a[0],) if len(a) == 4 else ()
        a = a[-3:]
        return Cut(kw, line, text, comparator=_cmp(a[1]), count=_int(a[2]), value=_float(a[0]),
                   selections=sel)
    if kw == "SUM_EL_N_MU_N":
        _nargs(items, (4, 5, 7), "'[selEl selMu] minPt [minPtMu] comparator count'")
        sels = tuple(a[:2]) if len(a) == 6 else ()
        pts = a[2:4] if len(a) == 6 else a[:-2]
        return Cut(kw, line, text, comparator=_cmp(a[-2]), count=_int(a[-1]),
                   values=tuple(_float(p) for p in pts), selections=sels)
    if kw == "SUM_EL_N_MU_N_TAU_N":
        _nargs(items, (4, 6, 9), "'[selEl selMu selTau] minPt [minPtMu minPtTau] comparator count'")
        sels = tuple(a[:3]) if len(a) == 8 else ()
        pts = a[3:6] if len(a) == 8 else a[:-2]
        return Cut(kw, line, text, comparator=_cmp(a[-2]), count=_int(a[-1]),
                   values=tuple(_float(p) for p in pts), selections=sels)
    if kw == "JET_N_BTAG":
        _nargs(items, (3, 4, 5), "'[selection] [btagger:btagWP] comparator count'")
        sel: tuple[str, ...] = ()
        btag = None
        if len(a) == 3:
            if ":" in text:  # add_NBJET_selector tests the whole line
                btag = _btag(a[0])
            else:
                sel = (a[0],)
        elif len(a) == 4:
            sel, btag = (a[0],), _btag(a[1])
        return Cut(kw, line, text, comparator=_cmp(a[-2]), count=_int(a[-1]), selections=sel,
                   btag=btag)
    if kw in ("JET_N_GHOST", "LJET_N_GHOST"):
        _nargs(items, (4, 5), "'ghost[!veto] [minPt] comparator count'")
        value = _float(a[1]) if len(a) == 4 else None
        return Cut(kw, line, text, ghost=a[0], value=value, comparator=_cmp(a[-2]),
                   count=_int(a[-1]))
    if kw == "LJETMASSWINDOW_N":
        # add_NLJETMASSWINDOW_selector: veto only as the exact last word 'veto' or 'VETO';
        # 5 words (or 6 with veto): no selection; 6 without veto or 7: a selection first,
        # and with 7 words the last one is never read
        _nargs(items, (5, 6, 7), "'[selection] lowMass highMass comparator count [veto]'")
        veto = items[-1] in ("veto", "VETO")
        if len(items) == 5 or (len(items) == 6 and veto):
            sel, core = (), a[:4]
        else:
            sel, core = (a[0],), a[1:5]
            if len(items) == 7 and not veto:
                notes.append(f"the reader ignores the last word {items[-1]!r} (only 'veto' or "
                             "'VETO' there turns the window into a veto)")
        return Cut(kw, line, text, values=(_float(core[0]), _float(core[1])),
                   comparator=_cmp(core[2]), count=_int(core[3]), selections=sel, veto=veto)
    if kw == "OBJ_N":
        _nargs(items, (5,), "'Container.selection minPt comparator count'")
        return Cut(kw, line, text, container=a[0], value=_float(a[1]), comparator=_cmp(a[2]),
                   count=_int(a[3]))
    if kw in ("MET", "MWT", "MET+MWT", "MLL"):
        _nargs(items, (3,), "'comparator value'")
        return Cut(kw, line, text, comparator=_cmp(a[0]), value=_float(a[1]))
    if kw in ("MLLWINDOW", "MLL_OSSF"):
        _nargs(items, (3, 4), "'low high [veto]'")
        veto = len(a) == 3 and a[2].lower() == "veto"
        if len(a) == 3 and not veto:
            notes.append(f"the reader ignores the last word {a[2]!r} (only 'veto' there turns the "
                         "window into a veto)")
        return Cut(kw, line, text, values=(_float(a[0]), _float(a[1])), veto=veto)
    if kw in ("OS", "SS"):
        # add_OS_selector/add_SS_selector: at most 4 words; 'el', 'mu', 'tau' anywhere pick the
        # leptons, any other word is ignored
        if len(items) > 4:
            raise _Bad(f"{kw} takes up to three of 'el mu tau'; got {len(items) - 1} argument(s)")
        others = [x for x in items if x not in (kw, "el", "mu", "tau")]
        if others:
            notes.append(f"the reader ignores {', '.join(map(repr, others))} on a {kw} line "
                         "(only 'el', 'mu' and 'tau' choose the leptons)")
        return Cut(kw, line, text, leptons=tuple(x for x in items if x in ("el", "mu", "tau")))
    if kw == "EVENTFLAG":
        _nargs(items, (2,), "one decoration name")
        return Cut(kw, line, text, flag=a[0])
    if kw == "GLOBALTRIGMATCH":
        _nargs(items, (1, 2), "an optional postfix")
        return Cut(kw, line, text, flag=a[0] if a else "")
    if kw == "RUN_NUMBER":
        _nargs(items, (3,), "'comparator runNumber'")
        return Cut(kw, line, text, comparator=_cmp(a[0]), count=_int(a[1]))
    if kw == "SAVE":
        _nargs(items, (1,), "no arguments")
        return Cut(kw, line, text)
    # IMPORT
    _nargs(items, (2,), "one region name")
    return Cut(kw, line, text, region=a[0])


def check_cuts(text: str) -> tuple[list[Cut], list[CutProblem]]:
    """Parse every line; return the cuts that parsed and a problem for each line that did not."""
    cuts: list[Cut] = []
    problems: list[CutProblem] = []
    for number, raw in enumerate(str(text).split("\n"), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        column = len(raw) - len(raw.lstrip()) + 1
        notes: list[str] = []
        try:
            cuts.append(_parse_line(stripped.split(), number, stripped, notes))
        except _Bad as bad:
            problems.append(CutProblem(number, column, bad.message, bad.suggestion))
        problems.extend(CutProblem(number, column, note, severity="warning") for note in notes)
    return cuts, problems


def parse_cuts(text: str) -> list[Cut]:
    """Parse a cut string; raise :class:`CutSyntaxError` listing every malformed line
    (lines the reader accepts while ignoring a word are parsed, not raised)."""
    cuts, problems = check_cuts(text)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise CutSyntaxError(errors)
    return cuts
