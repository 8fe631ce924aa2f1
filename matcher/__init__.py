"""changfang: match factory space (厂房) on offer with the firms that need it.

The public face of the ``matcher`` package::

    from matcher import read_listings, read_demands
    listings = read_listings("listings.csv").records
    demands = read_demands("demands.xlsx").records

See ``README.md`` for a tour.
"""

from matcher.errors import ChangfangError, InputFileError, ProfileError
from matcher.generate import Market, generate_market
from matcher.io.export import write_records, write_report, write_table
from matcher.io.ingest import Problem, ReadResult, Report, read_demands, read_listings
from matcher.match import MatchResult, Unmatched, match
from matcher.records import Demands, Listings, Ragged


def __getattr__(name: str) -> str:
    # the version has one source, the distribution's metadata (pyproject.toml), read on
    # first use so that importing matcher stays cheap
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("changfang")
        except PackageNotFoundError:  # imported from a source tree that was never installed
            value = "0+unknown"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'matcher' has no attribute {name!r}")


__all__ = [
    "ChangfangError",
    "Demands",
    "InputFileError",
    "Listings",
    "Market",
    "MatchResult",
    "Problem",
    "ProfileError",
    "Ragged",
    "ReadResult",
    "Report",
    "Unmatched",
    "__version__",
    "generate_market",
    "match",
    "read_demands",
    "read_listings",
    "write_records",
    "write_report",
    "write_table",
]
