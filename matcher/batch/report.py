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
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from matcher.batch.results import RunOutput, reject_problems

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


def _demand_sites(d: Any, l: Any, demand: np.ndarray, listing: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Where to draw each demand: for a matched one its location point (wanted town,
    present site or chain anchor) nearest its listing; else its first point; NaN when
    it has none. Degrees, shape (n_demands,) each."""
    from scoring.geo import haversine_km

    lat, lon = np.full(d.n, np.nan), np.full(d.n, np.nan)
    starts, ends = d.point_offsets[:-1], d.point_offsets[1:]
    has = ends > starts
    lat[has], lon[has] = d.point_lat[starts[has]], d.point_lon[starts[has]]
    for i, j in zip(demand.tolist(), listing.tolist()):
        k = np.arange(starts[i], ends[i])
        if k.size and np.isfinite(l.lat[j]):
            best = k[int(np.argmin(haversine_km(d.point_lat[k], d.point_lon[k], l.lat[j], l.lon[j])))]
            lat[i], lon[i] = d.point_lat[best], d.point_lon[best]
    return lat, lon


def _figures(run: RunOutput) -> dict[str, str]:
    """The map and the score histogram as data URIs."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from scoring.reference import gazetteer

    res = run.result
    sc = res.scores.scorer
    d, l = sc.demand_side, sc.listing_side
    dlat, dlon = _demand_sites(d, l, res.demand, res.listing)
    font = _cjk_font()
    out = {}
    with plt.rc_context({"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}):
        fig, ax = plt.subplots(figsize=(8, 6.5))
        g = gazetteer()
        ax.scatter(g.lon, g.lat, marker="+", s=40, c="#999999", label="towns / 镇街" if font else "towns", zorder=1)
        if font:
            for name, lat, lon in zip(g.names, g.lat, g.lon):
                ax.annotate(str(name), (lon, lat), fontsize=7, color="#777777", xytext=(3, 3),
                            textcoords="offset points")
        segs = [((dlon[i], dlat[i]), (l.lon[j], l.lat[j])) for i, j in zip(res.demand, res.listing)
                if np.isfinite(dlat[i]) and np.isfinite(l.lat[j])]
        if segs:
            from matplotlib.collections import LineCollection

            ax.add_collection(LineCollection(segs, colors="#2ca02c", linewidths=0.9, alpha=0.7, zorder=2,
                                             label=f"chosen pairs ({len(res)})"))
        ax.scatter(l.lon, l.lat, marker="s", s=14, c="#1f77b4", label=f"listings ({l.n})", zorder=3)
        ax.scatter(dlon, dlat, marker="o", s=30, facecolors="none", edgecolors="#ff7f0e", linewidths=1.2,
                   label=f"demands ({d.n}: wanted town or present site)", zorder=4)
        ax.set_xlabel("longitude (°E)")
        ax.set_ylabel("latitude (°N)")
        ax.set_title("Cixi: listings, demands and the chosen pairs")
        ax.set_aspect(1 / np.cos(np.radians(30.2)))
        ax.legend(loc="lower left", fontsize=8)
        ax.grid(alpha=0.3)
        out["map"] = _png(fig)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(8, 3.6))
        total = res.scores.total
        feas = total[np.isfinite(total)].astype(np.float64)
        bins = np.linspace(0, 1, 41).tolist()
        ax.hist(feas, bins=bins, color="#aec7e8", label=f"feasible pairs ({len(feas)})")
        ax2 = ax.twinx()
        ax2.hist(res.score, bins=bins, color="#2ca02c", alpha=0.7, label=f"chosen pairs ({len(res)})")
        ax.axvline(res.scores.scorer.profile.reservation, color="#d62728", ls="--", lw=1)
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


def write_report_html(path: str | os.PathLike[str], run: RunOutput, title: str | None = None,
                      max_rows: int = 2000) -> Path:
    """Write the report of a run (a :class:`matcher.batch.results.RunOutput`) to ``path``.

    Parameters
    ----------
    path : path-like
    run : matcher.batch.results.RunOutput
    title : str, optional
        Shown under the heading (e.g. the input files).
    max_rows : int
        Pairs shown in the table (the CSV and XLSX have them all).

    Returns
    -------
    pathlib.Path
    """
    from matcher.io.export import atomic_path

    res, s = run.result, run.summary
    c = s["counts"]
    kpis = [("listings read", c["listings_read"]), ("listings rejected", c["listings_rejected"]),
            ("demands read", c["demands_read"]), ("demands rejected", c["demands_rejected"]),
            ("feasible pairs", c["feasible_pairs"]), ("pairs made", c["matched"]),
            ("demands unmatched", c["unmatched_demands"]), ("listings unmatched", c["unmatched_listings"])]
    parts = [f"<!doctype html><html lang=zh><head><meta charset=utf-8><title>changfang report</title>"
             f"<style>{_CSS}</style></head><body>",
             "<h1>厂房匹配结果 · changfang matching report</h1>",
             f"<p class=note>{html.escape(title or '')} method <b>{html.escape(s['method'])}</b>, "
             f"objective {s['objective']:.4f}, changfang {html.escape(s['version'])}</p>",
             "<div class=kpi>" + "".join(f"<div><b>{v}</b>{html.escape(k)}</div>" for k, v in kpis) + "</div>"]
    if has_figures():
        figs = _figures(run)
        parts += ["<h2>地图 · Map</h2>", f"<img id=map alt='map of the pairs' src='{figs['map']}'>",
                  "<h2>分数分布 · Scores</h2>", f"<img id=scores alt='score distribution' src='{figs['scores']}'>"]
    else:
        parts.append("<p class=note id=nofigures>Figures need matplotlib: "
                     "<code>pip install 'changfang[report]'</code>.</p>")
    problems = [p for p in reject_problems(run.listings, run.demands) if p.severity == "error"]
    common = Counter((p.field, p.reason_zh, p.reason_en) for p in problems).most_common(10)
    parts += ["<h2>读入时剔除的原因 · Why rows were rejected</h2>",
              _table(["count", "field", "原因", "reason"], [[n, f, z, e] for (f, z, e), n in common], {0})
              if common else "<p>No row was rejected.</p>"]
    kinds = Counter((u.side, u.kind) for u in res.unmatched)
    rules: Counter[tuple[str, str]] = Counter()
    for u in res.unmatched:
        for rule, _ in u.rules[:3]:
            rules[(u.side, rule.replace("_", " "))] += 1
    parts += ["<h2>未匹配的原因 · Why records stayed unmatched</h2>",
              _table(["side", "kind", "count"], [[sd, k, n] for (sd, k), n in sorted(kinds.items())], {2})
              if kinds else "<p>Every record was matched.</p>"]
    if rules:
        parts.append("<p>Rules most often behind “no feasible partner” (among each record's top three):</p>"
                     + _table(["side", "rule", "records"], [[sd, r, n] for (sd, r), n in rules.most_common(10)], {2}))
    pairs = run.tables["pairs"]
    rows = pairs.rows
    parts += [f"<h2>配对 · Pairs ({len(rows)})</h2>",
              _table(["demand", "company", "listing", "owner", "score", "km", "㎡", "理由"],
                     list(pairs.pick(_PAIR_COLUMNS))[:max_rows], {4, 5, 6})]
    if len(rows) > max_rows:
        parts.append(f"<p class=note>First {max_rows} of {len(rows)}; pairs.csv has them all.</p>")
    parts.append("</body></html>\n")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(parts), encoding="utf-8")
    return Path(path)
