"""Every cell of ``corpus/cells.tsv`` read through the real readers, against its expected
reading (issue 12, point 4): exact, or rejected with a reason naming the field."""

import math
from pathlib import Path

import numpy as np
import pytest

from matcher import read_demands, read_listings
from matcher.io.schema import DEMAND_COLUMNS, LISTING_COLUMNS, column_lookup, resolve_header
from matcher.records import AVAILABLE_NOW
from scoring.reference import gazetteer

CORPUS = Path(__file__).parent / "corpus" / "cells.tsv"

BASE = {
    "listing": {"编号": "L1", "租售类型": "租售均可", "镇街": "周巷", "面积": "2000平"},
    "demand": {"编号": "D1", "需求类型": "租购均可", "需求面积": "500-800平"},
}
# kind -> (side, header the cell goes under, field it fills)
KINDS = {
    "area": ("demand", "需求面积", "area_min_m2"),
    "listing_area": ("listing", "面积", "area_m2"),
    "rent": ("listing", "租金", "rent"),
    "sale": ("listing", "售价", "sale_price"),
    "budget": ("demand", "租金预算", "max_rent"),
    "date": ("demand", "入驻时间", "move_in_by"),
    "available": ("listing", "可入驻日期", "available_from"),
    "towns": ("demand", "意向镇街", "towns"),
    "town": ("listing", "镇街", "town"),
    "crane": ("listing", "行车", "crane_t"),
    "crane_need": ("demand", "行车需求", "crane_t"),
    "load": ("listing", "承重", "floor_load_kg_m2"),
    "height": ("listing", "层高", "clear_height_m"),
    "power": ("listing", "配电", "power_kva"),
    "floor": ("listing", "楼层", "floor"),
    "months": ("listing", "最短租期", "min_lease_months"),
    "distance": ("demand", "最远距离", "max_distance_km"),
}


def _corpus():
    out = []
    for n, line in enumerate(CORPUS.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        kind, raw, expected = line.split("\t")
        out.append(pytest.param(kind, raw, expected, id=f"{n}-{kind}"))
    return out


CASES = _corpus()


def test_the_corpus_is_large_and_covers_every_kind():
    kinds = {c.values[0] for c in CASES}
    assert len(CASES) >= 300 and set(KINDS) | {"header_listing", "header_demand"} == kinds
    assert sum(c.values[2] == "rejected" for c in CASES) >= 40


def _read(kind, raw):
    side, header, _ = KINDS[kind]
    row = {**BASE[side], header: raw}
    return (read_listings if side == "listing" else read_demands)([row])


def _named(report, *fields):
    return [p for p in report if p.field in fields and p.severity in ("warning", "error")]


@pytest.mark.parametrize(("kind", "raw", "expected"), CASES)
def test_cell(kind, raw, expected):
    if kind.startswith("header_"):
        columns = LISTING_COLUMNS if kind == "header_listing" else DEMAND_COLUMNS
        col = resolve_header(raw, column_lookup(columns))
        assert (col.field if col else "none") == expected
        return
    side, _, field = KINDS[kind]
    r = _read(kind, raw)
    fields = {field, "area", "area_max_m2"} if kind == "area" else {field}
    if expected == "rejected":
        assert _named(r.report, *fields), [p.reason_en for p in r.report]
        if r.report.n_accepted:
            rec = r.records.record(0)
            assert rec[field] in (None, [], False), rec[field]
            if kind.startswith("crane"):
                assert not rec["crane_any"]
            assert r.records.unread[field][0]  # what was written is kept for explanations
        return
    assert r.report.n_accepted == 1, [p.reason_en for p in r.report]
    rec = r.records.record(0)
    noted = _named(r.report, *fields)
    if kind == "area":
        lo, hi = (float(x) for x in expected.split())
        assert rec["area_min_m2"] == pytest.approx(lo, rel=1e-9)
        assert rec["area_max_m2"] == (math.inf if math.isinf(hi) else pytest.approx(hi, rel=1e-9))
    elif kind == "listing_area":
        value, *flags = expected.split()
        assert rec["area_m2"] == pytest.approx(float(value), rel=1e-9)
        unit = next((float(f.split("=")[1]) for f in flags if f.startswith("unit=")), None)
        assert rec["min_unit_m2"] == (None if unit is None else pytest.approx(unit, rel=1e-9))
        assert rec["divisible_any"] is ("divisible" in flags)
    elif kind in ("rent", "sale", "budget"):
        words = expected.split()
        negotiable = "negotiable" in words
        number = [w for w in words if w not in ("negotiable", "none")]
        if number:
            assert rec[field] == pytest.approx(float(number[0]), rel=1e-9)
        else:
            assert rec[field] is None
        if side == "listing":
            assert rec["negotiable"] is negotiable
        if expected == "none":
            assert not noted and r.records.unread[field][0] == raw
    elif kind in ("date", "available"):
        stored = getattr(r.records, field)[0]
        if expected == "now":
            assert stored == AVAILABLE_NOW
        elif expected == "none":
            assert np.isnat(stored) and not noted and r.records.unread[field][0] == raw
        else:
            assert stored == np.datetime64(expected)
    elif kind == "towns":
        names, *flags = expected.split()
        want = [] if names == "any" else names.split("|")
        assert rec["towns"] == want
        assert bool(noted) is ("warn" in flags)
    elif kind == "town":
        assert rec["town"] == expected
        g = gazetteer()
        assert rec["lat"] == g.lat[g.find(expected)]
    elif kind.startswith("crane"):
        if expected == "any":
            assert rec["crane_t"] is None and rec["crane_any"] is True
        else:
            assert rec["crane_t"] == pytest.approx(float(expected)) and rec["crane_any"] is False
    else:
        assert rec[field] == pytest.approx(float(expected), rel=1e-9)
    if kind not in ("towns", "listing_area"):
        assert not noted, [p.reason_en for p in noted]
