"""Ingestion and generation speed, and what bad input costs.

* ``generate_market`` at 10^5 records a side (target: a few seconds);
* ``read_listings`` / ``read_demands`` on a generated canonical CSV of 2·10^4 rows,
  beside a baseline in the same run: the stdlib ``csv`` module merely splitting
  the same file into cells. Their ratio is what normalising every cell costs.
* Bad input (issue 12): the same 10^5 listing rows clean, and with 30 % of their cells
  corrupted (junk text, mojibake, control characters, cut or misplaced values, Excel
  error codes; the id column is left alone so that no two rows collide). The clean
  read is the baseline: the corrupted one must stay within 2× its time and 2× its
  peak memory (traced allocations in a fresh process; the process's peak RSS is
  recorded beside), and report at most one line per bad cell. A 10,000-character
  cell in a 2·10^4-row file must cost memory for that cell only.

Run for real with ``pytest benchmarks --benchmark-enable``; CI runs each once with
benchmarks disabled so they cannot rot (the bad-input and long-cell files then have
5,000 rows: enough to check the ratios of memory and of report lines, not of time).
"""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from matcher import generate_market, read_demands, read_listings, write_records


def test_generate_1e5_a_side(benchmark, scale):
    n = int(100_000 * scale)
    m = benchmark.pedantic(generate_market, args=(n, n), kwargs={"seed": 1}, rounds=1, iterations=1)
    assert len(m.listings) == n and len(m.demands) == n


@pytest.fixture(scope="module")
def files(tmp_path_factory, scale):
    n = int(20_000 * scale)
    d = tmp_path_factory.mktemp("bench")
    m = generate_market(n, n, seed=2)
    write_records(m.listings, d / "listings.csv")
    write_records(m.demands, d / "demands.csv")
    return d, n


def _split(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def test_baseline_csv_split(benchmark, files):
    d, n = files
    assert benchmark(_split, d / "listings.csv") == n


def test_read_listings_csv(benchmark, files):
    d, n = files
    r = benchmark.pedantic(read_listings, args=(d / "listings.csv",), rounds=3, iterations=1)
    assert r.report.n_accepted == n


def test_read_demands_csv(benchmark, files):
    d, n = files
    r = benchmark.pedantic(read_demands, args=(d / "demands.csv",), rounds=3, iterations=1)
    assert r.report.n_accepted == n


# ---------------------------------------------------------------------------
# bad input: 30 % of the cells corrupted

_JUNK = list("的一是了我不人在他有这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着"
             "去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长"
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?-_/()[]{}#@%&*+=~ ")
_CODES = ["#REF!", "#VALUE!", "#N/A!", "#DIV/0!", "????", "�����", "ï¿½ï¿½", "NULL?", "n.a.", "x"]


def _corrupt(cell: str, other: str, rng: np.random.Generator) -> str:
    kind = rng.integers(7)
    if kind == 0:  # junk text
        return "".join(rng.choice(_JUNK, size=int(rng.integers(1, 40))))
    if kind == 1:  # an Excel error code or mojibake
        return str(rng.choice(_CODES))
    if kind == 2:  # a control character inside
        k = int(rng.integers(len(cell) + 1))
        return cell[:k] + chr(int(rng.choice([1, 2, 7, 8, 11, 12, 27, 31]))) + "垃" + cell[k:]
    if kind == 3 and len(cell) > 1:  # cut in the middle, with a stray suffix
        return cell[: len(cell) // 2] + "?"
    if kind == 4:  # the value of another column
        return other + "x"
    if kind == 5:  # a number with a unit that means nothing here
        return f"{rng.integers(1, 99999)}{rng.choice(['xx', '个', '斤', '桶', 'pcs'])}"
    return cell + "#" + "".join(rng.choice(_JUNK, size=3))


def _enabled(config) -> bool:
    return config.getoption("benchmark_enable") or not config.getoption("benchmark_disable")


@pytest.fixture(scope="module")
def bad_input(tmp_path_factory, request, scale):
    enabled = _enabled(request.config)
    n = max(int(100_000 * scale), 1000) if enabled else 5000
    d = tmp_path_factory.mktemp("bad")
    clean = d / "clean.csv"
    write_records(generate_market(n, 10, seed=3).listings, clean)
    with open(clean, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    rng = np.random.default_rng(12)
    width = len(rows[0])
    bad = 0
    for row in rows[1:]:
        hit = np.flatnonzero(rng.random(width) < 0.3)
        for j in hit[hit > 0]:  # the id column (0) stays as it was
            row[j] = _corrupt(row[j], row[(j + 5) % width], rng)
            bad += 1
    dirty = d / "dirty.csv"
    with open(dirty, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return clean, dirty, n, bad, enabled


_MEASURE = """
import json, resource, sys, time, tracemalloc
from matcher import read_listings
from matcher.io.export import write_report
traced = sys.argv[4] == "traced"
read_listings(sys.argv[2])  # warm: imports and reference tables are not what is measured
if traced:
    tracemalloc.start()
t = time.perf_counter()
r = read_listings(sys.argv[1])
seconds = time.perf_counter() - t
peak = tracemalloc.get_traced_memory()[1] if traced else 0
tracemalloc.stop()
write_report(r.report, sys.argv[3])
print(json.dumps({"seconds": seconds, "traced_peak": peak, "rss_peak_kb": resource.getrusage(
    resource.RUSAGE_SELF).ru_maxrss, "problems": sum(p.severity != "info" for p in r.report),
    "accepted": r.report.n_accepted}))
"""


def _measure(path, warm, out):
    """Peak of traced allocations of one read (tracemalloc), and the peak RSS of the
    process in a second, untraced run (tracemalloc itself costs memory), each in a
    fresh process."""

    def run(mode):
        p = subprocess.run([sys.executable, "-c", _MEASURE, str(path), str(warm), str(out), mode],
                           capture_output=True, text=True, check=True)
        return json.loads(p.stdout)

    traced, plain = run("traced"), run("plain")
    return {**traced, "rss_peak_kb": plain["rss_peak_kb"], "seconds": plain["seconds"]}


RESULTS: dict[str, float] = {}


def test_baseline_read_clean(benchmark, bad_input):
    clean, _, n, _, _ = bad_input
    r = benchmark.pedantic(read_listings, args=(clean,), rounds=3, iterations=1)
    assert r.report.n_accepted == n and not list(r.report)
    RESULTS["clean_s"] = benchmark.stats.stats.median if benchmark.stats else 0.0


def test_read_30_percent_corrupted(benchmark, bad_input, tmp_path):
    _, dirty, n, bad, enabled = bad_input
    r = benchmark.pedantic(read_listings, args=(dirty,), rounds=3, iterations=1)
    lines = sum(p.severity != "info" for p in r.report)
    benchmark.extra_info.update(rows=n, bad_cells=bad, report_lines=lines, rejected=r.report.n_rejected)
    assert r.report.n_accepted + r.report.n_rejected == n  # every row accounted for
    assert lines <= bad  # at most one line of rejects.csv per bad cell
    if enabled and benchmark.stats:
        ratio = benchmark.stats.stats.median / RESULTS["clean_s"]
        benchmark.extra_info["time_vs_clean"] = ratio
        assert ratio <= 2.0


def test_peak_memory_corrupted_vs_clean(bad_input, tmp_path, record_property):
    clean, dirty, _n, bad, _ = bad_input
    warm = tmp_path / "warm.csv"
    warm.write_text("\n".join(clean.read_text(encoding="utf-8-sig").split("\n")[:50]) + "\n", encoding="utf-8")
    a = _measure(clean, warm, tmp_path / "a.csv")
    b = _measure(dirty, warm, tmp_path / "b.csv")
    ratio = b["traced_peak"] / a["traced_peak"]
    for k, v in (("clean", a), ("corrupted", b)):
        record_property(f"{k}_traced_peak_mb", round(v["traced_peak"] / 2**20, 1))
        record_property(f"{k}_rss_peak_mb", round(v["rss_peak_kb"] / 1024, 1))
        record_property(f"{k}_seconds", round(v["seconds"], 2))
    print(f"\ntraced peak clean {a['traced_peak'] / 2**20:.1f} MB, corrupted {b['traced_peak'] / 2**20:.1f} MB "
          f"({ratio:.2f}x); RSS {a['rss_peak_kb'] / 1024:.0f} / {b['rss_peak_kb'] / 1024:.0f} MB; "
          f"{b['problems']} report lines for {bad} bad cells")
    assert ratio <= 2.0
    with open(tmp_path / "b.csv", encoding="utf-8-sig") as fh:
        assert sum(1 for _ in fh) - 1 <= bad + 1  # rejects.csv: a header, at most a line per bad cell


def test_one_long_cell_costs_memory_for_that_cell_only(tmp_path, scale, request):
    n = max(int(20_000 * scale), 1000) if _enabled(request.config) else 5000
    plain = tmp_path / "plain.csv"
    write_records(generate_market(n, 10, seed=4).listings, plain)
    text = plain.read_text(encoding="utf-8-sig").split("\n")
    text[0] += ",备注"
    text[1:-1] = [line + "," for line in text[1:-1]]
    plain.write_text("\n".join(text), encoding="utf-8")
    text[5] += "长" * 10_000
    long = tmp_path / "long.csv"
    long.write_text("\n".join(text), encoding="utf-8")
    a = _measure(plain, plain, tmp_path / "a.csv")
    b = _measure(long, plain, tmp_path / "b.csv")
    print(f"\ntraced peak without {a['traced_peak'] / 2**20:.1f} MB, with one 10,000-character cell "
          f"{b['traced_peak'] / 2**20:.1f} MB")
    assert b["traced_peak"] <= a["traced_peak"] * 1.1 + 1_000_000
