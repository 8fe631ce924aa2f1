"""The ``changfang`` command.

Sub-commands
------------
``changfang validate listings|demands FILE --out DIR [--sheet NAME]``
    Read one file, print counts and the most common problems, write
    ``DIR/listings.csv`` (or ``DIR/demands.csv``) with canonical field names and
    ``DIR/rejects.csv`` (file, row, id, field, value, severity, reason_zh, reason_en).
``changfang match LISTINGS DEMANDS --out DIR [--profile P.toml] [--method M] [--top-k K] [--lock FILE]
[--exclude FILE] [--feedback FILE] [--sheet NAME] [--listings-sheet NAME] [--demands-sheet NAME]
[--per-party DIR] [--dask ADDRESS]``
    Read, score and allocate; write ``pairs.csv``, ``recommendations.csv``,
    ``unmatched.csv``, ``rejects.csv``, ``run.json``, ``result.xlsx`` and
    ``report.html`` to ``DIR`` (see :mod:`matcher.batch.run`), and print a summary.
    ``--feedback`` takes the matching page's feedback (signed pairs locked, refused
    ones excluded); ``--dask`` scores on a Dask cluster (``local``: two processes here).
``changfang demo [--out DIR]``
    The same on the bundled Cixi sample (``datasets/cixi-sample/``), into ``DIR``
    (default ``./changfang-demo/``), and print a short summary with the five best
    pairs.

``changfang serve [--host 127.0.0.1] [--port 8000] [--db PATH] [--token TOKEN] [--staff NAME=TOKEN ...]
[--max-body BYTES] [--profile P.toml] [--workers N] [--cors-origin ORIGIN ...] [--load LISTINGS DEMANDS]``
    The HTTP service (the ``[server]`` extra; see :mod:`matcher.service.app`). The
    write token may also come from ``CHANGFANG_TOKEN``, the database path from
    ``CHANGFANG_DB`` (default ``./changfang.db``) and the browser origins allowed from
    ``CHANGFANG_CORS_ORIGINS`` (comma-separated); without a token one is made up and
    printed once on stderr. ``--staff NAME=TOKEN`` (or ``CHANGFANG_STAFF``) adds one named
    token per member of staff (feedback records the name). It also serves the matching
    page (``/``, in Chinese). ``--load`` first stores the records of two files (any format
    ``match`` reads) in the database, as ``PUT`` would, one transaction per side: the
    fast way to fill a large market.

``match`` and ``demo`` show progress on stderr (``--quiet`` silences it) and with
``--json`` print the summary (``run.json`` plus the best pairs) on stdout instead of text.
The command speaks Chinese when the locale is Chinese (``LC_ALL``, ``LC_MESSAGES``,
``LANG`` or ``LANGUAGE`` starting with ``zh``) or with ``--lang zh``, English otherwise.
``changfang generate --listings N --demands M --seed S [--counties C] --out DIR [--format csv|xlsx|json|jsonl]``
    Write a synthetic market as ``DIR/listings.<fmt>`` and ``DIR/demands.<fmt>``.

Exit codes
----------
0 success (also when some rows were rejected); 2 usage error, an input or profile
that cannot be read, a lock/exclusion naming an unknown id or contradicting another, or
running out of memory (one line on stderr, naming the stage); 3 an output that cannot be
written (also an output folder holding other files); 1 an unexpected internal error;
130 interrupted (Ctrl-C), 143 terminated (SIGTERM, as ``kill`` or ``timeout`` send it). A
failed ``match`` leaves the earlier outputs as they were. Error lines
never quote record contents; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from matcher.errors import ChangfangError, InputFileError, ProfileError, out_of_memory

__all__ = ["main", "run"]

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_OUTPUT = 0, 1, 2, 3

# what the command says, in Chinese and in English
_T: dict[str, tuple[str, str]] = {
    "error": ("错误", "error"),
    "internal": ("内部错误（{stage}阶段，{kind}），请加 --debug 查看详情",
                 "internal error in stage {stage} ({kind}); run with --debug for details"),
    "memory": ("内存不足：{stage}阶段需要更多内存。请减少记录数、分批运行，或在内存更大的机器上运行",
               "out of memory in stage {stage}: fewer records, a run in parts or a larger machine will do"),
    "memory_need": ("内存不足：{stage}阶段约需 {need:.1f} GB 内存，本次运行可用约 {avail:.1f} GB。"
                    "请分批运行（如每县一个文件）、换内存更大的机器，或用 --dask 在集群上评分",
                    "out of memory in stage {stage}: it needs about {need:.1f} GB and about {avail:.1f} GB is "
                    "available to this run; run in parts (a county per file), on a larger machine, or score "
                    "on a cluster with --dask"),
    "split": ("“{sheet}”表超过 Excel 单表行数上限，在 result.xlsx 中分为 {parts} 个工作表（CSV 文件完整）",
              "the {sheet} table is longer than an Excel sheet: result.xlsx continues it on {parts} sheets "
              "(the CSV file is whole)"),
    "counties_range": ("{option} 须在 1 到 {most} 之间", "{option} must be from 1 to {most}"),
    "locked_infeasible": ("警告：锁定的配对 ({d}, {l}) 不满足硬性条件（{zh}），仍保留；得分按各项标准计算",
                          "warning: the locked pair ({d}, {l}) fails hard rules ({en}); it is kept, scored "
                          "by its criteria"),
    "interrupted": ("已中断，原有输出未改动", "interrupted; the earlier outputs are untouched"),
    "terminated": ("已终止，原有输出未改动", "terminated; the earlier outputs are untouched"),
    "reading": ("读取", "reading"),
    "scoring and allocating": ("评分与分配", "scoring and allocating"),
    "writing": ("写出", "writing"),
    "report": ("报告", "report"),
    "per-party workbooks": ("分方工作簿", "per-party workbooks"),
    "starting": ("启动", "starting"),
    "read": ("房源：读入 {lr} 条，剔除 {lx} 条{lm}；需求：读入 {dr} 条，剔除 {dx} 条{dm}",
             "listings: {lr} read, {lx} rejected{lm}; demands: {dr} read, {dx} rejected{dm}"),
    "merged": ("，合并重复 {n} 条", ", {n} merged (an id repeated with the same content)"),
    "made": ("可行配对 {feasible} 个；共配对 {matched} 对（方法 {method}，总分 {objective:.2f}）；"
             "未匹配：需求 {ud} 个，房源 {ul} 个",
             "{feasible} feasible pairs; {matched} pairs made ({method}, total score {objective:.2f}); "
             "unmatched: {ud} demands, {ul} listings"),
    "gap": ("分配未证明最优：总分距上界不超过 {gap:.2%}（见 run.json 的 gap 与 limits）",
            "the allocation is not proven optimal: its total is within {gap:.2%} of an upper bound "
            "(gap and limits in run.json)"),
    "best": ("最佳配对：", "best pairs:"),
    "wrote": ("已写出 {files} 到 {out}", "wrote {files} to {out}"),
    "validated": ("{file}：读入 {n} 行，接受 {ok} 行，剔除 {bad} 行{merged}，警告 {warn} 条",
                  "{file}: {n} rows read, {ok} accepted, {bad} rejected{merged}, {warn} warnings"),
    "unknown_columns": ("未识别的列（原样保留）：{cols}", "unknown columns carried through: {cols}"),
    "common": ("最常见的问题：", "most common problems:"),
    "wrote_two": ("已写出 {a} 和 {b}", "wrote {a} and {b}"),
    "generated": ("已写出 {nl} 条房源到 {lp}，{nd} 条需求到 {dp}",
                  "wrote {nl} listings to {lp} and {nd} demands to {dp}"),
    "negative": ("{option} 不能为负数", "{option} must be >= 0"),
    "at_least_one": ("{option} 必须 >= 1", "{option} must be >= 1"),
    "need_server": ("服务需要 [server] 扩展：在 changfang 项目目录中运行 pip install '.[server]'",
                    "the service needs the [server] extra: pip install '.[server]' in changfang's folder"),
    "no_token": ("未提供 --token 或 CHANGFANG_TOKEN；本次运行的写入令牌：{token}",
                 "no --token or CHANGFANG_TOKEN given; write token for this run: {token}"),
    "workers": ("{n} 个服务进程，地址 http://{host}:{port}", "{n} server processes on http://{host}:{port}"),
    "cannot_create": ("无法创建输出文件夹 {out}：{why}", "cannot create output folder {out}: {why}"),
    "not_folder": ("输出路径 {out} 不是文件夹", "output path {out} is not a folder"),
    "cannot_write": ("无法写入 {path}：{why}", "cannot write {path}: {why}"),
    "cannot_listen": ("无法监听 {host}:{port}：{why}", "cannot listen on {host}:{port}: {why}"),
    "cannot_open_db": ("无法打开数据库 {db}：{why}", "cannot open database {db}: {why}"),
    "loaded": ("已存入 {db}：房源 {listings} 条（剔除 {listings_rejected} 条），"
               "需求 {demands} 条（剔除 {demands_rejected} 条）",
               "stored in {db}: {listings} listings ({listings_rejected} rejected), {demands} demands "
               "({demands_rejected} rejected)"),
}
_SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}


def detect_lang(env: dict[str, str] | None = None) -> str:
    """``"zh"`` when the locale is Chinese (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, then
    ``LANGUAGE``), else ``"en"``."""
    env = dict(os.environ) if env is None else env
    for key in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(key, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


class _Say:
    """The command's words in one language."""

    def __init__(self, lang: str) -> None:
        self.zh = lang == "zh"

    def __call__(self, key: str, **kw: Any) -> str:
        zh, en = _T[key]
        return (zh if self.zh else en).format(**kw)

    def either(self, zh: str, en: str) -> str:
        return zh if self.zh else en


class OutputError(ChangfangError, OSError):
    """An output folder or file cannot be written; ``zh`` says it in Chinese."""

    def __init__(self, message: str, zh: str = "") -> None:
        super().__init__(message)
        self.zh = zh or message


def _out_dir(path: str, say: _Say) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise OutputError(f"cannot create output folder {out}: {why}", say("cannot_create", out=out, why=why)) from None
    if not out.is_dir():
        raise OutputError(f"output path {out} is not a folder", say("not_folder", out=out))
    return out


@contextmanager
def _writing(path: Path, say: _Say) -> Iterator[Path]:
    """Around the code that writes ``path``: an OS error becomes an OutputError."""
    try:
        yield path
    except OSError as exc:
        if isinstance(exc, ChangfangError):
            raise
        why = exc.strerror or type(exc).__name__
        raise OutputError(f"cannot write {path}: {why}", say("cannot_write", path=path, why=why)) from None


def _cmd_validate(args: argparse.Namespace, say: _Say) -> int:
    from matcher.io.export import write_records, write_report
    from matcher.io.ingest import read_demands, read_listings

    args.stage = "reading"
    reader = read_listings if args.side == "listings" else read_demands
    result = reader(args.file, sheet=args.sheet)
    args.stage = "writing"
    out = _out_dir(args.out, say)
    with _writing(out / f"{args.side}.csv", say) as records_path:
        write_records(result.records, records_path)
    with _writing(out / "rejects.csv", say) as rejects_path:
        write_report(result.report, rejects_path)
    rep = result.report
    merged = say("merged", n=rep.n_merged) if rep.n_merged else ""
    print(say("validated", file=args.file, n=rep.n_rows, ok=rep.n_accepted, bad=rep.n_rejected, merged=merged,
              warn=len(rep.by_severity("warning"))))
    if result.unknown_columns:
        print(say("unknown_columns", cols=", ".join(result.unknown_columns)))
    common = rep.most_common(5)
    if common:
        print(say("common"))
        for (severity, field, reason), count in common:
            label = _SEVERITY_ZH.get(severity, severity) if say.zh else severity
            print(f"  {count:5d}  {label:7s}  {field}: {reason}")
    print(say("wrote_two", a=records_path, b=rejects_path))
    return EXIT_OK


class _Progress:
    """Stage progress on stderr with tqdm: one bar over a run's stages; remembers the
    stage (error lines name it)."""

    STAGES = ("reading", "scoring and allocating", "writing", "report", "per-party workbooks")

    def __init__(self, quiet: bool, args: argparse.Namespace, say: _Say) -> None:
        self.args, self.say = args, say
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=len(self.STAGES), file=sys.stderr, unit="stage", leave=False,
                            bar_format="{desc:<24} {bar:20} {n_fmt}/{total_fmt} [{elapsed}]")

    def __call__(self, stage: str) -> None:
        self.args.stage = stage
        if self.bar is not None:
            if self.bar.desc:
                self.bar.update(1)
            self.bar.set_description_str(self.say(stage) if stage in _T else stage)

    def close(self, done: bool) -> None:
        """End the bar: full when the run is ``done``, where it stopped otherwise."""
        if self.bar is not None:
            if done:
                self.bar.update(self.bar.total - self.bar.n)
            self.bar.close()


def _run(args: argparse.Namespace, say: _Say, listings: str, demands: str, label: str | None = None) -> int:
    import json

    from matcher.batch.run import run_match

    if args.top_k < 0:
        raise _Usage("--top-k must be >= 0", say("negative", option="--top-k"))
    existed = Path(args.out).exists()
    out = _out_dir(args.out, say)
    progress = _Progress(args.quiet, args, say)
    done = False
    try:
        run = run_match(listings, demands, out, profile=args.profile, method=args.method, top_k=args.top_k,
                        lock=args.lock, exclude=args.exclude, sheet=args.sheet, progress=progress,
                        sample_label=label, per_party=args.per_party,
                        listings_sheet=getattr(args, "listings_sheet", None),
                        demands_sheet=getattr(args, "demands_sheet", None), dask=getattr(args, "dask", None),
                        feedback=getattr(args, "feedback", None), before_publish=_stop_taking_interrupts)
        done = True
    except OSError as exc:
        if isinstance(exc, ChangfangError):
            raise
        why = exc.strerror or type(exc).__name__
        raise OutputError(f"cannot write to {out}: {why}", say("cannot_write", path=out, why=why)) from None
    finally:
        progress.close(done)
        if not done and not existed:  # a failed run leaves no folder it made (empty: nothing was published)
            with suppress(OSError):
                out.rmdir()
    best = run.best
    if args.json:
        print(json.dumps({**run.summary, "out": str(out), "best_pairs": best}, ensure_ascii=False, indent=2))
        return EXIT_OK
    c, m = run.summary["counts"], run.summary

    def merged(side: str) -> str:
        n = c.get(side + "_merged", 0)
        return say("merged", n=n) if n else ""

    print(say("read", lr=c["listings_read"], lx=c["listings_rejected"], lm=merged("listings"),
              dr=c["demands_read"], dx=c["demands_rejected"], dm=merged("demands")))
    print(say("made", feasible=c["feasible_pairs"], matched=c["matched"], method=m["method"],
              objective=m["objective"], ud=c["unmatched_demands"], ul=c["unmatched_listings"]))
    if m.get("gap"):
        print(say("gap", gap=m["gap"]))
    if best:
        print(say("best"))
        for b in best:
            reasons = b["reasons_zh"] if say.zh else b["reasons_en"]
            print(f"  {b['score']:.3f}  {b['demand_id']} {b['company']} → {b['listing_id']}: {reasons}")
    for sheet, parts in run.summary.get("workbook_split", {}).items():
        print(say("split", sheet=sheet, parts=parts))
    _warn_locked_infeasible(run.summary.get("locked_infeasible", []), say)
    print(say("wrote", files=", ".join(p.name for p in run.files.values()), out=out))
    return EXIT_OK


def _warn_locked_infeasible(pairs: list[dict[str, Any]], say: _Say) -> None:
    """One line on stderr per locked pair that a hard rule fails (it is kept)."""
    from scoring.rules import RULES

    labels = {r.name: (r.zh, r.en) for r in RULES}
    for p in pairs:
        zh = "、".join(labels.get(r, (r, r))[0] for r in p["rules"])
        en = ", ".join(labels.get(r, (r, r))[1] for r in p["rules"])
        print("changfang: " + say("locked_infeasible", d=p["demand_id"], l=p["listing_id"], zh=zh, en=en),
              file=sys.stderr)


def _cmd_match(args: argparse.Namespace, say: _Say) -> int:
    return _run(args, say, args.listings, args.demands)


def _cmd_demo(args: argparse.Namespace, say: _Say) -> int:
    from matcher.sample import sample_paths

    lpath, dpath = sample_paths()
    for name in ("profile", "lock", "exclude", "feedback", "sheet", "listings_sheet", "demands_sheet"):
        setattr(args, name, None)
    label = say.either("内置慈溪样例（datasets/cixi-sample）", "bundled Cixi sample (datasets/cixi-sample)")
    return _run(args, say, str(lpath), str(dpath), label=label)


def _cmd_serve(args: argparse.Namespace, say: _Say) -> int:
    import importlib.util
    import secrets

    args.stage = "starting"
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        raise _Usage("the service needs the [server] extra: pip install '.[server]' in changfang's folder",
                     say("need_server"))
    if args.max_body < 1 or args.workers < 1:
        raise _Usage("--max-body and --workers must be >= 1", say("at_least_one", option="--max-body / --workers"))
    # numba's OpenMP threads would spin between the many small queries of a server
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import uvicorn

    from matcher.service.app import app_from_env
    from matcher.service.config import DEFAULT_DB, Settings, parse_staff

    try:
        staff = parse_staff(",".join(args.staff)) if args.staff else Settings.from_env().staff
    except ValueError as exc:
        raise _Usage(str(exc), say.either("--staff 须写成 姓名=令牌", "--staff must be NAME=TOKEN")) from None
    token = args.token or os.environ.get("CHANGFANG_TOKEN")
    if not token and not staff:
        token = secrets.token_urlsafe(24)
        print(f"changfang: {say('no_token', token=token)}", file=sys.stderr)

    db = args.db or os.environ.get("CHANGFANG_DB") or DEFAULT_DB
    env = Settings.from_env()  # what the options leave out: CORS origins, the busy timeout
    # every server process reads its configuration from the environment
    settings = dataclasses.replace(env, db=db, token=token, max_body_bytes=args.max_body, profile=args.profile,
                                   log_level="WARNING" if args.quiet else "INFO",
                                   cors_origins=tuple(args.cors_origin or ()) or env.cors_origins,
                                   workers=args.workers, staff=staff)
    os.environ.update(settings.to_env())
    if args.load:
        args.stage = "reading"
        _load_files(settings, args.load[0], args.load[1], say)
        args.stage = "starting"

    try:
        app = app_from_env() if args.workers == 1 else None  # fail here, with one line, on a bad db or profile
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise OutputError(f"cannot open database {db}: {why}", say("cannot_open_db", db=db, why=why)) from None
    log_level = "warning" if args.quiet else "info"
    if app is not None:
        uvicorn.run(app, host=args.host, port=args.port, log_level=log_level, access_log=not args.quiet)
        return EXIT_OK
    # several processes on one listening socket, bound here with TCP_NODELAY (accepted
    # connections inherit it): uvicorn wraps a passed socket as a Unix one and would
    # leave Nagle's algorithm on, adding 40 ms to every response
    sock = _listening_socket(args.host, args.port, say)
    print(f"changfang: {say('workers', n=args.workers, host=args.host, port=args.port)}", file=sys.stderr)
    uvicorn.run("matcher.service.app:app_from_env", factory=True, workers=args.workers, fd=sock.fileno(),
                log_level=log_level, access_log=not args.quiet)
    sock.close()
    return EXIT_OK


def _load_files(settings: Any, listings: str, demands: str, say: _Say) -> None:
    """``changfang serve --load``: store both files' records in the database."""
    from matcher.service.domain import import_files
    from matcher.service.store import Store

    try:
        store = Store(settings.db, settings.busy_timeout_s)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise OutputError(f"cannot open database {settings.db}: {why}",
                          say("cannot_open_db", db=settings.db, why=why)) from None
    try:
        counts = import_files(store, listings, demands)
    finally:
        store.close()
    print(f"changfang: {say('loaded', db=settings.db, **counts)}", file=sys.stderr)


def _listening_socket(host: str, port: int, say: _Say) -> Any:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        why = exc.strerror or type(exc).__name__
        raise OutputError(f"cannot listen on {host}:{port}: {why}", say("cannot_listen", host=host, port=port,
                                                                          why=why)) from None
    sock.set_inheritable(True)
    return sock


def _cmd_generate(args: argparse.Namespace, say: _Say) -> int:
    from matcher.generate import generate_market
    from matcher.io.export import write_records
    from scoring.reference import MAX_COUNTIES

    if args.listings < 0 or args.demands < 0:
        raise _Usage("--listings and --demands must be >= 0", say("negative", option="--listings / --demands"))
    if not 1 <= args.counties <= MAX_COUNTIES:
        raise _Usage(f"--counties must be from 1 to {MAX_COUNTIES}",
                     say("counties_range", option="--counties", most=MAX_COUNTIES))
    args.stage = "generating"
    market = generate_market(args.listings, args.demands, seed=args.seed, counties=args.counties)
    args.stage = "writing"
    out = _out_dir(args.out, say)
    with _writing(out / f"listings.{args.format}", say) as lp:
        write_records(market.listings, lp)
    with _writing(out / f"demands.{args.format}", say) as dp:
        write_records(market.demands, dp)
    print(say("generated", nl=len(market.listings), lp=lp, nd=len(market.demands), dp=dp))
    return EXIT_OK


class _Usage(ChangfangError, ValueError):
    """A command-line argument is invalid; ``zh`` says it in Chinese."""

    def __init__(self, message: str, zh: str = "") -> None:
        super().__init__(message)
        self.zh = zh or message


def _parser() -> argparse.ArgumentParser:
    from matcher import __version__

    p = argparse.ArgumentParser(prog="changfang", description="Match factory space (厂房) with the firms that need it.")
    p.add_argument("--version", action="version", version=f"changfang {__version__}")
    p.add_argument("--debug", action="store_true", help="show a traceback on errors")
    p.add_argument("--lang", choices=["zh", "en"],
                   help="language of messages (default: Chinese when the locale is Chinese, else English)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # --lang after the command too (SUPPRESS: a command's default never hides the global one)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--lang", choices=["zh", "en"], default=argparse.SUPPRESS, help="language of messages")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show a traceback on errors")

    v = sub.add_parser("validate", parents=[common], help="read one listings or demands file and report every problem")
    v.add_argument("side", choices=["listings", "demands"])
    v.add_argument("file", help="CSV (UTF-8 or GB18030), XLSX, JSON or JSON Lines")
    v.add_argument("--out", required=True, help="output folder")
    v.add_argument("--sheet", help="worksheet of an XLSX file (default: the first visible one with data)")
    v.set_defaults(func=_cmd_validate)

    def run_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--method", choices=["auto", "one_to_one", "divisible", "stable"], default="auto",
                        help="allocation (default: auto, which shares divisible plants in whole units when any "
                             "listing is divisible, else one_to_one)")
        sp.add_argument("--top-k", type=int, default=5, metavar="K",
                        help="recommendations per demand (default 5; at most the number of listings)")
        sp.add_argument("--per-party", metavar="DIR",
                        help="also write one workbook per landlord and one per firm, with contacts, to forward")
        sp.add_argument("--quiet", action="store_true", help="no progress on stderr")
        sp.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")

    mt = sub.add_parser("match", parents=[common], help="read, score and allocate; write the tables and a report")
    mt.add_argument("listings", help="listings file: CSV (UTF-8 or GB18030), XLSX, JSON or JSON Lines")
    mt.add_argument("demands", help="demands file, in any of the same formats")
    mt.add_argument("--out", required=True, help="output folder")
    mt.add_argument("--profile", help="scoring profile (TOML); default the bundled one")
    run_options(mt)
    mt.add_argument("--lock", help="CSV of demand_id,listing_id pairs already signed")
    mt.add_argument("--exclude", help="CSV of demand_id,listing_id pairs refused")
    mt.add_argument("--feedback", metavar="FILE",
                    help="feedback from the matching page (demand_id, listing_id, action = contacted, signed or "
                         "refused): signed pairs are locked, refused ones never proposed")
    mt.add_argument("--sheet", help="worksheet of both XLSX inputs (default: the first visible one with data)")
    mt.add_argument("--listings-sheet", metavar="NAME", help="worksheet of the listings workbook (default: --sheet)")
    mt.add_argument("--demands-sheet", metavar="NAME", help="worksheet of the demands workbook (default: --sheet)")
    mt.add_argument("--dask", metavar="ADDRESS",
                    help="score on a Dask cluster: its scheduler's address, or 'local' for two worker processes "
                         "on this machine (needs the [distributed] extra); the outputs are the same")
    mt.set_defaults(func=_cmd_match)

    d = sub.add_parser("demo", parents=[common], help="run the whole pipeline on the bundled Cixi sample")
    d.add_argument("--out", default="changfang-demo", help="output folder (default: ./changfang-demo)")
    run_options(d)
    d.set_defaults(func=_cmd_demo)

    s = sub.add_parser("serve", parents=[common], help="the HTTP service for the portal (the [server] extra)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--db", help="SQLite database (default: $CHANGFANG_DB or ./changfang.db)")
    s.add_argument("--token", help="bearer token for writes (default: $CHANGFANG_TOKEN)")
    s.add_argument("--staff", action="append", metavar="NAME=TOKEN",
                   help="a named token for one member of staff (repeatable; feedback records the name; "
                        "default: $CHANGFANG_STAFF, comma-separated)")
    s.add_argument("--max-body", type=int, default=10 * 2**20, metavar="BYTES",
                   help="largest request body accepted (default 10 MiB)")
    s.add_argument("--profile", help="scoring profile (TOML)")
    s.add_argument("--workers", type=int, default=1,
                   help="server processes sharing the database (default 1; 2 on a 2-core machine under load)")
    s.add_argument("--cors-origin", action="append", metavar="ORIGIN",
                   help="a browser page's origin allowed to call the service (repeatable; "
                        "default: $CHANGFANG_CORS_ORIGINS, comma-separated, else none)")
    s.add_argument("--load", nargs=2, metavar=("LISTINGS", "DEMANDS"),
                   help="first store the records of these two files in the database (as PUT would)")
    s.add_argument("--quiet", action="store_true", help="warnings only in the log")
    s.set_defaults(func=_cmd_serve)

    g = sub.add_parser("generate", parents=[common], help="write a seeded synthetic market")
    g.add_argument("--listings", type=int, required=True, metavar="N")
    g.add_argument("--demands", type=int, required=True, metavar="M")
    g.add_argument("--seed", type=int, default=0, metavar="S")
    g.add_argument("--counties", type=int, default=1, metavar="C",
                   help="spread the market over C copies of the county side by side, a province (default 1); "
                        "towns of the second county on are written 周巷镇·2 and so on")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--format", choices=["csv", "xlsx", "json", "jsonl"], default="csv")
    g.set_defaults(func=_cmd_generate)
    return p


def _message(exc: BaseException, say: _Say) -> str:
    """One line for a known error, in the command's language; never record contents."""
    return " ".join(_message_text(exc, say).split("\n"))


def _message_text(exc: BaseException, say: _Say) -> str:
    if isinstance(exc, (OutputError, _Usage)):
        return exc.zh if say.zh else str(exc)
    if isinstance(exc, InputFileError):
        reason = getattr(exc, "reason_zh", None) if say.zh else None
        return f"{exc.source}：{reason}" if reason else str(exc)
    if isinstance(exc, ProfileError):
        return say.either(f"评分配置 {exc.key!r}：{exc.reason}", str(exc))
    zh = getattr(exc, "reason_zh", None)
    if say.zh and zh:
        return f"{getattr(exc, 'path', '')}：{zh}"
    return str(exc)


def _available_memory() -> int:
    """Bytes of memory this process can still take now, 0 when unknown: the machine's
    available memory (free or reclaimable pages), or less where a limit of the process
    (``ulimit -v`` / ``-d``) or of its control group (a container's ``memory.max``)
    leaves less."""
    room = []
    status = _proc_fields("/proc/self/status", ("VmSize", "VmData"))
    machine = _proc_fields("/proc/meminfo", ("MemAvailable",)).get("MemAvailable")
    if machine is None:
        try:
            machine = int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            machine = None
    if machine is not None:
        room.append(machine)
    try:
        import resource

        for limit, used in ((resource.RLIMIT_AS, "VmSize"), (resource.RLIMIT_DATA, "VmData")):
            soft = resource.getrlimit(limit)[0]
            if soft != resource.RLIM_INFINITY and used in status:
                room.append(soft - status[used])
    except (ImportError, OSError, ValueError):
        pass
    room.extend(_cgroup_room())
    return max(min(room), 0) if room else 0


def _proc_fields(path: str, names: Sequence[str]) -> dict[str, int]:
    """``name: value kB`` lines of a /proc file, as bytes (what is missing is left out)."""
    out: dict[str, int] = {}
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in names and rest.split():
                    out[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError):
        pass
    return out


def _cgroup_room() -> list[int]:
    """Bytes left under this process's cgroup v2 memory limit (none: no limit known)."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as fh:
            path = next((line.strip()[3:] for line in fh if line.startswith("0::")), None)
        if path is None:
            return []
        base = os.path.join("/sys/fs/cgroup", path.lstrip("/"))
        with open(os.path.join(base, "memory.max"), encoding="ascii") as fh:
            limit = fh.read().strip()
        if limit == "max":
            return []
        with open(os.path.join(base, "memory.current"), encoding="ascii") as fh:
            return [int(limit) - int(fh.read().strip())]
    except (OSError, ValueError):
        return []


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    from matcher.batch.outdir import OutputFolderError

    parser = _parser()
    args = parser.parse_args(argv)
    say = _Say(args.lang or detect_lang())
    args.stage = "starting"
    prefix = f"changfang: {say('error')}: " if not say.zh else f"changfang: {say('error')}："

    def stage() -> str:
        return say(args.stage) if args.stage in _T else str(args.stage)

    try:
        return int(args.func(args, say))
    except (InputFileError, ProfileError, _Usage) as exc:
        if args.debug:
            raise
        print(prefix + _message(exc, say), file=sys.stderr)
        return EXIT_INPUT
    except (OutputError, OutputFolderError) as exc:
        if args.debug:
            raise
        print(prefix + _message(exc, say), file=sys.stderr)
        return EXIT_OUTPUT
    except KeyboardInterrupt:
        if _TERMINATED:
            print(f"changfang: {say('terminated')}", file=sys.stderr)
            return EXIT_TERMINATED
        print(f"changfang: {say('interrupted')}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if args.debug:
            raise
        # standard output closed by its reader (changfang match … | head -1): what was
        # asked for is done (the outputs are written before anything is printed)
        _discard_stdout()
        return EXIT_OK
    except Exception as exc:
        if args.debug:
            raise
        if out_of_memory(exc):  # a MemoryError, a library the loader had no memory to map, an ENOMEM
            need = getattr(exc, "need_bytes", 0)
            if need:
                named = str(getattr(exc, "stage", ""))
                where = say(named) if named in _T else stage()
                print(prefix + say("memory_need", stage=where, need=need / 1e9, avail=_available_memory() / 1e9),
                      file=sys.stderr)
            else:
                print(prefix + say("memory", stage=stage()), file=sys.stderr)
            return EXIT_INPUT
        print(prefix + say("internal", stage=stage(), kind=type(exc).__name__), file=sys.stderr)
        return EXIT_INTERNAL


def _in_import(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs inside Python's import machinery."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGINT (and the retry timer): raise :class:`KeyboardInterrupt`, but never inside
    an import, where Python may swallow it (a module lock's callback: the run would go
    on) or remember it and end the process by SIGINT after ``main`` returned 130: there
    the interrupt is retried every 50 ms until the import is over. A second Ctrl-C,
    while the first one is being handled, ends the process at once (exit 130; nothing
    was swapped in, and the next run removes the staged folder)."""
    if _in_import(frame):
        signal.signal(signal.SIGALRM, _on_interrupt)
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        return
    signal.signal(signal.SIGINT, _on_second_interrupt)
    raise KeyboardInterrupt


def _stop_taking_interrupts() -> None:
    """From the swap of the outputs on, a Ctrl-C would only cut the summary short (and
    "the earlier outputs are untouched" would no longer be true): ignore it, when this
    command's handler is the one in place (a library caller keeps its own); SIGTERM too."""
    if signal.getsignal(signal.SIGINT) is _on_interrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if signal.getsignal(signal.SIGTERM) is _on_terminate:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _on_second_interrupt(signum: int, frame: FrameType | None) -> None:
    os._exit(EXIT_TERMINATED if _TERMINATED else 130)


EXIT_TERMINATED = 143
_TERMINATED = False  # set by SIGTERM: the interrupt that follows is a termination


def _on_terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (``kill``, ``timeout``, a service manager): ended as a Ctrl-C is (the
    staged outputs and the workbook's process cleaned up, the earlier outputs untouched),
    with exit code 143 and its own line."""
    global _TERMINATED
    _TERMINATED = True
    signal.signal(signal.SIGTERM, _on_second_interrupt)
    _on_interrupt(signum, frame)


def run() -> NoReturn:
    """The ``changfang`` command as a process (the console script and ``python -m
    matcher``): :func:`main` with Ctrl-C and a closed standard output handled as a
    process must handle them.

    Ctrl-C ends the run with one line and exit code 130, without waiting for anything
    (no child process, thread or exit handler can hold the exit). A standard output
    closed by its reader (``changfang match … | head -1``) ends the command quietly with
    its own exit code: the outputs are written before anything is printed.
    """
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        signal.signal(signal.SIGINT, _on_interrupt)
        signal.signal(signal.SIGTERM, _on_terminate)
    code = main()
    if main_thread and code not in (130, EXIT_TERMINATED):  # the work is done (or failed on its own): a late
        signal.signal(signal.SIGINT, signal.SIG_IGN)          # Ctrl-C or SIGTERM changes nothing
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()
    sys.stderr.flush()
    if code in (130, EXIT_TERMINATED):
        os._exit(code)
    sys.exit(code)


def _discard_stdout() -> None:
    """Point standard output at /dev/null (its reader is gone): the interpreter's last
    flush then has nowhere to fail."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    run()
