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

__version__ = "0.1.0"

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
