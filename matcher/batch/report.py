"""``report.html``: one self-contained page about a matching run, in Chinese first.

The page opens offline and makes no request: styles, scripts, data and figures are
inline, the figures are SVG drawn here in pure Python (no plotting library, no tiles,
no web fonts). It reads a phone's width (360 px) as well as a desktop's. The same
:class:`~matcher.batch.results.ReportData` gives a byte-identical page.

Contents, each section headed in Chinese with the English in smaller type:

* 概况: the counts of ``run.json``, the allocation method, the objective and its gap,
  the reservation score;
* 地图: the county's towns by their Chinese names, the listings and demands, the chosen
  pairs as lines (:mod:`matcher.viz.svgmap`); hovering, tapping or stepping with the
  arrow keys shows a pair's demand, listing and score. At most ``max_lines`` pairs and
  ``max_points`` points a side are drawn (a fixed hash sample that keeps the share of
  matched records; the drawn pairs' ends always), and the page says what it left out;
* 得分分布: feasible and chosen pairs' scores, each as a share of its own group on one
  axis, with the reservation score marked;
* why rows were rejected at reading, why records stayed unmatched (by kind) and the
  rules most often behind "no feasible partner";
* 配对表: the pairs (``ReportData.pairs``, at most what the run passed) from an embedded
  JSON array: every header a button that sorts (numbers as numbers, blanks last, again
  to reverse), a filter box over every shown cell, a count of the rows matching; rows
  are listed 250 at a time (a button lists more, or all).

Text from the data (company, owner, ids, reasons) is escaped everywhere
(:mod:`matcher.viz.markup`): it shows as text, whatever it holds.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import scoring
from matcher.batch.results import FIELD_ZH, PAIRS, PAIRS_COLUMNS, MapPoint, ReportData
from matcher.viz import svgmap
from matcher.viz.markup import escape, script_json

__all__ = ["MAX_LINES", "MAX_POINTS", "render_report", "write_report_html"]

HEADERS_ZH = {c.name: c.zh for c in PAIRS}
NUMERIC = frozenset(c.name for c in PAIRS if c.kind == "number")

MAX_LINES = 1500
"""Pairs drawn on the map at most."""
MAX_POINTS = 2000
"""Listings, and demands, drawn on the map at most."""

# labels: Chinese first, English for the title attribute or small type
_KPIS = (("listings_read", "读入房源", "listings read"), ("listings_rejected", "剔除房源", "listings rejected"),
         ("listings_merged", "合并重复房源", "listings merged (an id repeated with the same content)"),
         ("demands_read", "读入需求", "demands read"), ("demands_rejected", "剔除需求", "demands rejected"),
         ("demands_merged", "合并重复需求", "demands merged (an id repeated with the same content)"),
         ("feasible_pairs", "可行配对", "feasible pairs"), ("matched", "配对", "pairs made"),
         ("locked", "其中锁定", "of them locked"), ("unmatched_demands", "未匹配需求", "demands unmatched"),
         ("unmatched_listings", "未匹配房源", "listings unmatched"))
_METHODS = {"one_to_one": "一对一", "divisible": "按单元分割", "stable": "双边稳定匹配"}
_SIDES = {"demand": ("需求", "demand"), "listing": ("房源", "listing")}
_KINDS = {"no_feasible": ("无可行对象", "no feasible partner"),
          "below_reservation": ("低于保留分", "below the reservation score"),
          "outbid": ("被更优配对占用", "feasible partners went to better pairs"),
          "excluded": ("已排除或已锁定", "partners excluded or locked")}
# pairs table: shown by default; the rest behind "显示全部列"
_SHOWN = ("demand_id", "company", "listing_id", "owner", "score", "distance_km", "allocated_area_m2", "rent",
          "sale_price", "reasons_zh")
_EN = {"demand_id": "demand", "company": "company", "listing_id": "listing", "owner": "owner", "score": "score",
       "distance_km": "distance (km)", "allocated_area_m2": "area allocated (m²)", "rent": "rent (yuan/m²/month)",
       "sale_price": "price (yuan/m²)", "reasons_zh": "reasons", "reasons_en": "reasons (English)"}


@functools.cache
def _asset(name: str) -> str:
    return resources.files("matcher.batch").joinpath(name).read_text(encoding="utf-8")


@functools.cache
def _rule_labels() -> dict[str, tuple[str, str]]:
    return {r.name: (r.zh, r.en) for r in scoring.RULES}


def _field_labels() -> dict[str, str]:
    return FIELD_ZH


def _zh_en(zh: str, en: str) -> str:
    """Chinese, then the English in small type."""
    return f'{escape(zh)} <small lang="en">{escape(en)}</small>'


def _fmt(x: float, digits: int = 4) -> str:
    if not math.isfinite(x):
        return "–"
    s = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _table(headers: Sequence[tuple[str, str, bool]], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """A static table: headers (zh, en, numeric), rows of cells already escaped."""
    head = "".join(f'<th scope="col"{" class=n" if num else ""} title="{escape(en)}">{escape(zh)}</th>'
                   for zh, en, num in headers)
    body = "".join("<tr>" + "".join(f"<td{' class=n' if h[2] else ''}>{c}</td>" for h, c in zip(headers, r))
                   + "</tr>" for r in rows)
    return (f'<div class="scroll"><table class="{cls or "plain"}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _section(ident: str, zh: str, en: str, body: str) -> str:
    return f'<section id="{ident}"><h2>{_zh_en(zh, en)}</h2>{body}</section>'


# ---------------------------------------------------------------------------- overview

def _overview(data: ReportData) -> str:
    c = data.counts
    known = {k for k, _, _ in _KPIS}
    cards = [(c[k], zh, en) for k, zh, en in _KPIS if k in c]
    cards += [(c[k], k, k) for k in sorted(c) if k not in known]  # counts added later show under their key
    kpi = "".join(f'<div title="{escape(en)}"><b>{int(v):,}</b>{escape(zh)}</div>' for v, zh, en in cards)
    method = _METHODS.get(data.method, data.method)
    gap = "0（最优）" if data.gap == 0 else f"{data.gap:.2%}"
    facts = [("分配方法", "allocation method", f'{escape(method)} <code>{escape(data.method)}</code>'),
             ("总分（各配对得分之和）", "objective: sum of the pairs' scores", escape(_fmt(data.objective))),
             ("与上界的差距", "gap to the bound", escape(gap)),
             ("保留分", "reservation score",
              f"{escape(_fmt(data.reservation))}<small>（低于此分的可行配对不予安排）</small>")]
    dl = "".join(f'<dt title="{escape(en)}">{escape(zh)}</dt><dd>{v}</dd>' for zh, en, v in facts)
    return _section("overview", "概况", "overview", f'<div class="kpi">{kpi}</div><dl class="facts">{dl}</dl>')


# ---------------------------------------------------------------------------- map

def _map_layers(data: ReportData, max_lines: int, max_points: int
                ) -> tuple[list[svgmap.Line], list[svgmap.Layer], list[str]]:
    """What the map draws, capped, and notes on what it left out.

    Pairs: all, or a fixed hash sample of ``max_lines`` (spread over the county, not
    only where scores are high). Points of a side: all, or ``max_points`` keeping the
    side's share of matched and unmatched records; the ends of the drawn pairs are
    always among them, the rest a fixed hash sample.
    """
    where_d = {p.id: p for p in data.demands}
    where_l = {p.id: p for p in data.listings}
    lines = sorted((ln for ln in data.lines if ln[0] in where_d and ln[1] in where_l), key=lambda t: (t[0], t[1]))
    drawn = [lines[k] for k in svgmap.stable_sample([f"{d}\x00{l_}" for d, l_, _ in lines], max(max_lines, 0))]
    matched_d = _matched(data.demands, {d for d, _, _ in lines})
    matched_l = _matched(data.listings, {l_ for _, l_, _ in lines})

    def pick(points: list[MapPoint], matched: set[str], ends: set[str]) -> list[MapPoint]:
        if len(points) <= max_points:
            return points
        free = [p for p in points if p.id not in matched]
        other = [p for p in points if p.id in matched and p.id not in ends]
        n_free = round(max_points * len(free) / len(points))
        n_other = max(0, max_points - n_free - len(ends))
        keep = {p.id for p in points if p.id in ends}
        keep |= {free[k].id for k in svgmap.stable_sample([p.id for p in free], n_free)}
        keep |= {other[k].id for k in svgmap.stable_sample([p.id for p in other], n_other)}
        return [p for p in points if p.id in keep]

    ds = pick(data.demands, matched_d, {d for d, _, _ in drawn})
    ls = pick(data.listings, matched_l, {l_ for _, l_, _ in drawn})
    dense = len(ds) + len(ls) > 1000

    def layer(name: str, points: list[MapPoint], matched: set[str], zh: str, shape: str, size: float
              ) -> svgmap.Layer:
        pts = []
        for p in sorted(points, key=lambda p: p.id in matched):  # stable: unmatched below matched
            state = "已配对" if p.id in matched else "未配对"
            label = f"{zh} {p.id}（{state}）" + (f"\n{p.label}" if p.label else "")
            pts.append(svgmap.Point(p.id, p.lat, p.lon, label, "matched" if p.id in matched else "free"))
        return svgmap.Layer(name, pts, shape=shape, size=size * (0.6 if dense else 1.0))

    layers = [layer("listings", ls, matched_l, "房源", "square", 3.2),
              layer("demands", ds, matched_d, "需求", "circle", 3.4)]
    svg_lines = [svgmap.Line(f"{d}→{l_}", where_d[d].lat, where_d[d].lon, where_l[l_].lat, where_l[l_].lon,
                             f"需求 {d} → 房源 {l_}\n得分 {s:.4f}", data={"d": d, "l": l_, "s": f"{s:.4f}"})
                 for d, l_, s in drawn]
    notes = []
    left = []
    if len(drawn) < len(lines):
        left.append(f"{len(drawn):,} 对配对（共 {len(lines):,} 对）")
    if len(ls) < len(data.listings):
        left.append(f"{len(ls):,} 个房源（共 {len(data.listings):,} 个）")
    if len(ds) < len(data.demands):
        left.append(f"{len(ds):,} 个需求（共 {len(data.demands):,} 个）")
    if left:
        notes.append("为保持页面轻快，地图只画出 " + "、".join(left) + "：按编号固定抽样，已配对与未配对的比例"
                     "与全体相同，所画配对的两端总会画出。全部配对见 pairs.csv。")
    unplaced = data.counts.get("matched", len(data.lines)) - len(lines)
    if unplaced > 0:
        notes.append(f"另有 {unplaced:,} 对配对因一端没有位置未画出。")
    return svg_lines, layers, notes


def _matched(points: list[MapPoint], in_lines: set[str]) -> set[str]:
    """Ids of the matched records: as their kind says, else those in a line."""
    return {p.id for p in points if p.kind == "matched" or (p.kind != "unmatched" and p.id in in_lines)}


def _legend_icon(kind: str) -> str:
    shapes = {"listing": '<rect x="3" y="3" width="8" height="8" class="i-listing"/>',
              "listing-free": '<rect x="3" y="3" width="8" height="8" class="i-listing-free"/>',
              "demand": '<circle cx="7" cy="7" r="4" class="i-demand"/>',
              "demand-free": '<circle cx="7" cy="7" r="4" class="i-demand-free"/>',
              "pair": '<line x1="1" y1="12" x2="13" y2="2" class="i-pair"/>',
              "town": '<circle cx="7" cy="7" r="2.5" class="i-town"/>'}
    return f'<svg class="icon" viewBox="0 0 14 14" aria-hidden="true">{shapes[kind]}</svg>'


def _map(data: ReportData, max_lines: int, max_points: int) -> str:
    lines, layers, notes = _map_layers(data, max_lines, max_points)
    towns = [svgmap.Town(t.label or t.id, t.lat, t.lon, kind=t.kind) for t in data.towns]
    drawn_m = [sum(p.cls == "matched" for p in lay.points) for lay in layers]
    all_m = [len(_matched(data.listings, {b for _, b, _ in data.lines})),
             len(_matched(data.demands, {a for a, _, _ in data.lines}))]
    all_n = [len(data.listings), len(data.demands)]

    def count(drawn: int, total: int) -> str:
        return f"{drawn:,}" if drawn == total else f"{drawn:,}（共 {total:,}）"

    legend = [("listing", "已配对的房源", count(drawn_m[0], all_m[0])),
              ("listing-free", "未配对的房源", count(len(layers[0].points) - drawn_m[0], all_n[0] - all_m[0])),
              ("demand", "已配对的需求", count(drawn_m[1], all_m[1])),
              ("demand-free", "未配对的需求", count(len(layers[1].points) - drawn_m[1], all_n[1] - all_m[1])),
              ("pair", "选中的配对", count(len(lines), len(data.lines))),
              ("town", "镇街及开发区", f"{len(towns):,}")]
    items = "".join(f"<li>{_legend_icon(k)}{escape(zh)} <span class=n>{v}</span></li>" for k, zh, v in legend)
    if not towns and not any(lay.points for lay in layers):
        return _section("map", "地图", "map", "<p>没有可画在地图上的镇街或记录。</p>")
    svg = svgmap.render_map(towns, layers, lines, width=800, font_size=13,
                            label="地图：镇街、房源、需求与选中的配对。鼠标悬停、轻点或用方向键逐条查看配对。",
                            element_id="pairs-map", css_class="dense" if len(lines) > 300 else "")
    body = (f'<ul class="legend">{"".join(items)}</ul>'
            '<p class="note narrow">左右滑动可看全图。</p>'
            f'<div class="scroll fig map-fig">{svg}</div>'
            '<p class="note">悬停或轻点一条连线可看需求编号、房源编号和得分；选中地图后可用 ← → 键逐条查看。'
            "需求画在其意向镇街、现址或配套企业中离所配房源最近的一处；未配对的需求画在其第一个地点。</p>"
            + "".join(f'<p class="note map-left">{escape(n)}</p>' for n in notes))
    return _section("map", "地图", "map", body)


# ---------------------------------------------------------------------------- scores

def _nice_ceiling(v: float) -> tuple[float, float]:
    """A round top for an axis holding ``v`` and its tick step."""
    if v <= 0:
        return 1.0, 0.25
    mag = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= v:
            top = m * mag
            step = top / (5 if m in (1, 5, 10) else 4)
            return top, step
    return 10 * mag, 2 * mag  # pragma: no cover


def _histogram(data: ReportData) -> str:
    edges = [float(e) for e in data.bins]
    nf, nc = sum(data.feasible_hist), sum(data.chosen_hist)
    if len(edges) < 2 or nf + nc == 0:
        return "<p>没有候选配对，无法画出得分分布。</p>"
    fs = [100 * v / nf if nf else 0.0 for v in data.feasible_hist]
    cs = [100 * v / nc if nc else 0.0 for v in data.chosen_hist]
    top, step = _nice_ceiling(max(fs + cs))
    # narrow enough to fit a phone's width with legible text (11-12 units at 340 px: 9-10 px)
    W, H, left, right, upper, lower = 420.0, 250.0, 46.0, 8.0, 16.0, 38.0
    pw, ph = W - left - right, H - upper - lower
    lo, hi = edges[0], edges[-1]

    def X(v: float) -> float:
        return left + (v - lo) / (hi - lo) * pw

    def Y(share: float) -> float:
        return upper + ph - share / top * ph

    out = [f'<svg class="hist" viewBox="0 0 {W:.0f} {H:.0f}" role="img" font-size="12" '
           f'aria-labelledby="hist-title"><title id="hist-title">得分分布：候选配对与选中配对各占本组的比例</title>']
    k = 0
    while k * step <= top + 1e-9:
        y = Y(k * step)
        out.append(f'<line class="gridline" x1="{left:.1f}" y1="{y:.1f}" x2="{W - right:.1f}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{left - 4:.1f}" y="{y + 3.5:.1f}" text-anchor="end">{k * step:g}%</text>')
        k += 1
    for t in range(11):
        v = lo + (hi - lo) * t / 10
        x = X(v)
        out.append(f'<line class="axis" x1="{x:.1f}" y1="{upper + ph:.1f}" x2="{x:.1f}" y2="{upper + ph + 4:.1f}"/>'
                   f'<text class="tick" x="{x:.1f}" y="{upper + ph + 15:.1f}" text-anchor="middle">{v:.1f}</text>')
    for b in range(len(edges) - 1):
        x0, x1 = X(edges[b]), X(edges[b + 1])
        mid = (x0 + x1) / 2
        f_ = data.feasible_hist[b] if b < len(data.feasible_hist) else 0
        c_ = data.chosen_hist[b] if b < len(data.chosen_hist) else 0
        tip = (f"得分 {edges[b]:.3f}–{edges[b + 1]:.3f}：候选配对 {f_:,} 对（{fs[b]:.1f}%），"
               f"选中配对 {c_:,} 对（{cs[b]:.1f}%）")
        out.append(f'<g class="bin"><title>{escape(tip)}</title>'
                   f'<rect class="hit" x="{x0:.1f}" y="{upper:.1f}" width="{x1 - x0:.1f}" height="{ph:.1f}"/>')
        if fs[b] > 0:
            out.append(f'<rect class="feasible" x="{x0 + 0.5:.1f}" y="{Y(fs[b]):.1f}" width="{mid - x0 - 0.5:.1f}" '
                       f'height="{Y(0) - Y(fs[b]):.1f}"/>')
        if cs[b] > 0:
            out.append(f'<rect class="chosen" x="{mid:.1f}" y="{Y(cs[b]):.1f}" width="{x1 - mid - 0.5:.1f}" '
                       f'height="{Y(0) - Y(cs[b]):.1f}"/>')
        out.append("</g>")
    out.append(f'<line class="axis" x1="{left:.1f}" y1="{upper + ph:.1f}" x2="{W - right:.1f}" y2="{upper + ph:.1f}"/>'
               f'<line class="axis" x1="{left:.1f}" y1="{upper:.1f}" x2="{left:.1f}" y2="{upper + ph:.1f}"/>')
    if lo <= data.reservation <= hi:
        x = X(data.reservation)
        out.append(f'<line class="reservation" x1="{x:.1f}" y1="{upper - 6:.1f}" x2="{x:.1f}" y2="{upper + ph:.1f}"/>'
                   f'<text class="reservation" x="{x + 3:.1f}" y="{upper + 4:.1f}">保留分 {_fmt(data.reservation)}'
                   "</text>")
    out.append(f'<text class="axis-title" x="{left + pw / 2:.1f}" y="{H - 5:.1f}" text-anchor="middle">'
               "得分（0–1，越高越合适）</text>"
               f'<text class="axis-title" transform="translate(11 {upper + ph / 2:.1f}) rotate(-90)" '
               'text-anchor="middle">占本组配对的比例</text></svg>')
    legend = ('<ul class="legend">'
              f'<li><svg class="icon" viewBox="0 0 14 14" aria-hidden="true"><rect x="1" y="1" width="12" '
              f'height="12" class="i-feasible"/></svg>候选配对（共 {nf:,} 对）</li>'
              f'<li><svg class="icon" viewBox="0 0 14 14" aria-hidden="true"><rect x="1" y="1" width="12" '
              f'height="12" class="i-chosen"/></svg>选中配对（共 {nc:,} 对）</li>'
              '<li><svg class="icon" viewBox="0 0 14 14" aria-hidden="true"><line x1="7" y1="0" x2="7" y2="14" '
              'class="i-reservation"/></svg>保留分</li></ul>')
    rows = [[f"{edges[b]:.3f}–{edges[b + 1]:.3f}", f"{data.feasible_hist[b]:,}", f"{fs[b]:.1f}%",
             f"{data.chosen_hist[b]:,}", f"{cs[b]:.1f}%"]
            for b in range(len(edges) - 1) if data.feasible_hist[b] or data.chosen_hist[b]]
    table = _table([("得分区间", "score", False), ("候选配对", "candidate pairs", True), ("占比", "share", True),
                    ("选中配对", "chosen pairs", True), ("占比", "share", True)], rows)
    return (f'{legend}<div class="hist-fig">{"".join(out)}</div>'
            '<p class="note">候选配对：通过全部硬性条件、得分不低于保留分、分配时可选的配对'
            "（大市场只含每条记录最好的若干个）。两组各按本组总数换算为百分比，画在同一纵轴上，比较的是分布的形状而不是数量；"
            "柱上悬停可看对数。红色虚线为保留分。</p>"
            f"<details><summary>分布数据</summary>{table}</details>")


# ---------------------------------------------------------------------------- reasons

def _rejects(data: ReportData) -> str:
    if not data.rejects:
        return _section("rejects", "读入时剔除的原因", "Why rows were rejected", "<p>没有剔除任何行。</p>")
    labels = _field_labels()
    rows = [[f"{escape(labels.get(f, f))} <code>{escape(f)}</code>",
             f'{escape(z)}<br><small lang="en">{escape(e)}</small>', f"{n:,}"] for f, z, e, n in data.rejects]
    body = _table([("字段", "field", False), ("原因", "reason", False), ("行数", "rows", True)], rows)
    return _section("rejects", "读入时剔除的原因", "Why rows were rejected", body)


def _unmatched(data: ReportData) -> str:
    if not data.unmatched_kinds:
        return _section("unmatched", "未匹配的原因", "Why records stayed unmatched", "<p>所有记录都已配对。</p>")
    rows = []
    for side, kind, n in data.unmatched_kinds:
        s = _SIDES.get(side, (side, side))
        k = _KINDS.get(kind, (kind, kind))
        rows.append([_zh_en(*s), _zh_en(*k), f"{n:,}"])
    body = _table([("类别", "side", False), ("原因", "kind", False), ("记录数", "records", True)], rows)
    if data.unmatched_rules:
        labels = _rule_labels()
        rrows = [[_zh_en(*_SIDES.get(side, (side, side))), _zh_en(*labels.get(rule, (rule, rule))), f"{n:,}"]
                 for side, rule, n in data.unmatched_rules]
        body += ("<h3>“无可行对象”最常见的规则 <small lang=\"en\">rules most often behind “no feasible partner”"
                 "</small></h3><p class=\"note\">每条记录取其淘汰最多候选的前三条规则计数。</p>"
                 + _table([("类别", "side", False), ("规则", "rule", False), ("记录数", "records", True)], rrows))
    return _section("unmatched", "未匹配的原因", "Why records stayed unmatched", body)


# ---------------------------------------------------------------------------- pairs

def _pairs_json(data: ReportData) -> str:
    keys: list[str] = []
    for row in data.pairs:
        keys += [k for k in row if k not in keys]
    if not keys:
        keys = list(PAIRS_COLUMNS)
    cols = [{"key": k, "zh": HEADERS_ZH.get(k, k), "en": _EN.get(k, k.replace("_", " ")), "num": k in NUMERIC,
             "show": k in _SHOWN} for k in keys]
    rows = [[row.get(k) for k in keys] for row in data.pairs]
    return script_json({"columns": cols, "rows": rows})


def _pairs(data: ReportData) -> str:
    shown, total = len(data.pairs), data.n_pairs
    note = (f'<p class="note" id="pairs-truncated">仅显示前 {shown:,} 行，pairs.csv 中有全部 {total:,} 行。</p>'
            if total > shown else "")
    body = (note + '<div class="tools"><label>筛选 <input id="pairs-filter" type="search" '
            'placeholder="企业、业主、编号、镇街……" autocomplete="off"></label>'
            '<label class="check"><input id="pairs-all-columns" type="checkbox"> 显示全部列</label>'
            f'<span id="pairs-count" aria-live="polite">共 {shown:,} 行</span></div>'
            '<p class="note">点击列名排序，再点一次反向；筛选匹配所显示的任一单元格，空格分隔多个词。</p>'
            '<div class="scroll"><table id="pairs-table" class="pairs"><thead><tr></tr></thead><tbody></tbody>'
            "</table></div>"
            '<p class="tools"><span id="pairs-listed"></span><button type="button" id="pairs-more" hidden>'
            '</button><button type="button" id="pairs-show-all" hidden>全部列出</button></p>'
            "<noscript><p>配对表需要浏览器启用 JavaScript；全部配对见 pairs.csv。</p></noscript>")
    return _section("pairs", f"配对表（{total:,} 对）", "pairs", body)


# ---------------------------------------------------------------------------- page

def render_report(data: ReportData, *, max_lines: int = MAX_LINES, max_points: int = MAX_POINTS) -> str:
    """The page, as text (what :func:`write_report_html` writes).

    Parameters
    ----------
    data : matcher.batch.results.ReportData
    max_lines : int
        Pairs drawn on the map at most: all, or a fixed hash sample of the pairs
        (:func:`matcher.viz.svgmap.stable_sample`), spread over the county.
    max_points : int
        Listings, and demands, drawn at most: all, or the ends of the drawn pairs plus
        a fixed hash sample of the rest, keeping each side's share of matched records.

    Returns
    -------
    str
    """
    title = "厂房供需匹配结果"
    sub = [escape(data.title)] if data.title else []
    sub.append(f"changfang {escape(data.version)}")
    nav = "".join(f'<a href="#{k}">{escape(v)}</a>' for k, v in (
        ("overview", "概况"), ("map", "地图"), ("scores", "得分分布"), ("rejects", "剔除原因"),
        ("unmatched", "未匹配原因"), ("pairs", "配对表")))
    parts = [
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title>"
        f"<style>{_asset('report.css')}{svgmap.style()}</style></head><body>",
        f'<header><h1>{title} <small lang="en">changfang matching report</small></h1>'
        f'<p class="note">{" · ".join(sub)}</p><nav>{nav}</nav></header><main>',
        _overview(data),
        _map(data, max_lines, max_points),
        _section("scores", "得分分布", "Scores", _histogram(data)),
        _rejects(data),
        _unmatched(data),
        _pairs(data),
        '</main><footer class="note">本页为单一文件，离线可用，不连接网络。'
        '<span lang="en">One self-contained file; it makes no network request.</span></footer>',
        f'<script type="application/json" id="pairs-data">{_pairs_json(data)}</script>',
        f"<script>{svgmap.script()}</script><script>{_asset('report.js')}</script>",
        "</body></html>\n",
    ]
    return "\n".join(parts)


def write_report_html(path: str | os.PathLike[str], data: ReportData, *, max_lines: int = MAX_LINES,
                      max_points: int = MAX_POINTS) -> Path:
    """Write ``report.html`` from what a run computed (:class:`ReportData`).

    Parameters
    ----------
    path : path-like
    data : matcher.batch.results.ReportData
    max_lines, max_points : int
        See :func:`render_report`.

    Returns
    -------
    pathlib.Path
    """
    from matcher.io.export import atomic_path

    text = render_report(data, max_lines=max_lines, max_points=max_points)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
