"""The ``changfang`` command.

Sub-commands
------------
``changfang validate listings|demands FILE --out DIR [--sheet NAME]``
    Read one file, print counts and the most common problems, write
    ``DIR/listings.csv`` (or ``DIR/demands.csv``) with canonical field names and
    ``DIR/rejects.csv`` (file, row, id, field, value, severity, reason_zh, reason_en).
``changfang match LISTINGS DEMANDS --out DIR [--profile P.toml] [--method M] [--top-k K] [--lock FILE]
[--exclude FILE] [--sheet NAME] [--listings-sheet NAME] [--demands-sheet NAME]``
    Read, score and allocate; write ``pairs.csv``, ``recommendations.csv``,
    ``unmatched.csv``, ``rejects.csv``, ``run.json``, ``result.xlsx`` and
    ``report.html`` to ``DIR`` (see :mod:`matcher.batch.run`), and print a summary.
``changfang demo [--out DIR]``
    The same on the bundled Cixi sample (``datasets/cixi-sample/``), into ``DIR``
    (default ``./changfang-demo/``), and print a short summary with the five best
    pairs.

``changfang serve [--host 127.0.0.1] [--port 8000] [--db PATH] [--token TOKEN] [--max-body BYTES]
[--profile P.toml] [--workers N]``
    The HTTP service (the ``[server]`` extra; see :mod:`matcher.service.app`). The
    write token may also come from ``CHANGFANG_TOKEN`` and the database path from
    ``CHANGFANG_DB`` (default ``./changfang.db``); without a token one is made up and
    printed once on stderr.

``match`` and ``demo`` show progress on stderr (``--quiet`` silences it) and with
``--json`` print the summary (``run.json`` plus the best pairs) on stdout instead of text.
``changfang generate --listings N --demands M --seed S --out DIR [--format csv|xlsx|json|jsonl]``
    Write a synthetic market as ``DIR/listings.<fmt>`` and ``DIR/demands.<fmt>``.

Exit codes
----------
0 success (also when some rows were rejected); 2 usage error, an input or profile
that cannot be read, or a lock/exclusion naming an unknown id (one line on stderr);
3 an output that cannot be written; 1 an unexpected internal error; 130 interrupted.
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from matcher.errors import ChangfangError, InputFileError, ProfileError

__all__ = ["main"]

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_OUTPUT = 0, 1, 2, 3


class OutputError(ChangfangError, OSError):
    """An output folder or file cannot be written."""


def _out_dir(path: str) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {out}: {exc.strerror or exc}") from None
    if not out.is_dir():
        raise OutputError(f"output path {out} is not a folder")
    return out


@contextmanager
def _writing(path: Path) -> Iterator[Path]:
    """Around the code that writes ``path``: an OS error becomes an OutputError."""
    try:
        yield path
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _cmd_validate(args: argparse.Namespace) -> int:
    from matcher.io.export import write_records, write_report
    from matcher.io.ingest import read_demands, read_listings

    reader = read_listings if args.side == "listings" else read_demands
    result = reader(args.file, sheet=args.sheet)
    out = _out_dir(args.out)
    with _writing(out / f"{args.side}.csv") as records_path:
        write_records(result.records, records_path)
    with _writing(out / "rejects.csv") as rejects_path:
        write_report(result.report, rejects_path)
    rep = result.report
    warnings = len(rep.by_severity("warning"))
    merged = f", {rep.n_merged} merged (an id repeated with the same content)" if rep.n_merged else ""
    print(f"{args.file}: {rep.n_rows} rows read, {rep.n_accepted} accepted, {rep.n_rejected} rejected{merged}, "
          f"{warnings} warnings")
    if result.unknown_columns:
        print(f"unknown columns carried through: {', '.join(result.unknown_columns)}")
    common = rep.most_common(5)
    if common:
        print("most common problems:")
        for (severity, field, reason), count in common:
            print(f"  {count:5d}  {severity:7s}  {field}: {reason}")
    print(f"wrote {records_path} and {rejects_path}")
    return EXIT_OK


class _Progress:
    """Stage progress on stderr with tqdm: one bar over a run's stages."""

    STAGES = ("reading", "scoring and allocating", "writing", "report")

    def __init__(self, quiet: bool) -> None:
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=len(self.STAGES), file=sys.stderr, unit="stage", leave=False,
                            bar_format="{desc:<24} {bar:20} {n_fmt}/{total_fmt} [{elapsed}]")

    def __call__(self, stage: str) -> None:
        if self.bar is not None:
            if self.bar.desc:
                self.bar.update(1)
            self.bar.set_description_str(stage)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.bar.total - self.bar.n)
            self.bar.close()


def _run(args: argparse.Namespace, listings: str, demands: str, label: str | None = None) -> int:
    import json

    from matcher.batch.run import run_match

    if args.top_k < 1:
        raise _Usage("--top-k must be >= 1")
    out = _out_dir(args.out)
    progress = _Progress(args.quiet)
    try:
        run = run_match(listings, demands, out, profile=args.profile, method=args.method, top_k=args.top_k,
                        lock=args.lock, exclude=args.exclude, progress=progress, sample_label=label,
                        listings_sheet=args.listings_sheet or args.sheet,
                        demands_sheet=args.demands_sheet or args.sheet)
    except OSError as exc:
        if isinstance(exc, ChangfangError):
            raise
        raise OutputError(f"cannot write to {out}: {exc.strerror or exc}") from None
    finally:
        progress.close()
    best = run.best_pairs(5)
    if args.json:
        print(json.dumps({**run.summary, "out": str(out), "best_pairs": best}, ensure_ascii=False, indent=2))
        return EXIT_OK
    c = run.summary["counts"]
    def merged(side: str) -> str:
        return f", {c[side + '_merged']} merged" if c[side + "_merged"] else ""

    print(f"listings: {c['listings_read']} read, {c['listings_rejected']} rejected{merged('listings')}; "
          f"demands: {c['demands_read']} read, {c['demands_rejected']} rejected{merged('demands')}")
    print(f"{c['feasible_pairs']} feasible pairs; {c['matched']} pairs made ({run.summary['method']}, "
          f"total score {run.summary['objective']:.2f}); unmatched: {c['unmatched_demands']} demands, "
          f"{c['unmatched_listings']} listings")
    if best:
        print("best pairs:")
        for b in best:
            print(f"  {b['score']:.3f}  {b['demand_id']} {b['company']} → {b['listing_id']}: {b['reasons_zh']}")
    print(f"wrote {', '.join(p.name for p in run.files.values())} to {out}")
    return EXIT_OK


def _cmd_match(args: argparse.Namespace) -> int:
    return _run(args, args.listings, args.demands)


def _cmd_demo(args: argparse.Namespace) -> int:
    from matcher.sample import sample_paths

    lpath, dpath = sample_paths()
    for name in ("profile", "lock", "exclude", "sheet", "listings_sheet", "demands_sheet"):
        setattr(args, name, None)
    return _run(args, str(lpath), str(dpath), label="bundled Cixi sample (datasets/cixi-sample)")


def _cmd_serve(args: argparse.Namespace) -> int:
    import importlib.util
    import os
    import secrets

    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        raise _Usage("the service needs the [server] extra: pip install 'changfang[server]'")
    if args.max_body < 1 or args.workers < 1:
        raise _Usage("--max-body and --workers must be >= 1")
    # numba's OpenMP threads would spin between the many small queries of a server
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import uvicorn

    token = args.token or os.environ.get("CHANGFANG_TOKEN")
    if not token:
        token = secrets.token_urlsafe(24)
        print(f"changfang: no --token or CHANGFANG_TOKEN given; write token for this run: {token}", file=sys.stderr)
    db = args.db or os.environ.get("CHANGFANG_DB") or "changfang.db"
    # every server process reads its configuration from the environment
    os.environ.update(CHANGFANG_DB=db, CHANGFANG_TOKEN=token, CHANGFANG_MAX_BODY=str(args.max_body),
                      CHANGFANG_PROFILE=args.profile or "", CHANGFANG_LOG_LEVEL="WARNING" if args.quiet else "INFO")
    from matcher.service.app import app_from_env

    try:
        app = app_from_env() if args.workers == 1 else None  # fail here, with one line, on a bad db or profile
    except OSError as exc:
        raise OutputError(f"cannot open database {db}: {exc}") from None
    log_level = "warning" if args.quiet else "info"
    if app is not None:
        uvicorn.run(app, host=args.host, port=args.port, log_level=log_level, access_log=not args.quiet)
        return EXIT_OK
    # several processes on one listening socket, bound here with TCP_NODELAY (accepted
    # connections inherit it): uvicorn wraps a passed socket as a Unix one and would
    # leave Nagle's algorithm on, adding 40 ms to every response
    sock = _listening_socket(args.host, args.port)
    print(f"changfang: {args.workers} server processes on http://{args.host}:{args.port}", file=sys.stderr)
    uvicorn.run("matcher.service.app:app_from_env", factory=True, workers=args.workers, fd=sock.fileno(),
                log_level=log_level, access_log=not args.quiet)
    sock.close()
    return EXIT_OK


def _listening_socket(host: str, port: int) -> Any:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OutputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _cmd_generate(args: argparse.Namespace) -> int:
    from matcher.generate import generate_market
    from matcher.io.export import write_records

    if args.listings < 0 or args.demands < 0:
        raise _Usage("--listings and --demands must be >= 0")
    market = generate_market(args.listings, args.demands, seed=args.seed)
    out = _out_dir(args.out)
    with _writing(out / f"listings.{args.format}") as lp:
        write_records(market.listings, lp)
    with _writing(out / f"demands.{args.format}") as dp:
        write_records(market.demands, dp)
    print(f"wrote {len(market.listings)} listings to {lp} and {len(market.demands)} demands to {dp}")
    return EXIT_OK


class _Usage(ChangfangError, ValueError):
    """A command-line argument is invalid."""


def _parser() -> argparse.ArgumentParser:
    from matcher import __version__

    p = argparse.ArgumentParser(prog="changfang", description="Match factory space (厂房) with the firms that need it.")
    p.add_argument("--version", action="version", version=f"changfang {__version__}")
    p.add_argument("--debug", action="store_true", help="show a traceback on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser("validate", help="read one listings or demands file and report every problem")
    v.add_argument("side", choices=["listings", "demands"])
    v.add_argument("file", help="CSV (UTF-8 or GB18030), XLSX, JSON or JSON Lines")
    v.add_argument("--out", required=True, help="output folder")
    v.add_argument("--sheet", help="worksheet of an XLSX file (default: the first visible one with data)")
    v.set_defaults(func=_cmd_validate)

    def run_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--method", choices=["one_to_one", "divisible", "stable"], default="one_to_one",
                        help="allocation (default: one_to_one)")
        sp.add_argument("--top-k", type=int, default=5, metavar="K", help="recommendations per demand (default 5)")
        sp.add_argument("--quiet", action="store_true", help="no progress on stderr")
        sp.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")

    mt = sub.add_parser("match", help="read, score and allocate; write the tables and a report")
    mt.add_argument("listings", help="listings file: CSV (UTF-8 or GB18030), XLSX, JSON or JSON Lines")
    mt.add_argument("demands", help="demands file, in any of the same formats")
    mt.add_argument("--out", required=True, help="output folder")
    mt.add_argument("--profile", help="scoring profile (TOML); default the bundled one")
    run_options(mt)
    mt.add_argument("--lock", help="CSV of demand_id,listing_id pairs already signed")
    mt.add_argument("--exclude", help="CSV of demand_id,listing_id pairs refused")
    mt.add_argument("--sheet", help="worksheet of both XLSX inputs (default: the first visible one with data)")
    mt.add_argument("--listings-sheet", metavar="NAME", help="worksheet of the listings workbook (default: --sheet)")
    mt.add_argument("--demands-sheet", metavar="NAME", help="worksheet of the demands workbook (default: --sheet)")
    mt.set_defaults(func=_cmd_match)

    d = sub.add_parser("demo", help="run the whole pipeline on the bundled Cixi sample")
    d.add_argument("--out", default="changfang-demo", help="output folder (default: ./changfang-demo)")
    run_options(d)
    d.set_defaults(func=_cmd_demo)

    s = sub.add_parser("serve", help="the HTTP service for the portal (the [server] extra)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--db", help="SQLite database (default: $CHANGFANG_DB or ./changfang.db)")
    s.add_argument("--token", help="bearer token for writes (default: $CHANGFANG_TOKEN)")
    s.add_argument("--max-body", type=int, default=10 * 2**20, metavar="BYTES",
                   help="largest request body accepted (default 10 MiB)")
    s.add_argument("--profile", help="scoring profile (TOML)")
    s.add_argument("--workers", type=int, default=1,
                   help="server processes sharing the database (default 1; 2 on a 2-core machine under load)")
    s.add_argument("--quiet", action="store_true", help="warnings only in the log")
    s.set_defaults(func=_cmd_serve)

    g = sub.add_parser("generate", help="write a seeded synthetic market")
    g.add_argument("--listings", type=int, required=True, metavar="N")
    g.add_argument("--demands", type=int, required=True, metavar="M")
    g.add_argument("--seed", type=int, default=0, metavar="S")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--format", choices=["csv", "xlsx", "json", "jsonl"], default="csv")
    g.set_defaults(func=_cmd_generate)
    return p


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (InputFileError, ProfileError, _Usage) as exc:
        if args.debug:
            raise
        print(f"changfang: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except OutputError as exc:
        if args.debug:
            raise
        print(f"changfang: error: {exc}", file=sys.stderr)
        return EXIT_OUTPUT
    except KeyboardInterrupt:
        print("changfang: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"changfang: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
