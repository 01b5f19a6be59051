"""Cohort overview page: how many cases in each category, which failed and why, links to every case report."""

from __future__ import annotations

import html
from collections import Counter
from typing import Dict, List

from ..scoring.categories import CLASSIC_CODES
from .html_report import DISCLAIMER, _matplotlib, _png


def category_figure(rows: List[Dict[str, object]]) -> str:
    plt = _matplotlib()
    counts = Counter(str(row["classic"]) for row in rows if row["status"] == "ok")
    figure, axis = plt.subplots(figsize=(6, 3))
    axis.bar(CLASSIC_CODES, [counts.get(code, 0) for code in CLASSIC_CODES], color="#5d6d7e")
    axis.set_ylabel("cases")
    axis.set_title("Classic Agatston category")
    return _png(figure)


def render_overview(rows: List[Dict[str, object]]) -> str:
    ok = [row for row in rows if row["status"] == "ok"]
    failed = [row for row in rows if row["status"] == "failed"]
    parts = ["<h1>Coronary calcium: cohort overview</h1>",
             '<p class="disclaimer">%s</p>' % html.escape(DISCLAIMER),
             "<p>%d cases: %d assessed, %d failed.</p>" % (len(rows), len(ok), len(failed))]
    if ok:
        parts.append('<img alt="category distribution" src="%s">' % category_figure(rows))
    if failed:
        parts.append("<h2>Failed cases</h2><table><tr><th>case</th><th>error</th></tr>")
        parts.extend("<tr><td>%s</td><td>%s</td></tr>" % (html.escape(str(r["id"])), html.escape(str(r["error"])))
                     for r in failed)
        parts.append("</table>")
    if ok:
        parts.append("<h2>Cases</h2><table><tr><th>case</th><th>Agatston</th><th>category</th><th>CAC-DRS</th>"
                     "<th>classifier</th><th>review</th></tr>")
        for row in ok:
            case = html.escape(str(row["id"]))
            parts.append('<tr><td><a href="%s/report.html">%s</a></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
                         "<td>%s</td></tr>" % (case, case, row["agatston"], html.escape(str(row["classic"])),
                                               html.escape(str(row["cac_drs"])),
                                               html.escape(str(row["classifier_label"])), _review(row)))
        parts.append("</table>")
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px}.disclaimer{background:#fff3cd;padding:0.6em}")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Cohort overview</title><style>%s</style>"
            "</head><body>%s</body></html>\n" % (style, "\n".join(parts)))


def _review(row: Dict[str, object]) -> str:
    """"automatic", or "reviewed: N edits, Agatston A -> B"."""
    if row.get("reviewed") != "yes":
        return "automatic"
    return html.escape("reviewed: %s edit(s), Agatston %s -> %s" % (row.get("review_edits"),
                                                                   row.get("automatic_agatston"), row["agatston"]))


def write_overview(path: str, rows: List[Dict[str, object]]) -> None:
    from ..io.atomic import write_text_atomic

    write_text_atomic(path, render_overview(rows))
