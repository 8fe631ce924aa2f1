"""``matcher.viz.svgmap`` and ``matcher.viz.markup``: the projection against geopy, the
SVG as XML, escaping, label placement, the fixed sample."""

import html
import json
import math
import random
import re
import xml.etree.ElementTree as ET

import pytest

from matcher.viz import svgmap
from matcher.viz.markup import escape, script_json
from matcher.viz.svgmap import Layer, Line, Point, Projection, Town, render_map, stable_sample
from scoring.reference import gazetteer

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = ['</script><script>alert(1)</script>', '<!--', '"\'&<>', "a\x00b\x07c\x1bd\x7fe\x85f", "\u2028\u2029",
           "=HYPERLINK(\"x\",\"y\")", "x" * 300, "\ud800", "慈溪市甬丰塑业有限公司"]


def _towns():
    g = gazetteer()
    return [Town(str(n), float(a), float(b), str(k)) for n, a, b, k in zip(g.names, g.lat, g.lon, g.kinds)]


def _xml(svg):
    return ET.fromstring(svg)


def test_projection_keeps_ground_distances():
    from geopy.distance import great_circle

    towns = _towns()
    p = Projection.fit([t.lat for t in towns], [t.lon for t in towns], width=800)
    rng = random.Random(3)
    for _ in range(50):
        a, b = rng.sample(towns, 2)
        (x1, y1), (x2, y2) = p.xy(a.lat, a.lon), p.xy(b.lat, b.lon)
        km = math.hypot(x2 - x1, y2 - y1) / p.units_per_km
        want = great_circle((a.lat, a.lon), (b.lat, b.lon), radius=6371.0).km
        assert km == pytest.approx(want, rel=5e-3)  # equirectangular across a county: < 0.5 %


def test_projection_fits_width_and_orientation():
    p = Projection.fit([30.1, 30.3], [121.1, 121.5], width=640, margin=20)
    assert p.width == pytest.approx(640)
    xs, ys = zip(*(p.xy(la, lo) for la, lo in [(30.1, 121.1), (30.3, 121.5)]))
    assert all(20 <= x <= 620 for x in xs) and all(20 <= y <= p.height - 20 for y in ys)
    west, east = p.xy(30.2, 121.1), p.xy(30.2, 121.5)
    north, south = p.xy(30.3, 121.3), p.xy(30.1, 121.3)
    assert west[0] < east[0] and north[1] < south[1]  # x east, y south


@pytest.mark.parametrize(("lat", "lon"), [([30.2], [121.2]), ([30.2, math.nan], [121.2, 121.3])])
def test_projection_of_one_place_is_a_map(lat, lon):
    p = Projection.fit(lat, lon, width=400)
    assert p.height > 50 and math.isfinite(p.scale)


def test_projection_needs_a_place():
    with pytest.raises(ValueError, match="no place"):
        Projection.fit([math.nan], [121.0])
    with pytest.raises(ValueError, match="width"):
        Projection.fit([30.0], [121.0], width=10, margin=10)


def test_map_is_xml_with_every_town_and_element():
    towns = _towns()
    pts = [Point(f"L{k}", 30.15 + k / 100, 121.2 + k / 50, label=f"房源 L{k}") for k in range(5)]
    lines = [Line(f"p{k}", 30.2, 121.25, 30.15 + k / 100, 121.2 + k / 50, f"需求 D{k}\n得分 0.5",
                  data={"d": f"D{k}", "l": f"L{k}"}) for k in range(5)]
    svg = render_map(towns, [Layer("listings", pts, shape="square"), Layer("demands", pts[:2])], lines,
                     label="慈溪", standalone=True, element_id="m")
    root = _xml(svg)
    assert root.tag == NS + "svg" and root.get("id") == "m" and root.get("tabindex") == "0"
    texts = [t.text for t in root.iter(NS + "text")]
    for t in towns:
        assert t.name in texts
    assert len(root.findall(f".//{NS}line[@class='pick']")) == 5
    assert len(root.findall(f".//{NS}rect[@class='pick']")) == 5
    assert len(root.findall(f".//{NS}circle[@class='pick']")) == 2
    first = root.find(f".//{NS}line[@data-d='D0']")
    assert first.get("data-l") == "L0" and first.find(NS + "title").text == "需求 D0\n得分 0.5"
    assert 'xmlns="http' not in render_map(towns)  # inline in HTML: no namespace needed


def test_elements_lie_inside_the_view_box():
    towns = _towns()
    root = _xml(render_map(towns, [Layer("x", [Point("a", 30.31, 121.53), Point("b", 30.09, 121.10)])],
                           standalone=True))
    _, _, w, h = map(float, root.get("viewBox").split())
    for c in root.iter(NS + "circle"):
        assert 0 <= float(c.get("cx")) <= w and 0 <= float(c.get("cy")) <= h


def test_town_labels_do_not_overlap_on_the_cixi_map():
    towns = _towns()
    root = _xml(render_map(towns, width=800, font_size=13, standalone=True))
    boxes = []
    for t in root.iter(NS + "text"):
        if t.text in {tw.name for tw in towns}:
            x, y, w = float(t.get("x")), float(t.get("y")), 13.0 * len(t.text)  # CJK: one em each
            x0 = {"start": x, "end": x - w, "middle": x - w / 2}[t.get("text-anchor")]
            boxes.append((x0, y - 13, w, 13))
    assert len(boxes) == len(towns)
    overlaps = [(a, b) for k, a in enumerate(boxes) for b in boxes[k + 1:]
                if min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]) > 1 and min(a[1] + a[3], b[1] + b[3])
                - max(a[1], b[1]) > 1]
    assert overlaps == []


@pytest.mark.parametrize("text", HOSTILE)
def test_text_and_attributes_are_escaped(text):
    svg = render_map([Town(text, 30.2, 121.2)], [Layer("l", [Point(text, 30.21, 121.21, text, data={"x": text})])],
                     [Line(text, 30.2, 121.2, 30.21, 121.21, text, data={"d": text})], label=text, standalone=True)
    root = _xml(svg)  # parses: nothing broke out, no character XML refuses
    assert "<script" not in svg and "<!--" not in svg
    shown = escape(text)
    for el in root.iter():
        for v in el.attrib.values():
            assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", v)
    want = html.unescape(shown)  # what a reader sees: the text, controls as stand-ins
    line = root.find(f".//{NS}line[@class='pick']")
    assert line.get("data-d") == line.get("data-id") == line.find(NS + "title").text == want
    assert root.find(f".//{NS}circle[@class='pick']").get("data-x") == want
    assert [t.text for t in root.iter(NS + "text") if t.text == want]  # the town's label
    if not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]", text):
        assert want == text


def test_bad_classes_and_keys_are_refused():
    with pytest.raises(ValueError, match="data key"):
        render_map([], [Layer("l", [Point("a", 30.2, 121.2, data={"Bad Key": "x"})])])
    with pytest.raises(ValueError, match="CSS class"):
        render_map([Town("a", 30.2, 121.2, cls='x" onload="y')])
    with pytest.raises(ValueError, match="shape"):
        render_map([], [Layer("l", [Point("a", 30.2, 121.2)], shape="star")])


def test_non_finite_points_and_lines_are_left_out():
    svg = render_map([Town("a", 30.2, 121.2)], [Layer("l", [Point("p", math.nan, 121.2), Point("q", 30.2, 121.3)])],
                     [Line("x", 30.2, 121.2, math.inf, 121.3)], standalone=True)
    root = _xml(svg)
    assert [c.get("data-id") for c in root.iter(NS + "circle") if c.get("data-id")] == ["q"]
    assert root.find(f".//{NS}line[@class='pick']") is None


def test_map_is_deterministic():
    towns = _towns()
    lay = [Layer("l", [Point(str(k), 30.1 + k / 1e3, 121.2 + k / 1e3) for k in range(100)])]
    assert render_map(towns, lay) == render_map(list(towns), list(lay))


def test_stable_sample_is_fixed_spread_and_nested():
    ids = [f"CX-L{k:05d}" for k in range(5000)]
    keep = stable_sample(ids, 500)
    assert len(keep) == 500 and keep == sorted(keep)
    shuffled = ids[:]
    random.Random(1).shuffle(shuffled)
    assert {shuffled[k] for k in stable_sample(shuffled, 500)} == {ids[k] for k in keep}  # order does not matter
    assert min(keep) < 500 and max(keep) > 4500  # not just the first ids
    sub = [ids[k] for k in range(0, 5000, 2)]
    picked = {ids[k] for k in keep}
    assert {sub[k] for k in stable_sample(sub, 500)} >= {s for s in sub if s in picked}  # nested
    assert stable_sample(ids, 0) == [] and stable_sample(ids[:3], 10) == [0, 1, 2]


@pytest.mark.parametrize("text", HOSTILE)
def test_script_json_round_trips_and_cannot_end_the_script(text):
    s = script_json({"a": [text, 1, None]})
    assert "<" not in s and ">" not in s and "&" not in s
    assert "\u2028" not in s and "\u2029" not in s
    s.encode("utf-8")  # lone surrogates are escaped, so the page can be written
    assert json.loads(s) == {"a": [text, 1, None]}


def test_escape_shows_controls_as_stand_ins():
    assert escape("a\x00\x1f\x7f\x85b\tc\n") == "a\u2400\u241f\u2421\ufffdb\tc\n"
    assert escape(None) == "" and escape(3) == "3"


def test_script_and_style_are_static_assets():
    js, css = svgmap.script(), svgmap.style()
    assert "svgmap" in js and "</script" not in js.lower() and "<!--" not in js
    assert ".svgmap-tip" in css and "url(" not in css and "@import" not in css
