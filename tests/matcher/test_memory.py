"""Running out of memory: the estimate a run's error line gives covers what a run really
holds, and the memory "available" it names is what this process may still take (a
``ulimit -v`` or a container's limit included), not the machine's free memory."""

import errno
import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from matcher import cli
from matcher.match import memory_needed

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("method", ["one_to_one", "divisible"])
def test_the_estimate_covers_the_peak_of_a_real_run(tmp_path, method):
    n = 1500
    assert cli.main(["generate", "--listings", str(n), "--demands", str(n), "--seed", "5", "--out", str(tmp_path)]) == 0
    cmd = [sys.executable, "-m", "matcher", "match", str(tmp_path / "listings.csv"), str(tmp_path / "demands.csv"),
           "--out", str(tmp_path / "out"), "--method", method, "--quiet"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(p.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, p.stderr.read().decode()
    peak = usage.ru_maxrss * 1024  # kB on Linux
    assert memory_needed(n, n, method=method) >= peak, peak


def test_the_estimate_grows_with_the_market_and_the_method():
    small, large = memory_needed(10_000, 10_000), memory_needed(100_000, 100_000)
    assert large > small > memory_needed(1000, 1000)
    assert memory_needed(50_000, 50_000, method="divisible") > memory_needed(50_000, 50_000, method="one_to_one")
    # the measured peaks of benchmarks/README.md ("A province"), GB
    for n, method, peak in ((10_000, "one_to_one", 2.53), (30_000, "one_to_one", 1.08),
                            (30_000, "divisible", 2.72), (50_000, "one_to_one", 1.84),
                            (100_000, "one_to_one", 5.27)):
        assert memory_needed(n, n, method=method) / 1e9 >= peak


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_available_memory_is_what_a_process_limit_leaves():
    script = textwrap.dedent("""
        import resource
        from matcher import cli
        free = cli._available_memory()
        size = cli._proc_fields("/proc/self/status", ("VmSize",))["VmSize"]
        resource.setrlimit(resource.RLIMIT_AS, (size + 300 * 2**20, resource.RLIM_INFINITY))
        print(free, cli._available_memory())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    free, limited = (int(x) for x in out.stdout.split())
    assert free > 1e9  # the machine's (a CI machine has GBs free)
    assert 0 < limited <= 300 * 2**20 + 2**20


@pytest.mark.parametrize("failure", [
    MemoryError(),
    # OR-tools' library imported when the allocation starts, under a ulimit -v
    ImportError("libortools.so.9: failed to map segment from shared object"),
    OSError(errno.ENOMEM, "Cannot allocate memory"),
])
def test_out_of_memory_while_matching_is_one_line_naming_stage_need_and_room(tmp_path, monkeypatch, capsys, failure):
    match_module = importlib.import_module("matcher.match")  # (the package's name is the function)

    assert cli.main(["generate", "--listings", "30", "--demands", "40", "--seed", "2", "--out", str(tmp_path)]) == 0

    def no_room(*a, **k):
        raise failure

    monkeypatch.setattr(match_module, "match", no_room)
    monkeypatch.setattr(cli, "_available_memory", lambda: 123_000_000)
    code = cli.main(["match", str(tmp_path / "listings.csv"), str(tmp_path / "demands.csv"), "--out",
                     str(tmp_path / "out"), "--quiet", "--lang", "en"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    need = memory_needed(40, 30, method="auto") / 1e9
    assert "scoring and allocating" in err and f"{need:.1f} GB" in err and "0.1 GB is available" in err
    assert not (tmp_path / "out").exists()  # nothing published, and no empty folder left



def test_an_import_error_that_is_not_memory_stays_an_internal_error(tmp_path, monkeypatch, capsys):
    match_module = importlib.import_module("matcher.match")
    assert cli.main(["generate", "--listings", "30", "--demands", "40", "--seed", "2", "--out", str(tmp_path)]) == 0

    def broken(*a, **k):
        raise ImportError("No module named 'ortools'")

    monkeypatch.setattr(match_module, "match", broken)
    code = cli.main(["match", str(tmp_path / "listings.csv"), str(tmp_path / "demands.csv"), "--out",
                     str(tmp_path / "out"), "--quiet", "--lang", "en"])
    assert code == 1 and "internal error" in capsys.readouterr().err
