"""Ctrl-C during ``changfang match``: exit 130 promptly, one line, earlier outputs intact.

(An interrupt while Python itself starts, importing numpy and the rest before the
command's code runs, still gets Python's own traceback.)

The run's write stage hands the workbook to a second process through a queue
(:class:`matcher.io.export.BackgroundWorkbook`); an interrupt that came while that
process finished the file used to leave the queue's feeder thread blocked on a full
pipe, and the command hung at exit. These tests interrupt real processes.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.matcher.test_cli import CMD, run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

PROMPT_S = 10.0
"""How long an interrupted run may take to exit (generous: the machine is shared)."""


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_interrupt_while_the_workbook_process_finishes_ends_the_process(tmp_path):
    """Interrupted inside ``close()`` (rows still queued for the child), the parent stops
    the child and exits: before the fix it hung at exit in ``_finalize_join``."""
    script = tmp_path / "interrupt_close.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal, sys
        from matcher.io.export import BackgroundWorkbook

        def interrupt(*_):
            raise KeyboardInterrupt

        signal.signal(signal.SIGALRM, interrupt)
        try:
            with BackgroundWorkbook(os.path.join({str(tmp_path)!r}, "x.xlsx")) as book:
                sheet = book.sheet("t", ["a", "b", "c"])
                for _ in range(60):  # far more than the child writes in 50 ms
                    sheet.add_rows([["x" * 200, 1.5, "y" * 200]] * 2000)
                signal.setitimer(signal.ITIMER_REAL, 0.05)  # fires inside close()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
        print("finished", flush=True)
    """), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for _ in range(3):
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)
        assert time.monotonic() - t0 < 30, "the interrupted writer held the exit"
        if p.stdout.strip() == "finished":  # the child was faster than the alarm: nothing to show
            continue
        assert p.returncode == 130 and p.stdout.strip() == "interrupted", (p.returncode, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    folder = tmp_path_factory.mktemp("market")
    p = run("generate", "--listings", 700, "--demands", 700, "--seed", 13, "--out", folder)
    assert p.returncode == 0, p.stderr
    return folder / "listings.csv", folder / "demands.csv"


def test_ctrl_c_at_any_point_of_a_run_exits_130_with_one_line(tmp_path, market):
    """SIGINT at several points of a real run (reading, scoring, writing, near the end):
    each run exits 130 within :data:`PROMPT_S`, says one line, and leaves the earlier
    outputs byte for byte (or, when it finished first, exits 0)."""
    lpath, dpath = market
    out = tmp_path / "out"
    args = [*CMD, "match", str(lpath), str(dpath), "--out", str(out), "--quiet", "--lang", "en",
            "--method", "one_to_one", "--top-k", "10"]
    t0 = time.monotonic()
    assert subprocess.run([*CMD, "--help"], capture_output=True, timeout=600).returncode == 0
    startup = time.monotonic() - t0  # Python importing numpy & co: not the command's to handle
    t0 = time.monotonic()
    first = subprocess.run(args, capture_output=True, text=True, timeout=600)
    whole = time.monotonic() - t0 - startup
    assert first.returncode == 0, first.stderr
    before = _tree(out)
    interrupted = 0
    for fraction in (0.0, 0.2, 0.4, 0.6, 0.75, 0.9):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        time.sleep(startup * 1.5 + whole * fraction)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            sent = time.monotonic()
            try:
                proc.wait(timeout=PROMPT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                pytest.fail(f"no exit {PROMPT_S} s after SIGINT at {fraction:.0%} of the run")
            assert time.monotonic() - sent < PROMPT_S
        err = proc.stderr.read() if proc.stderr else ""
        if proc.returncode == 0:  # finished before the signal
            continue
        interrupted += 1
        assert proc.returncode == 130, (fraction, proc.returncode, err)
        assert err.splitlines() == ["changfang: interrupted; the earlier outputs are untouched"], (fraction, err)
        assert _tree(out) == before, f"outputs changed by a run interrupted at {fraction:.0%}"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing staged left beside it
    assert interrupted >= 3, "too few runs were interrupted to say anything"


def test_a_closed_standard_output_ends_quietly(tmp_path):
    """``changfang match … | head -1``: the reader goes away after one line; the command
    ends with exit 0 (its outputs are written) and says nothing on stderr."""
    from tests.matcher.test_cli import SAMPLE

    cmd = [*CMD, "match", str(SAMPLE / "listings.csv"), str(SAMPLE / "demands.xlsx"), "--out",
           str(tmp_path / "out"), "--quiet", "--lang", "en"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as head does once it has its line (here: before any)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, err
    assert err == ""
    assert (tmp_path / "out" / "run.json").exists()


def test_a_failure_after_the_tables_leaves_the_earlier_outputs(tmp_path, market, monkeypatch):
    """The workbook's process zips while the report is built: a failure in that window
    (here the report) still publishes nothing, and the process is stopped and reaped."""
    import multiprocessing

    from matcher.batch import report
    from matcher.batch.run import run_match

    listings, demands = market
    out = tmp_path / "out"
    run_match(listings, demands, out, top_k=2)
    before = _tree(out)

    def fail(*args, **kwargs):
        raise RuntimeError("the report could not be written")

    monkeypatch.setattr(report, "write_report_html", fail)
    with pytest.raises(RuntimeError, match="report"):
        run_match(listings, demands, out, top_k=4)
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no half-written folder beside it
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("parties", [False, True])
def test_a_ctrl_c_during_the_swap_is_ignored(tmp_path, market, parties):
    """Once every output is written the command stops taking Ctrl-C: an interrupt that
    lands while the new outputs replace the old ones (here: sent by the swap itself)
    neither reports "the earlier outputs are untouched" nor leaves them half-replaced."""
    lpath, dpath = market
    out = tmp_path / "out"
    script = tmp_path / "swap.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal, sys
        import matcher.batch.outdir as outdir
        from matcher.cli import run

        real = outdir.os.rename

        def rename(a, b):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, as the outputs are swapped in
            return real(a, b)

        outdir.os.rename = rename
        outdir._exchange = lambda a, b: False  # the portable path: renames
        sys.argv = ["changfang", "match", {str(lpath)!r}, {str(dpath)!r}, "--out", {str(out)!r}, "--quiet",
                    "--top-k", "2", *({["--per-party", str(tmp_path / "parties")]!r} if {parties} else [])]
        run()
    """), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for _ in range(2):  # a first run creates the folder, the second replaces it
        p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env)
        assert p.returncode == 0, p.stderr
        assert "interrupted" not in p.stderr, p.stderr
        assert (out / "run.json").is_file() and (out / "result.xlsx").is_file()
        assert sorted(q.name for q in tmp_path.iterdir()) == ["out", *(["parties"] if parties else []), "swap.py"]
        assert not parties or any((tmp_path / "parties").rglob("*.xlsx"))


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _wait_for_writer(proc: subprocess.Popen, timeout: float = 120.0) -> int:
    """The pid of the run's workbook process, once it exists (during the allocation)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        kids = _children_of(proc.pid)
        if kids:
            return kids[0]
        if proc.poll() is not None:
            pytest.fail("the run ended before its workbook process started")
        time.sleep(0.05)
    pytest.fail("no workbook process")


def _earlier_outputs(tmp_path: Path, market: tuple[Path, Path]) -> tuple[list[str], Path, dict[str, bytes]]:
    """A run's command (one_to_one, English, ten recommendations each: the workbook's
    process has work while the allocation runs), its output folder, and that folder's
    tree after one complete run, to compare with after an interrupted one."""
    lpath, dpath = market
    out = tmp_path / "out"
    args = [*CMD, "match", str(lpath), str(dpath), "--out", str(out), "--quiet", "--lang", "en",
            "--method", "one_to_one", "--top-k", "10"]
    assert subprocess.run(args, capture_output=True, timeout=600).returncode == 0
    return args, out, _tree(out)


def test_sigterm_ends_a_run_like_ctrl_c_with_143(tmp_path, market):
    """SIGTERM (``kill``, ``timeout``) while the workbook's process writes the
    recommendations: exit 143 with one line, the earlier outputs byte for byte, nothing
    staged beside them, and no process left behind."""
    args, out, before = _earlier_outputs(tmp_path, market)
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    child = _wait_for_writer(proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=PROMPT_S) == 143
    assert proc.stderr is not None
    assert proc.stderr.read().splitlines() == ["changfang: terminated; the earlier outputs are untouched"]
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    t0 = time.monotonic()
    while _alive(child) and time.monotonic() - t0 < PROMPT_S:
        time.sleep(0.1)
    assert not _alive(child)


def test_the_workbook_process_killed_by_the_kernel_is_out_of_memory_exit_2(tmp_path, market):
    """The OOM killer's SIGKILL on the workbook's process (the one nobody else sends):
    the run says it ran out of memory in one line and exits 2 with the usual advice (it
    was exit 1, "internal error in stage report (EOFError)"), outputs untouched."""
    args, out, before = _earlier_outputs(tmp_path, market)
    for _ in range(3):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        child = _wait_for_writer(proc)
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:  # it finished first: try again
            proc.wait(timeout=600)
            continue
        code = proc.wait(timeout=60)
        assert proc.stderr is not None
        err = proc.stderr.read().splitlines()
        if code == 0:  # it had already sent everything: nothing was lost
            continue
        assert code == 2, err
        assert len(err) == 1 and err[0].startswith("changfang: ") and "out of memory" in err[0], err
        assert _tree(out) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
        return
    pytest.skip("the workbook's process finished before it could be killed, three times")


def test_the_next_run_clears_what_a_killed_run_left(tmp_path, market):
    """A run killed outright (SIGKILL) leaves its staged folder beside the outputs; the
    next run into the same folder removes it."""
    lpath, dpath = market
    out = tmp_path / "out"
    args = [*CMD, "match", str(lpath), str(dpath), "--out", str(out), "--quiet", "--method", "one_to_one"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_writer(proc)
    proc.kill()
    proc.wait(timeout=PROMPT_S)
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.new-")]
    if not left:
        pytest.skip("the run was killed before it made its staged folder")
    assert subprocess.run(args, capture_output=True, timeout=600).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_killed_runs_folders_are_swept_only_on_its_host_and_when_it_is_gone(tmp_path):
    from matcher.batch import outdir

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = outdir._tag().split("-")[0]
    target = tmp_path / "out"
    names = {"dead": f".out.new-{host}-{dead.pid}-0000aaaa", "live": f".out.new-{host}-1-0000bbbb",
             "elsewhere": f".out.new-otherhost-{dead.pid}-0000cccc", "untagged": ".out.new-0000dddd",
             "old": f".out.old-{host}-{dead.pid}-0000eeee"}
    for name in names.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "pairs.csv").write_text("x", encoding="utf-8")
    # a live run elsewhere (another container with this host name: its pid looks gone
    # here) holds the lock on its folder
    names["locked"] = f".out.new-{host}-{dead.pid}-0000ffff"
    (tmp_path / names["locked"]).mkdir()
    lock = outdir._try_lock(tmp_path / names["locked"])
    assert lock is not None
    # a link named like a left folder is never followed, moved or removed
    (tmp_path / "elsewhere").mkdir()
    names["link"] = f".out.old-{host}-{dead.pid}-00001111"
    (tmp_path / names["link"]).symlink_to(tmp_path / "elsewhere")
    try:
        swept = outdir._sweep(target)
    finally:
        outdir._unlock(lock)
    # the earlier outputs set aside between two renames come back as the target
    assert sorted(p.name for p in swept) == sorted([names["dead"], names["old"]])
    assert (target / "pairs.csv").read_text(encoding="utf-8") == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["out", "elsewhere", names["live"], names["elsewhere"], names["untagged"], names["locked"], names["link"]])
    (tmp_path / names["old"]).mkdir()  # with the target there, a stale set-aside copy goes
    # the lock released (that run ended), its folder goes too
    assert sorted(p.name for p in outdir._sweep(target)) == sorted([names["old"], names["locked"]])
    assert not (tmp_path / names["old"]).exists()


def test_the_workbook_process_ends_when_its_parent_is_killed(tmp_path, market):
    """SIGKILL cannot be handled, but the workbook's process must not wait forever for
    rows that will never come."""
    lpath, dpath = market
    args = [*CMD, "match", str(lpath), str(dpath), "--out", str(tmp_path / "out"), "--quiet",
            "--method", "one_to_one"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    child = _wait_for_writer(proc)
    proc.kill()
    proc.wait(timeout=PROMPT_S)
    t0 = time.monotonic()
    while _alive(child) and time.monotonic() - t0 < PROMPT_S:
        time.sleep(0.1)
    assert not _alive(child)


def test_a_file_slipped_into_the_staged_folder_is_not_published(tmp_path, market, monkeypatch):
    import matcher.batch.run as run_module
    from matcher.batch.outdir import OutputFolderError

    listings, demands = market
    out = tmp_path / "out"
    run_module.run_match(listings, demands, out, top_k=2)
    before = _tree(out)
    real = run_module._write_tables

    def with_a_stranger(folder, *args, **kwargs):
        (folder / "notes.txt").write_text("not an output", encoding="utf-8")
        return real(folder, *args, **kwargs)

    monkeypatch.setattr(run_module, "_write_tables", with_a_stranger)
    with pytest.raises(OutputFolderError, match=r"notes\.txt"):
        run_module.run_match(listings, demands, out, top_k=4)
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_full_disk_inside_xlsxwriter_is_an_os_error():
    from xlsxwriter.exceptions import FileCreateError

    from matcher.io.export import _os_error

    full = OSError(28, "No space left on device")
    assert _os_error(FileCreateError(full)) is full
    try:
        try:
            raise full
        except OSError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as outer:
        assert _os_error(outer) is full
    assert _os_error(ValueError("no")) is None
