"""The ``changfang`` command.

Sub-commands
------------
``changfang validate listings|demands FILE --out DIR [--sheet NAME]``
    Read one file, print counts and the most common problems, write
    ``DIR/listings.csv`` (or ``DIR/demands.csv``) with canonical field names and
    ``DIR/rejects.csv`` (file, row, id, field, value, severity, reason_zh, reason_en).
``changfang demo [--out DIR]``
    Read the bundled Cixi sample (``datasets/cixi-sample/``) into ``DIR``
    (default ``./changfang-demo/``): canonical ``listings.csv`` and ``demands.csv``,
    and ``rejects.csv`` for both, and print a short summary. (Scoring and
    allocation join the demo as they are built.)
``changfang generate --listings N --demands M --seed S --out DIR [--format csv|xlsx|json|jsonl]``
    Write a synthetic market as ``DIR/listings.<fmt>`` and ``DIR/demands.<fmt>``.

Exit codes
----------
0 success (also when some rows were rejected); 2 usage error or an input that
cannot be read (one line on stderr); 3 an output that cannot be written; 1 an
unexpected internal error. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from matcher.errors import ChangfangError, InputFileError

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
    from matcher.export import write_records, write_report
    from matcher.ingest import read_demands, read_listings

    reader = read_listings if args.side == "listings" else read_demands
    result = reader(args.file, sheet=args.sheet)
    out = _out_dir(args.out)
    with _writing(out / f"{args.side}.csv") as records_path:
        write_records(result.records, records_path)
    with _writing(out / "rejects.csv") as rejects_path:
        write_report(result.report, rejects_path)
    rep = result.report
    warnings = len(rep.by_severity("warning"))
    print(f"{args.file}: {rep.n_rows} rows read, {rep.n_accepted} accepted, {rep.n_rejected} rejected, "
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


def _cmd_demo(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from matcher.export import write_records, write_report
    from matcher.ingest import read_demands, read_listings
    from matcher.sample import sample_paths

    lpath, dpath = sample_paths()
    listings = read_listings(lpath)
    demands = read_demands(dpath)
    out = _out_dir(args.out)
    for name, res in (("listings", listings), ("demands", demands)):
        with _writing(out / f"{name}.csv") as path:
            write_records(res.records, path)
    problems = [replace(p, file=Path(p.file).name) for p in (*listings.report, *demands.report)]
    with _writing(out / "rejects.csv") as path:
        write_report(problems, path)
    for name, res in (("listings", listings), ("demands", demands)):
        rep = res.report
        print(f"{name}: {rep.n_rows} read, {rep.n_accepted} accepted, {rep.n_rejected} rejected, "
              f"{len(rep.by_severity('warning'))} warnings")
    print("rejected rows:")
    for p in problems:
        if p.severity == "error":
            print(f"  {p.file} row {p.row} {p.id or '-'} {p.field}: {p.reason_zh}")
    print(f"wrote {out / 'listings.csv'}, {out / 'demands.csv'} and {out / 'rejects.csv'}")
    return EXIT_OK


def _cmd_generate(args: argparse.Namespace) -> int:
    from matcher.export import write_records
    from matcher.generate import generate_market

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
    v.add_argument("--sheet", help="worksheet of an XLSX file (default: the first)")
    v.set_defaults(func=_cmd_validate)

    d = sub.add_parser("demo", help="run on the bundled Cixi sample")
    d.add_argument("--out", default="changfang-demo", help="output folder (default: ./changfang-demo)")
    d.set_defaults(func=_cmd_demo)

    g = sub.add_parser("generate", help="write a seeded synthetic market")
    g.add_argument("--listings", type=int, required=True, metavar="N")
    g.add_argument("--demands", type=int, required=True, metavar="M")
    g.add_argument("--seed", type=int, default=0, metavar="S")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--format", choices=["csv", "xlsx", "json", "jsonl"], default="csv")
    g.set_defaults(func=_cmd_generate)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (InputFileError, _Usage) as exc:
        if args.debug:
            raise
        print(f"changfang: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except OutputError as exc:
        if args.debug:
            raise
        print(f"changfang: error: {exc}", file=sys.stderr)
        return EXIT_OUTPUT
    except KeyboardInterrupt:
        print("changfang: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        if args.debug:
            raise
        print(f"changfang: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
