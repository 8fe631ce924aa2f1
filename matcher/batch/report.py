"""``report.html``: one self-contained page about a matching run.

It opens offline: the styles are inline and the figures are PNG images embedded as
``data:`` URIs. Figures are drawn with matplotlib, from the optional ``[report]``
extra; without it the page still has every table and says how to get the figures.

Contents: the counts; a map of Cixi (towns, listings, demands and the chosen pairs
as lines); the distribution of feasible scores beside the chosen pairs' scores; the
most common reasons rows were rejected at reading and records were left unmatched;
and the pairs table.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from matcher.batch.results import ReportData

__all__ = ["has_figures", "write_report_html"]

# the pairs table's columns shown in the report, in order
_PAIR_COLUMNS = ("demand_id", "company", "listing_id", "owner", "score", "distance_km", "allocated_area_m2",
                 "reasons_zh")


def has_figures() -> bool:
    """True when matplotlib (the ``[report]`` extra) is installed."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _cjk_font() -> str | None:
    """A font with Chinese glyphs known to matplotlib, if the machine has one."""
    from matplotlib import font_manager

    for f in font_manager.fontManager.ttflist:
        if any(k in f.name for k in ("Noto Sans CJK", "Noto Serif CJK", "WenQuanYi", "SimHei", "Microsoft YaHei",
                                     "PingFang", "Source Han", "AR PL")):
            return f.name
    return None


def _figures(data: ReportData) -> dict[str, str]:
    """The map and the score histogram as data URIs."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    font = _cjk_font()
    out = {}
    where_d = {p.id: p for p in data.demands}
    where_l = {p.id: p for p in data.listings}
    with plt.rc_context({"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}):
        fig, ax = plt.subplots(figsize=(8, 6.5))
        ax.scatter([t.lon for t in data.towns], [t.lat for t in data.towns], marker="+", s=40, c="#999999",
                   label="towns / 镇街" if font else "towns", zorder=1)
        if font:
            for t in data.towns:
                ax.annotate(t.label, (t.lon, t.lat), fontsize=7, color="#777777", xytext=(3, 3),
                            textcoords="offset points")
        segs = [((where_d[a].lon, where_d[a].lat), (where_l[b].lon, where_l[b].lat)) for a, b, _ in data.lines]
        if segs:
            from matplotlib.collections import LineCollection

            ax.add_collection(LineCollection(segs, colors="#2ca02c", linewidths=0.9, alpha=0.7, zorder=2,
                                             label=f"chosen pairs ({data.counts['matched']})"))
        ax.scatter([p.lon for p in data.listings], [p.lat for p in data.listings], marker="s", s=14, c="#1f77b4",
                   label=f"listings ({len(data.listings)})", zorder=3)
        ax.scatter([p.lon for p in data.demands], [p.lat for p in data.demands], marker="o", s=30,
                   facecolors="none", edgecolors="#ff7f0e", linewidths=1.2,
                   label=f"demands ({len(data.demands)}: wanted town or present site)", zorder=4)
        ax.set_xlabel("longitude (°E)")
        ax.set_ylabel("latitude (°N)")
        ax.set_title("Cixi: listings, demands and the chosen pairs")
        ax.set_aspect(1 / np.cos(np.radians(30.2)))
        ax.legend(loc="lower left", fontsize=8)
        ax.grid(alpha=0.3)
        out["map"] = _png(fig)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(8, 3.6))
        edges = np.asarray(data.bins)
        mids, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        ax.bar(mids, data.feasible_hist, width=width, color="#aec7e8",
               label=f"feasible pairs ({sum(data.feasible_hist)})")
        ax2 = ax.twinx()
        ax2.bar(mids, data.chosen_hist, width=width, color="#2ca02c", alpha=0.7,
                label=f"chosen pairs ({sum(data.chosen_hist)})")
        ax.axvline(data.reservation, color="#d62728", ls="--", lw=1)
        ax.set_xlabel("score")
        ax.set_ylabel("feasible pairs")
        ax2.set_ylabel("chosen pairs")
        ax.set_title("Score distribution (dashed: the reservation score)")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8)
        out["scores"] = _png(fig)
        plt.close(fig)
    return out


_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;width:100%}th,td{border:1px solid #ddd;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#f3f3f3;position:sticky;top:0}
td.n{text-align:right;font-variant-numeric:tabular-nums}.kpi{display:flex;gap:1em;flex-wrap:wrap}
.kpi div{background:#f6f8fa;border-radius:6px;padding:.6em 1em}.kpi b{display:block;font-size:1.4em}
img{max-width:100%}.note{color:#777}
"""


def _table(headers: list[str], rows: list[list[Any]], numeric: Collection[int] = frozenset()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(
        f"<td class=n>{html.escape(str(v))}</td>" if k in numeric else f"<td>{html.escape(str(v))}</td>"
        for k, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report_html(path: str | os.PathLike[str], data: ReportData) -> Path:
    """Write ``report.html`` from what a run computed (:class:`ReportData`).

    Parameters
    ----------
    path : path-like
    data : matcher.batch.results.ReportData

    Returns
    -------
    pathlib.Path
    """
    from matcher.io.export import atomic_path

    c = data.counts
    kpis = [("listings read", c["listings_read"]), ("listings rejected", c["listings_rejected"]),
            ("demands read", c["demands_read"]), ("demands rejected", c["demands_rejected"]),
            ("feasible pairs", c["feasible_pairs"]), ("pairs made", c["matched"]),
            ("demands unmatched", c["unmatched_demands"]), ("listings unmatched", c["unmatched_listings"])]
    parts = [f"<!doctype html><html lang=zh><head><meta charset=utf-8><title>changfang report</title>"
             f"<style>{_CSS}</style></head><body>",
             "<h1>厂房匹配结果 · changfang matching report</h1>",
             f"<p class=note>{html.escape(data.title)} method <b>{html.escape(data.method)}</b>, "
             f"objective {data.objective:.4f}, changfang {html.escape(data.version)}</p>",
             "<div class=kpi>" + "".join(f"<div><b>{v}</b>{html.escape(k)}</div>" for k, v in kpis) + "</div>"]
    if has_figures():
        figs = _figures(data)
        parts += ["<h2>地图 · Map</h2>", f"<img id=map alt='map of the pairs' src='{figs['map']}'>",
                  "<h2>分数分布 · Scores</h2>", f"<img id=scores alt='score distribution' src='{figs['scores']}'>"]
    else:
        parts.append("<p class=note id=nofigures>Figures need matplotlib: "
                     "<code>pip install 'changfang[report]'</code>.</p>")
    parts += ["<h2>读入时剔除的原因 · Why rows were rejected</h2>",
              _table(["count", "field", "原因", "reason"], [[n, f, z, e] for f, z, e, n in data.rejects], {0})
              if data.rejects else "<p>No row was rejected.</p>"]
    parts += ["<h2>未匹配的原因 · Why records stayed unmatched</h2>",
              _table(["side", "kind", "count"], [list(k) for k in data.unmatched_kinds], {2})
              if data.unmatched_kinds else "<p>Every record was matched.</p>"]
    if data.unmatched_rules:
        parts.append("<p>Rules most often behind “no feasible partner” (among each record's top three):</p>"
                     + _table(["side", "rule", "records"],
                              [[sd, r.replace("_", " "), n] for sd, r, n in data.unmatched_rules], {2}))
    parts += [f"<h2>配对 · Pairs ({data.n_pairs})</h2>",
              _table(["demand", "company", "listing", "owner", "score", "km", "㎡", "理由"],
                     [[row[col] for col in _PAIR_COLUMNS] for row in data.pairs], {4, 5, 6})]
    if data.n_pairs > len(data.pairs):
        parts.append(f"<p class=note>First {len(data.pairs)} of {data.n_pairs}; pairs.csv has them all.</p>")
    parts.append("</body></html>\n")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(parts), encoding="utf-8")
    return Path(path)
