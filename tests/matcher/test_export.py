import json

import pytest

from matcher import write_table


def test_interrupted_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def rows():
        yield ["a", 1]
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_table(target, ["x", "y"], rows())
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl", ".xlsx"])
def test_formats(tmp_path, suffix):
    path = write_table(tmp_path / f"t{suffix}", ["编号", "面积"], [["L1", "2000"], ["L2", ""]])
    if suffix == ".csv":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        assert path.read_text(encoding="utf-8-sig").splitlines() == ["编号,面积", "L1,2000", "L2,"]
    elif suffix == ".json":
        want = [{"编号": "L1", "面积": "2000"}, {"编号": "L2", "面积": ""}]
        assert json.loads(path.read_text(encoding="utf-8")) == want
    elif suffix == ".jsonl":
        assert [json.loads(x)["编号"] for x in path.read_text(encoding="utf-8").splitlines()] == ["L1", "L2"]
    else:
        import openpyxl

        ws = openpyxl.load_workbook(path).active
        assert [list(r) for r in ws.iter_rows(values_only=True)][:2] == [["编号", "面积"], ["L1", "2000"]]


def test_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="cannot write"):
        write_table(tmp_path / "t.parquet", ["a"], [])
