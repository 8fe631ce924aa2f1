"""Ingestion and generation speed.

* ``generate_market`` at 10^5 records a side (target: a few seconds);
* ``read_listings`` / ``read_demands`` on a generated canonical CSV of 2·10^4 rows,
  beside a baseline in the same run: the stdlib ``csv`` module merely splitting
  the same file into cells. Their ratio is what normalising every cell costs.

Run for real with ``pytest benchmarks --benchmark-enable``; CI runs each once with
benchmarks disabled so they cannot rot.
"""

import csv

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
