"""``report.html``: its content read back (self-contained, escaped, deterministic, capped,
honest axes, Chinese labels) and the page driven in a real browser (Debian's Chromium
through Playwright): sorting, filtering, the map's tooltips, phone and desktop widths,
and no network request."""

import contextlib
import html
import json
import os
import random
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

import scoring
from matcher.batch.report import MAX_LINES, MAX_POINTS, render_report, write_report_html
from matcher.batch.results import PAIRS_COLUMNS, MapPoint, ReportData, pair_and_recommendation_rows, report_data
from matcher.batch.run import run_match
from matcher.viz.markup import escape
from scoring.reference import gazetteer
from tests.browser import chromium

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "cixi-sample"
HOSTILE = {
    "script": "</script><script>window.pwned=1</script>",
    "comment": "<!-- <script>window.pwned=2</script>",
    "quotes": "\"'&<>&amp;",
    "controls": "甬丰\x00\x07\x1b\x7f\x85塑业",
    "formula": '=HYPERLINK("http://x","y")',
    "separators": "a\u2028b\u2029c",
    "long": "长" * 40 + "x" * 300,
    "tag": "<img src=x onerror=window.pwned=3>",
}


# ---------------------------------------------------------------------------- data

@pytest.fixture(scope="module")
def sample_data(tmp_path_factory):
    out = run_match(SAMPLE / "listings.csv", SAMPLE / "demands.xlsx", tmp_path_factory.mktemp("run"), report=False,
                    method="one_to_one")  # the figures below are those of the one-to-one allocation
    rows = [p for chunk, _ in pair_and_recommendation_rows(out.result, out.listings.records, out.demands.records, 0)
            for p in chunk]
    return report_data(out, rows, len(rows), title="慈溪样例 cixi-sample")


def _pair_row(d, l_, s, company, owner, reason):
    row = dict.fromkeys(PAIRS_COLUMNS, "")
    row.update(demand_id=d, company=company, listing_id=l_, owner=owner, score=f"{s:.4f}",
               distance_km=f"{s * 10:.3f}".rstrip("0").rstrip("."), allocated_area_m2="1200", rent="15",
               reasons_zh=reason, reasons_en="in " + reason)
    for c in scoring.CRITERIA:
        row[f"{c}_score"] = "0.5"
    return row


def synthetic(n_listings, n_demands, n_pairs, max_rows=2000, seed=0, text=None, kinds=None):
    """A ReportData of a county with ``n`` records a side, without running a match."""
    rng = random.Random(seed)
    g = gazetteer()
    towns = [MapPoint(str(n), float(a), float(b), str(n), str(k)) for n, a, b, k in
             zip(g.names, g.lat, g.lon, g.kinds)]

    def near():
        t = rng.choice(towns)
        return t.lat + rng.gauss(0, 0.012), t.lon + rng.gauss(0, 0.014), t.label

    ls = [MapPoint(f"CX-L{k:06d}", *near()[:2]) for k in range(n_listings)]
    ds = [MapPoint(f"XQ-{k:06d}", *near()[:2]) for k in range(n_demands)]
    lines = [(ds[k].id, ls[k].id, round(rng.uniform(0.35, 1.0), 6)) for k in range(n_pairs)]
    pairs = [_pair_row(d, l_, s, text if text is not None else f"慈溪市第{k}塑业有限公司",
                       text if text is not None else f"业主{k}", f"位于{rng.choice(towns).label}；租金 15 元/㎡/月")
             for k, (d, l_, s) in enumerate(lines[:max_rows])]
    bins = [k / 40 for k in range(41)]
    feasible = [rng.randrange(0, 10 * n_pairs + 1) for _ in range(40)]
    chosen = [0] * 14 + [rng.randrange(0, n_pairs // 10 + 2) for _ in range(26)]
    return ReportData(
        title=text if text is not None else "合成 synthetic", version="0.1.0", method="one_to_one",
        objective=sum(s for _, _, s in lines), gap=0.0, reservation=0.35,
        counts={"listings_read": n_listings, "listings_rejected": 3, "demands_read": n_demands,
                "demands_rejected": 2, "feasible_pairs": sum(feasible), "matched": n_pairs, "locked": 0,
                "unmatched_demands": n_demands - n_pairs, "unmatched_listings": n_listings - n_pairs},
        pairs=pairs, n_pairs=n_pairs,
        unmatched_kinds=kinds if kinds is not None else [("demand", "below_reservation", 4),
                                                         ("demand", "excluded", 2),
                                                         ("demand", "no_feasible", 7), ("demand", "outbid", 5),
                                                         ("listing", "no_feasible", 9)],
        unmatched_rules=[("demand", "area", 6), ("demand", "fire_class", 3), ("listing", "max_distance", 2)],
        rejects=[("rent", "无法识别租金：" + (text or "约"), "cannot read a rent: " + (text or "about"), 2),
                 ("town", "位置无法确定", "no location", 1)],
        towns=towns, listings=ls, demands=ds, lines=lines, bins=bins, feasible_hist=feasible, chosen_hist=chosen)


@pytest.fixture(scope="module")
def hostile_data():
    text = "".join(HOSTILE.values())
    d = synthetic(30, 30, 20, text=text)
    towns = [*d.towns[:3], MapPoint(text, 30.2, 121.3, text)]
    ls = [MapPoint(text, 30.21, 121.31, text), *d.listings[1:]]
    lines = [(d.lines[0][0], text, 0.9), *d.lines[1:]]
    pairs = [dict(d.pairs[0], demand_id=text, listing_id=text), *d.pairs[1:]]
    kinds = [("demand", text, 1), (text, "no_feasible", 1)]
    return ReportData(**{**d.__dict__, "towns": towns, "listings": ls, "lines": lines, "pairs": pairs,
                         "unmatched_kinds": kinds, "unmatched_rules": [("demand", text, 1)], "method": text})


class Census(HTMLParser):
    """Tags, attributes, script contents and the text of a page, as the HTML parser sees them."""

    def __init__(self, page):
        super().__init__(convert_charrefs=True)
        self.tags, self.scripts, self.text, self._in = [], [], [], None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in = dict(attrs)
            self.scripts.append([dict(attrs), ""])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = None

    def handle_data(self, data):
        if self._in is not None:
            self.scripts[-1][1] += data
        else:
            self.text.append(data)


def table_json(page):
    c = Census(page)
    (data,) = [body for attrs, body in c.scripts if attrs.get("id") == "pairs-data"]
    return json.loads(data)


def table_rows(page):
    """The embedded pairs, as dicts by column key."""
    t = table_json(page)
    keys = [c["key"] for c in t["columns"]]
    return [dict(zip(keys, r)) for r in t["rows"]]


# ---------------------------------------------------------------------------- content

def test_page_is_chinese_first_and_fits_phones(sample_data):
    page = render_report(sample_data)
    assert page.startswith("<!doctype html>\n<html lang=\"zh-CN\">")
    assert '<meta charset="utf-8">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    for h in ("概况", "地图", "得分分布", "读入时剔除的原因", "未匹配的原因", "配对表"):
        assert f"<h2>{h}" in page
    for kpi in ("读入房源", "剔除房源", "读入需求", "剔除需求", "可行配对", "未匹配需求", "未匹配房源", "保留分"):
        assert kpi in page
    assert "一对一" in page and f"{sample_data.objective:.4f}" in page


class _VisibleText(HTMLParser):
    """The text a reader sees (not inside code, script or style, nor attributes)."""

    def __init__(self):
        super().__init__()
        self.hidden, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("code", "script", "style")

    def handle_endtag(self, tag):
        self.hidden -= tag in ("code", "script", "style")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def test_every_count_has_a_chinese_label(sample_data):
    """Each count of ``run.json`` (merged duplicates too) has a Chinese label in the
    overview: no raw key such as ``demands_merged`` is what a reader sees."""
    import dataclasses

    counts = {**sample_data.counts, "listings_merged": 2, "demands_merged": 3}
    page = render_report(dataclasses.replace(sample_data, counts=counts))
    overview = page[page.index('<section id="overview">'):page.index("</section>", page.index('id="overview"'))]
    seen = _VisibleText()
    seen.feed(overview)
    assert not re.findall(r"[a-z]+_[a-z_]+", " ".join(seen.parts))
    cards = overview[overview.index('<div class="kpi">'):overview.index('<dl class="facts">')]
    seen = _VisibleText()
    seen.feed(cards)
    text = " ".join(seen.parts)
    assert not re.findall(r"[A-Za-z]", text), text  # the cards' labels are Chinese
    assert "合并重复房源" in text and "合并重复需求" in text


def test_page_is_self_contained(sample_data, hostile_data):
    for data in (sample_data, hostile_data):
        page = render_report(data)
        assert not re.search(r"(?:https?|ftp|file)://|\bdata:|//[a-z]", page, re.I)  # no URL of any kind
        c = Census(page)
        names = {t for t, _ in c.tags}
        assert not names & {"link", "img", "iframe", "object", "embed", "video", "audio", "source", "base", "form"}
        assert all(not a.get("src") for _, a in c.tags)
        assert all(a["href"].startswith("#") for t, a in c.tags if "href" in a)
        assert "url(" not in page and "@import" not in page and "@font-face" not in page


def test_every_town_is_labelled_by_its_chinese_name(sample_data):
    page = render_report(sample_data)
    assert len(sample_data.towns) == 25
    for t in sample_data.towns:
        assert re.search(rf'<text x="[\d.]+" y="[\d.]+" text-anchor="\w+">{t.label}</text>', page), t.label


def test_table_json_is_the_pairs(sample_data):
    page = render_report(sample_data)
    assert table_rows(page) == sample_data.pairs
    cols = table_json(page)["columns"]
    assert [c["key"] for c in cols] == PAIRS_COLUMNS
    assert {c["key"] for c in cols if c["num"]} >= {"score", "distance_km", "allocated_area_m2", "rent"}
    assert [c["zh"] for c in cols][:5] == ["需求编号", "企业名称", "房源编号", "业主", "总分"]


def test_hostile_text_stays_text(hostile_data):
    page = render_report(hostile_data)
    c = Census(page)
    assert [a.get("id") or a.get("type") for a, _ in c.scripts] == ["pairs-data", None, None]
    assert page.count("<script") == 3 and page.count("</script>") == 3
    assert "<!--" not in page and "<img" not in page
    assert "window.pwned" not in "".join(body for a, body in c.scripts if a.get("id") != "pairs-data")
    assert table_rows(page) == hostile_data.pairs  # the JSON gives the exact values back
    text = "".join(HOSTILE.values())
    shown = html.unescape(escape(text))  # the text, controls as visible stand-ins
    visible = "".join(c.text)
    assert shown in visible  # the title, the method, the reasons, a town ...
    assert "\x00" not in page and "\x07" not in page and "\x85" not in page


def test_same_data_same_bytes(sample_data, tmp_path):
    a = write_report_html(tmp_path / "a.html", sample_data).read_bytes()
    b = write_report_html(tmp_path / "b.html", sample_data).read_bytes()
    assert a == b
    assert not re.search(rb"20\d\d-\d\d-\d\d[ T]\d\d:", a)  # no timestamp
    # another process, another hash seed: nothing depends on set or dict order
    import pickle

    blob = tmp_path / "data.pkl"
    blob.write_bytes(pickle.dumps(sample_data))
    code = ("import pickle, sys; from matcher.batch.report import write_report_html; "
            "write_report_html(sys.argv[2], pickle.loads(open(sys.argv[1], 'rb').read()))")
    for seed in ("1", "2"):
        subprocess.run([sys.executable, "-c", code, str(blob), str(tmp_path / f"s{seed}.html")], check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
        assert (tmp_path / f"s{seed}.html").read_bytes() == a


def test_large_run_is_capped_small_and_fast(tmp_path):
    data = synthetic(10_000, 10_000, 9_500, max_rows=2000, seed=5)
    t0 = time.perf_counter()
    path = write_report_html(tmp_path / "report.html", data)
    seconds = time.perf_counter() - t0
    size = path.stat().st_size
    print(f"10k x 10k report: {size / 1e6:.2f} MB in {seconds:.2f} s")
    page = path.read_text(encoding="utf-8")
    assert size < 5e6 and seconds < 10
    assert page.count('<line class="pick"') == MAX_LINES
    assert page.count('<rect class="pick') == MAX_POINTS and page.count('<circle class="pick') == MAX_POINTS
    assert "地图只画出 1,500 对配对（共 9,500 对）、2,000 个房源（共 10,000 个）、2,000 个需求（共 10,000 个）" in page
    assert "仅显示前 2,000 行，pairs.csv 中有全部 9,500 行" in page
    assert len(table_rows(page)) == 2000
    # the drawn points keep each side's share of matched records (9,500 of 10,000)
    matched = page.count('<rect class="pick matched"')
    assert matched == round(MAX_POINTS * 0.95)
    # every drawn pair has both ends drawn
    ids = set(re.findall(r'<(?:rect|circle) class="pick \w+" data-id="([^"]+)"', page))
    for d, l_ in re.findall(r'<line class="pick"[^>]* data-d="([^"]+)" data-l="([^"]+)"', page):
        assert d in ids and l_ in ids


def test_small_run_draws_everything(sample_data):
    page = render_report(sample_data)
    assert page.count('<line class="pick"') == len(sample_data.lines)
    assert page.count('<rect class="pick') == len(sample_data.listings)
    assert page.count('<circle class="pick') == len(sample_data.demands)
    assert "地图只画出" not in page and "仅显示前" not in page
    missing = sample_data.counts["matched"] - len(sample_data.lines)
    assert (f"另有 {missing:,} 对配对因一端没有位置未画出" in page) == (missing > 0)


def test_points_say_whether_their_record_was_matched(sample_data):
    page = render_report(sample_data)
    paired_l = {r["listing_id"] for r in sample_data.pairs}
    paired_d = {r["demand_id"] for r in sample_data.pairs}
    located_l = {p.id for p in sample_data.listings}
    located_d = {p.id for p in sample_data.demands}
    # a record in a pair whose partner has no place is still drawn as matched
    assert len(paired_l & located_l) + len(paired_d & located_d) > 2 * len(sample_data.lines)
    drawn_l = set(re.findall(r'<rect class="pick matched" data-id="([^"]+)"', page))
    drawn_d = set(re.findall(r'<circle class="pick matched" data-id="([^"]+)"', page))
    assert drawn_l == paired_l & located_l and drawn_d == paired_d & located_d
    free = set(re.findall(r'<(?:rect|circle) class="pick free" data-id="([^"]+)"', page))
    assert free == (located_l - paired_l) | (located_d - paired_d)


def _rects(svg, cls):
    return [(float(x), float(y), float(w), float(h)) for x, y, w, h in
            re.findall(rf'<rect class="{cls}" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/>', svg)]


def test_histogram_has_one_honest_axis(sample_data):
    page = render_report(sample_data)
    (svg,) = re.findall(r'<svg class="hist".*?</svg>', page, re.S)
    feasible, chosen = _rects(svg, "feasible"), _rects(svg, "chosen")
    assert len(feasible) == sum(1 for v in sample_data.feasible_hist if v)
    assert len(chosen) == sum(1 for v in sample_data.chosen_hist if v)
    # each group is drawn as shares of itself on the one axis: both add up to 100 %
    top = float(re.search(r'y="([\d.]+)" text-anchor="end">(\d+(?:\.\d+)?)%</text>', svg).group(1))
    ticks = {float(v): float(y) for y, v in re.findall(r'y="([\d.]+)" text-anchor="end">([\d.]+)%</text>', svg)}
    assert len(ticks) >= 3
    (v0, y0), (v1, y1) = sorted(ticks.items())[:2]
    per_percent = (y0 - y1) / (v1 - v0)
    assert sum(h for *_, h in feasible) / per_percent == pytest.approx(100, abs=0.5)
    assert sum(h for *_, h in chosen) / per_percent == pytest.approx(100, abs=0.5)
    # the tallest chosen bar is as tall as its share says, not stretched to the plot's top
    share = 100 * max(sample_data.chosen_hist) / sum(sample_data.chosen_hist)
    assert max(h for *_, h in chosen) == pytest.approx(share * per_percent, abs=0.2)
    assert top  # y ticks are percentages of one axis, no second axis
    assert svg.count('text-anchor="end">') == len(ticks)
    n_feasible, n_chosen = sum(sample_data.feasible_hist), sum(sample_data.chosen_hist)
    assert f"保留分 {sample_data.reservation:g}" in svg
    assert f"候选配对（共 {n_feasible} 对）" in page and f"选中配对（共 {n_chosen} 对）" in page
    assert "得分（0–1" in svg and "占本组配对的比例" in svg


def test_reasons_are_labelled_in_chinese():
    page = render_report(synthetic(50, 50, 30))
    for zh in ("无可行对象", "低于保留分", "被更优配对占用", "已排除或已锁定", "面积", "火灾危险性", "距离上限", "租金",
               "镇街", "无法识别租金"):
        assert zh in page, zh
    assert "<td>需求 <small" in page and "<td>房源 <small" in page


def test_empty_run_still_renders():
    d = synthetic(0, 0, 0)
    d = ReportData(**{**d.__dict__, "unmatched_kinds": [], "unmatched_rules": [], "rejects": [],
                      "feasible_hist": [0] * 40, "chosen_hist": [0] * 40, "pairs": []})
    page = render_report(d)
    assert "没有剔除任何行" in page and "所有记录都已配对" in page and "没有候选配对" in page
    assert table_rows(page) == []
    for t in d.towns:
        assert f">{t.label}</text>" in page


def test_no_plotting_library_is_needed(sample_data, tmp_path):
    import pickle

    blob = tmp_path / "data.pkl"
    blob.write_bytes(pickle.dumps(sample_data))
    code = ("import sys, pickle; sys.modules['matplotlib'] = None; "
            "from matcher.batch.report import write_report_html; "
            "write_report_html(sys.argv[2], pickle.loads(open(sys.argv[1], 'rb').read())); "
            "assert 'matplotlib' not in [m for m in sys.modules if sys.modules[m] is not None]")
    subprocess.run([sys.executable, "-c", code, str(blob), str(tmp_path / "r.html")], check=True)
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == render_report(sample_data)


# ---------------------------------------------------------------------------- in a browser

@contextlib.contextmanager
def open_page(browser, path, width=1280, height=900, touch=False):
    """The page at ``path`` (a file:// URL) in a fresh context; yields (page, log) where
    log holds every request made, every request refused and every script error."""
    ctx = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch,
                              device_scale_factor=1, locale="zh-CN")
    log = {"requests": [], "refused": [], "errors": [], "dialogs": []}

    def refuse(route):  # nothing may leave the machine
        log["refused"].append(route.request.url)
        route.abort()

    ctx.route(re.compile(r"^(?!file:).*"), refuse)
    page = ctx.new_page()
    page.on("request", lambda r: log["requests"].append(r.url))
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.on("console", lambda m: log["errors"].append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (log["dialogs"].append(d.message), d.dismiss()))
    try:
        page.goto(Path(path).as_uri(), wait_until="load")
        yield page, log
        assert log["requests"] == [Path(path).as_uri()], log["requests"]
        assert log["refused"] == [] and log["errors"] == [] and log["dialogs"] == []
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def sample_page(sample_data, tmp_path_factory):
    return write_report_html(tmp_path_factory.mktemp("page") / "report.html", sample_data)


def _column(page, key):
    return page.eval_on_selector_all(
        "#pairs-table tbody tr:not([hidden])",
        "(trs, k) => { const i = [...document.querySelectorAll('#pairs-table thead button')]"
        ".findIndex(b => b.dataset.key === k); return trs.map(tr => tr.cells[i].textContent); }", key)


def test_sorting_by_clicking_headers(browser, sample_page, sample_data):
    with open_page(browser, sample_page) as (page, _):
        assert _column(page, "demand_id") == [r["demand_id"] for r in sample_data.pairs]  # pairs.csv order
        head = page.locator("#pairs-table thead button[data-key=score]")
        head.click()
        scores = [float(v) for v in _column(page, "score")]
        assert scores == sorted(scores) and scores != [float(r["score"]) for r in sample_data.pairs]
        assert page.get_attribute("#pairs-table thead th:has(button[data-key=score])", "aria-sort") == "ascending"
        head.click()
        scores = [float(v) for v in _column(page, "score")]
        assert scores == sorted(scores, reverse=True)
        assert page.get_attribute("#pairs-table thead th:has(button[data-key=score])", "aria-sort") == "descending"
        # numbers sort as numbers, blanks last: distances such as 4.693 and 12 and ""
        page.locator("#pairs-table thead button[data-key=distance_km]").click()
        dist = _column(page, "distance_km")
        nums = [float(v) for v in dist if v]
        assert nums == sorted(nums) and dist[len(nums):] == [""] * (len(dist) - len(nums))
        # keyboard: headers are buttons
        page.focus("#pairs-table thead button[data-key=listing_id]")
        page.keyboard.press("Enter")
        assert _column(page, "listing_id") == sorted(r["listing_id"] for r in sample_data.pairs)
        page.keyboard.press("Space")
        assert _column(page, "listing_id") == sorted((r["listing_id"] for r in sample_data.pairs), reverse=True)


def test_filter_counts_rows(browser, sample_page, sample_data):
    columns = table_json(sample_page.read_text(encoding="utf-8"))["columns"]
    shown = [c["key"] for c in columns if c["show"]]

    def want(*terms, keys=shown):  # every term in some shown cell, ignoring case
        return [r for r in sample_data.pairs if all(any(t.lower() in str(r[k]).lower() for k in keys)
                                                    for t in terms)]

    with open_page(browser, sample_page) as (page, _):
        total = len(sample_data.pairs)
        assert page.text_content("#pairs-count") == f"共 {total} 行"
        for query, terms in (("长河", ["长河"]), ("cx-l0", ["cx-l0"]), ("塑料 长河", ["塑料", "长河"]),
                             (sample_data.pairs[3]["company"], [sample_data.pairs[3]["company"]])):
            page.fill("#pairs-filter", query)
            rows = want(*terms)
            assert 0 < len(rows) < total or query == "cx-l0", query
            assert page.text_content("#pairs-count") == f"显示 {len(rows)} / {total} 行"
            assert _column(page, "demand_id") == [r["demand_id"] for r in rows]
        page.fill("#pairs-filter", "没有这样的企业")
        assert page.text_content("#pairs-count") == f"显示 0 / {total} 行"
        page.fill("#pairs-filter", "")
        assert page.text_content("#pairs-count") == f"共 {total} 行"
        # the English reasons are a hidden column until asked for
        page.fill("#pairs-filter", "within the budget")
        assert page.text_content("#pairs-count") == f"显示 0 / {total} 行"
        page.check("#pairs-all-columns")
        n = len(want("within", "the", "budget", keys=[c["key"] for c in columns]))
        assert n > 0 and page.text_content("#pairs-count") == f"显示 {n} / {total} 行"


def _tooltip(page):
    tip = page.locator(".svgmap-tip")
    return tip.text_content() if tip.count() and tip.is_visible() else None


CLEAR_LINES = """() => {
  // midpoints (client px) of the pair lines no other line passes within 12 px of, on screen
  const svg = document.getElementById("pairs-map"), m = svg.getScreenCTM();
  const ls = [...svg.querySelectorAll("line.pick")].map(el => {
    const a = n => +el.getAttribute(n);
    return {el, x1: a("x1"), y1: a("y1"), x2: a("x2"), y2: a("y2")};
  });
  const d2 = (g, x, y) => {
    const dx = g.x2 - g.x1, dy = g.y2 - g.y1, L = dx * dx + dy * dy;
    const t = L ? Math.max(0, Math.min(1, ((x - g.x1) * dx + (y - g.y1) * dy) / L)) : 0;
    return (g.x1 + t * dx - x) ** 2 + (g.y1 + t * dy - y) ** 2;
  };
  const r = 12 / m.a, out = [];
  for (const g of ls) {
    if (Math.hypot(g.x2 - g.x1, g.y2 - g.y1) * m.a < 30) continue;
    const mx = (g.x1 + g.x2) / 2, my = (g.y1 + g.y2) / 2;
    if (ls.some(h => h !== g && d2(h, mx, my) < r * r)) continue;
    const p = new DOMPoint(mx, my).matrixTransform(m);
    if (p.x < 0 || p.x > innerWidth || p.y < 0 || p.y > innerHeight) continue;
    out.push({x: p.x, y: p.y, d: g.el.dataset.d, l: g.el.dataset.l, s: g.el.dataset.s});
  }
  return out;
}"""


def test_map_tooltip_on_hover_keyboard_and_tap(browser, sample_page, sample_data):
    lines = sorted(sample_data.lines, key=lambda t: (t[0], t[1]))
    with open_page(browser, sample_page) as (page, _):
        assert _tooltip(page) is None
        page.locator("#pairs-map").scroll_into_view_if_needed()
        clear = page.evaluate(CLEAR_LINES)
        assert len(clear) >= 3
        for c in clear[:3]:
            page.mouse.move(c["x"], c["y"])
            assert _tooltip(page) == f"需求 {c['d']} → 房源 {c['l']}\n得分 {c['s']}"
            assert (c["d"], c["l"]) in {(a, b) for a, b, _ in lines}
            assert f"{next(s for a, b, s in lines if (a, b) == (c['d'], c['l'])):.4f}" == c["s"]
            # the pair's row in the table is marked
            assert page.locator("#pairs-table tr.on td").first.text_content() == c["d"]
        page.mouse.move(1, 1)
        assert _tooltip(page) is None
        # keyboard: focus the map, step with the arrow keys
        page.focus("#pairs-map")
        page.keyboard.press("ArrowRight")
        first = page.locator("#pairs-map line.pick").first
        assert _tooltip(page) == first.locator("title").text_content()
        assert _tooltip(page).startswith(f"需求 {lines[0][0]} → 房源 {lines[0][1]}\n得分 ")
        page.keyboard.press("ArrowRight")
        assert _tooltip(page).startswith(f"需求 {lines[1][0]} → 房源 {lines[1][1]}\n得分 ")
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")  # wraps round to the last element (a point)
        assert re.fullmatch(r"(房源|需求) \S+（(已|未)配对）", _tooltip(page))
        page.keyboard.press("Escape")
        assert _tooltip(page) is None
    with open_page(browser, sample_page, width=360, height=740, touch=True) as (page, _):
        page.locator("#pairs-map").scroll_into_view_if_needed()
        c = page.evaluate(CLEAR_LINES)[0]
        page.touchscreen.tap(c["x"], c["y"])
        assert _tooltip(page) == f"需求 {c['d']} → 房源 {c['l']}\n得分 {c['s']}"
        box = page.locator(".svgmap-tip").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360  # the tooltip stays on a phone's screen
        page.touchscreen.tap(5, 5)  # a tap elsewhere (outside the map) leaves it; a tap on empty map hides it


@pytest.mark.parametrize("width", [360, 1280])
def test_fits_phone_and_desktop_without_network(browser, sample_page, hostile_data, tmp_path, width):
    hostile = write_report_html(tmp_path / "hostile.html", hostile_data)
    for name, path in (("sample", sample_page), ("hostile", hostile)):
        with open_page(browser, path, width=width, height=800, touch=width < 500) as (page, _):
            sw, iw = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
            assert sw <= iw + 1, (name, width, sw, iw)
            shot = tmp_path / f"report-{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            print(f"screenshot: {shot}")


def test_hostile_values_show_as_text_in_the_browser(browser, hostile_data, tmp_path):
    path = write_report_html(tmp_path / "hostile.html", hostile_data)
    text = "".join(HOSTILE.values())
    shown = html.unescape(escape(text))
    with open_page(browser, path) as (page, _log):
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert page.evaluate("document.scripts.length") == 3
        assert page.locator("#pairs-table tbody tr").count() == len(hostile_data.pairs)
        cells = page.eval_on_selector_all("#pairs-table tbody tr:first-child td", "tds => tds.map(t => t.textContent)")
        assert cells[0] == shown and cells[1] == shown  # demand id and company, controls as stand-ins
        assert page.locator("#pairs-map .town text", has_text=HOSTILE["formula"]).count() == 1
        page.fill("#pairs-filter", HOSTILE["script"])
        assert page.text_content("#pairs-count") == f"显示 {len(hostile_data.pairs)} / {len(hostile_data.pairs)} 行"


def test_large_report_opens_lists_in_pages_and_sorts(browser, tmp_path):
    path = write_report_html(tmp_path / "big.html", synthetic(10_000, 10_000, 9_500, seed=5))
    for width in (1280, 360):
        t0 = time.perf_counter()
        with open_page(browser, path, width=width, touch=width < 500) as (page, _):
            loaded = time.perf_counter() - t0
            rows = page.locator("#pairs-table tbody tr")
            assert rows.count() == 250 and page.text_content("#pairs-count") == "共 2,000 行"
            assert page.text_content("#pairs-listed") == "已列出前 250 行，还有 1,750 行"
            page.click("#pairs-more")
            assert rows.count() == 500
            ms = page.evaluate("""() => {
                const t = performance.now();
                document.querySelector('#pairs-table thead button[data-key=score]').click();
                document.body.offsetHeight;  // the layout too
                return performance.now() - t; }""")
            scores = [float(v) for v in _column(page, "score")]
            assert len(scores) == 500 and scores == sorted(scores)
            page.fill("#pairs-filter", "慈溪市第1")
            n = sum("慈溪市第1" in f"慈溪市第{k}塑业有限公司" for k in range(2000))
            assert page.text_content("#pairs-count") == f"显示 {n:,} / 2,000 行" and rows.count() == 250
            page.click("#pairs-show-all")
            assert rows.count() == n and not page.is_visible("#pairs-more")
            scores = [float(v) for v in _column(page, "score")]
            assert scores == sorted(scores)  # the order holds through filtering and paging
            sw, iw = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
            assert sw <= iw + 1
            page.screenshot(path=str(tmp_path / f"big-{width}.png"))
            print(f"10k report at {width} px: opened in {loaded:.2f} s, sorted in {ms:.0f} ms")
