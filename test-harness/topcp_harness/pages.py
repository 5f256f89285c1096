"""The two pages a user reaches from the client's messages: failed files and logs.

After a transform with failed files servicex 3.3.1 logs "A list of failed files is at this
link" pointing to ``<endpoint>/transformation-request//<id>/results?status=failure``
(``query_core.py`` ``transform_complete``; werkzeug merges the double slash with a redirect, as
on ServiceX's Flask app), and "More information ... HERE" built from ``log-url``. ServiceX
serves the first as an HTML table (``web/transformation_results.py``, template
``transformation_results.html``: file path, status, time, events, bytes) and the logs in
Kibana. The harness renders the same table plus each file's error line, and the logs as plain
text from the per-attempt log files.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any


def results_html(request: dict[str, Any], files: list[dict[str, Any]], status: str | None,
                 logs_href: str) -> str:
    rows = []
    for f in files:
        rows.append(
            "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in (
                f["idx"] + 1, f["path"], f["status"], f"{f['seconds'] or 0:.1f}",
                f["total_events"] if f["total_events"] is not None else "",
                f["total_bytes"] if f["total_bytes"] is not None else "", f["attempts"],
                f["error"] or "")) + "</tr>")
    which = f" ({escape(status)})" if status else ""
    body = ("\n".join(rows) if rows else
            '<tr><td colspan="8">No results found!</td></tr>')
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Results of {escape(request['id'])}</title></head><body>"
        f"<h4>Results{which} for transformation {escape(request['id'])}"
        f" ({escape(str(request['title'] or ''))}, {escape(request['status'])})</h4>"
        "<table border='1' cellpadding='4' style='border-collapse:collapse'>"
        "<tr><th>#</th><th>File Path</th><th>Status</th><th>Time [s]</th><th>Events</th>"
        "<th>Bytes</th><th>Attempts</th><th>Error</th></tr>"
        f"{body}</table><p><a href='{escape(logs_href)}'>logs of every attempt</a></p>"
        "</body></html>")


def logs_text(request: dict[str, Any], files: list[dict[str, Any]],
              attempts: dict[int, list[dict[str, Any]]], only_failed: bool) -> str:
    """Every attempt's log of every file (failed files first), as one text document."""
    out = [f"# transform logs of request {request['id']} ({request['title'] or ''}): "
           f"{request['status']}"]
    ordered = sorted(files, key=lambda f: (f["status"] != "failure", f["idx"]))
    for f in ordered:
        if only_failed and f["status"] != "failure":
            continue
        out.append("")
        out.append(f"## file {f['idx'] + 1}: {f['path']} ({f['status']}"
                   + (f": {f['error']}" if f["error"] else "") + ")")
        for a in attempts.get(f["id"], []):
            out.append(f"### attempt {a['n']} on {a['worker']}: exit code {a['returncode']}"
                       + (f", {a['error']}" if a["error"] else ""))
            path = Path(a["log_path"]) if a["log_path"] else None
            try:
                out.append(path.read_text(errors="replace").rstrip() if path else "(no log)")
            except OSError:
                out.append(f"(log {path} is gone)")
    return "\n".join(out) + "\n"
