"""Differential test of reading (issue 12, point 4): seeded values written out the many
ways staff write them, by a renderer that shares nothing with the parsers (Chinese
numerals come from ``cn2an.an2cn``), then read back through ``read_listings``. Every
cell must read back exactly or be refused; none may read as another number; at
least 98 % of the rows read back exactly right."""

import math
import random

import cn2an
import numpy as np
import pytest

from matcher import read_listings
from matcher.records import AVAILABLE_NOW
from scoring.reference import gazetteer

MU = 10000 / 15
FULL = str.maketrans("0123456789.", "０１２３４５６７８９．")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _area(rng: random.Random) -> tuple[str, float]:
    if rng.random() < 0.15:
        mu = rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 12, 15])
        return rng.choice([f"{mu}亩", f"{cn2an.an2cn(mu)}亩", f"约{mu}亩"]), mu * MU
    v = rng.choice([rng.randrange(100, 20000, 50), rng.randrange(1000, 30000, 1000)])
    forms = [f"{v}平", f"{v}㎡", f"{v}平方米", f"{v}m²", f"{v}M2", f"{v:,}平米", f"{v}平方",
             _num(v).translate(FULL) + "平", f"约{v}平", f"{v}平左右", f"建筑面积{v}平方米",
             f"{cn2an.an2cn(v)}平方米", f"{cn2an.an2cn(v, 'up')}平方米"]
    if v % 1000 == 0:
        forms += [f"{_num(v / 1000)}千平", f"{_num(v / 10000)}万平" if v % 100 == 0 else f"{v}平"]
    if v % 100 == 0 and v >= 1000:
        thousands, rest = divmod(v, 1000)
        if rest and rest % 100 == 0:
            forms.append(f"{thousands}千{rest // 100}平")  # "3千5" = 3500
    return rng.choice(forms), float(v)


def _rent(rng: random.Random, area: float) -> tuple[str, float, bool]:
    kind = rng.random()
    if kind < 0.12:
        return rng.choice(["面议", "价格面议", "电议", "详谈", "可议", "协商", "面谈", "来电咨询", "价格可谈", "待定",
                           "商谈", "具体面谈", "租金面议", "电话联系", "价格好商量", "欢迎来电洽谈"]), math.nan, True
    if kind < 0.35:
        d = rng.choice([0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 1.0])
        return rng.choice([f"{_num(d)}元/㎡/天", f"{_num(d)}元/平/天", f"{_num(d)}元/平方米/天", f"{_num(d)}元/平米·天",
                           f"每平每天{_num(d)}元"]), d * 30, False
    if kind < 0.5:
        y = rng.choice([120, 144, 150, 156, 168, 180, 192, 204, 216, 240])
        return rng.choice([f"{y}元/㎡/年", f"一年{y}一平", f"{y}元/平方米·年", f"每年每平{y}元"]), y / 12, False
    r = rng.choice([8, 9, 10, 11, 12, 12.5, 13, 14, 15, 16, 17, 18, 20, 22, 25])
    if kind < 0.65 and float(r).is_integer():
        total = int(r * area)
        if total % 100 == 0:
            return rng.choice([f"月租{total}元", f"每月{_num(total / 10000)}万", f"月租金{_num(total / 10000)}万元",
                               f"年租金{_num(total * 12 / 10000)}万"]), r, False
    forms = [f"{_num(r)}元/㎡/月", f"{_num(r)}元/平/月", f"{_num(r)}元/平方米/月", f"{_num(r)}块/平/月", f"{_num(r)}元",
             f"每平每月{_num(r)}元", f"{_num(r)}元/平米·月", f"{_num(r)}元/㎡/月（可议）"]
    if float(r).is_integer():
        forms += [f"{cn2an.an2cn(int(r))}元/平/月", f"{cn2an.an2cn(int(r), 'up')}元/平方米/月"]
    text = rng.choice(forms)
    return text, float(r), "可议" in text


def _date(rng: random.Random) -> tuple[str, object]:
    if rng.random() < 0.15:
        return rng.choice(["现房", "即可入驻", "随时可入驻", "已空置", "空置", "马上", "随时", "立即入驻"]), "now"
    y, m, d = rng.choice([2025, 2026, 2027, 2028]), rng.randint(1, 12), rng.randint(1, 28)
    full = np.datetime64(f"{y}-{m:02d}-{d:02d}")
    first = np.datetime64(f"{y}-{m:02d}-01")
    cn_year = "".join(cn2an.an2cn(int(c)) for c in str(y)).replace("零", "〇")
    return rng.choice([
        (f"{y}-{m:02d}-{d:02d}", full), (f"{y}/{m}/{d}", full), (f"{y}年{m}月{d}日", full), (f"{y}.{m}.{d}", full),
        (f"{y}年{m}月", first), (f"{y % 100}年{m}月", first), (f"{y}.{m}", first),
        (f"{cn_year}年{cn2an.an2cn(m)}月", first),
        (f"{y}{m:02d}{d:02d}", full),
    ])


def _crane(rng: random.Random) -> tuple[str, float]:
    t = rng.choice([0, 3, 5, 10, 16, 20, 32])
    if t == 0:
        return rng.choice(["无", "没有", "无行车", "否"]), 0.0
    n = rng.choice([1, 2, 3])
    return rng.choice([f"{t}吨行车", f"{t}T", f"行车{t}吨", f"{cn2an.an2cn(t)}吨行车", f"带{cn2an.an2cn(n)}台{t}吨行车",
                       f"{t}t行车{n}台", f"{t}T行车"]), float(t)


def _town(rng: random.Random) -> tuple[str, str]:
    g = gazetteer()
    name = str(rng.choice([str(x) for x in g.names if str(x).endswith(("镇", "街道"))]))
    short = name.removesuffix("街道").removesuffix("镇")
    return rng.choice([name, short, f"慈溪市{name}", f"{name}工业区"]), name


@pytest.fixture(scope="module")
def staff_file():
    rng = random.Random(20261130)
    rows, want = [], []
    for k in range(600):
        area_text, area = _area(rng)
        rent_text, rent, negotiable = _rent(rng, area)
        date_text, date = _date(rng)
        crane_text, crane = _crane(rng)
        town_text, town = _town(rng)
        rows.append({"房源编号": f"H{k:04d}", "租售方式": "出租", "所在镇街": town_text, "面积（㎡）": area_text,
                     "租金": rent_text, "可入驻时间": date_text, "行车": crane_text})
        want.append((area, rent, negotiable, date, crane, town))
    return rows, want


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9)


def test_staff_forms_read_back_exactly(staff_file):
    rows, want = staff_file
    r = read_listings(rows)
    got = {str(i): k for k, i in enumerate(r.records.ids)}
    L = r.records
    exact, wrong = 0, []
    for k, (row, (area, rent, negotiable, date, crane, town)) in enumerate(zip(rows, want)):
        i = got.get(row["房源编号"])
        if i is None:
            continue  # refused: counted as not read right, never as wrong
        rec = L.record(i)
        stored_date = L.available_from[i]
        checks = {
            "area": _same(L.area_m2[i], area),
            "rent": _same(L.rent[i], rent) or math.isnan(L.rent[i]),
            "negotiable": bool(L.negotiable[i]) == negotiable or math.isnan(L.rent[i]),
            "date": (stored_date == AVAILABLE_NOW) if date == "now" else (stored_date == date or np.isnat(stored_date)),
            "crane": _same(L.crane_t[i], crane) or math.isnan(L.crane_t[i]),
            "town": rec["town"] == town,
        }
        if not all(checks.values()):
            wrong.append((row, {k: v for k, v in checks.items() if not v}))
        missing = math.isnan(L.rent[i]) != math.isnan(rent) or math.isnan(L.crane_t[i]) or np.isnat(stored_date)
        if all(checks.values()) and not missing:
            exact += 1
    assert not wrong, wrong[:5]  # never a wrong value
    assert exact / len(rows) >= 0.98, (exact, [p.value for p in r.report if p.severity != "info"][:20])
