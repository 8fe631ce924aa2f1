"""The same rows in another order give the same outputs, byte for byte: every table,
the workbook, the report (its map, lists and figures), the per-party workbooks, and
``run.json`` but for its timings and the inputs' digests."""

import csv
import json
import random
from pathlib import Path

import pytest

from tests.matcher.test_cli import run


def _shuffled(src: Path, dst: Path, seed: int) -> None:
    with open(src, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    head, body = rows[0], rows[1:]
    random.Random(seed).shuffle(body)
    with open(dst, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([head, *body])


def _outputs(folder: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        if p.name == "run.json":
            summary = json.loads(data)
            summary.pop("seconds")
            summary.pop("inputs")
            summary["per_party"].pop("folder", None)
            data = json.dumps(summary, sort_keys=True).encode()
        out[str(p.relative_to(folder))] = data
    return out


@pytest.mark.parametrize("method", ["auto", "one_to_one"])
def test_shuffled_rows_give_byte_identical_outputs(tmp_path, method):
    market = tmp_path / "market"
    p = run("generate", "--listings", 160, "--demands", 160, "--seed", 12, "--out", market)
    assert p.returncode == 0, p.stderr
    results = []
    for seed in (None, 1, 2):
        folder = tmp_path / f"in{seed}"
        folder.mkdir()
        for name in ("listings.csv", "demands.csv"):
            if seed is None:
                (folder / name).write_bytes((market / name).read_bytes())
            else:
                _shuffled(market / name, folder / name, seed)
        out = tmp_path / f"out{seed}"
        p = run("match", folder / "listings.csv", folder / "demands.csv", "--out", out, "--quiet",
                "--method", method, "--top-k", 4, "--per-party", out / "parties")
        assert p.returncode == 0, p.stderr
        results.append(_outputs(out))
    assert (tmp_path / "in1" / "listings.csv").read_bytes() != (market / "listings.csv").read_bytes()
    names = set(results[0])
    assert {"pairs.csv", "recommendations.csv", "unmatched.csv", "rejects.csv", "run.json", "result.xlsx",
            "report.html"} <= names and any(n.startswith("parties/") for n in names)
    for other in results[1:]:
        assert set(other) == names
        differ = sorted(n for n in names if other[n] != results[0][n])
        assert differ == [], f"outputs that depend on row order: {differ}"
