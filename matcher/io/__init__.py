"""Files in and out: reading records as staff write them, and writing tables.

* :mod:`matcher.io.tables` -- a raw table (headers and cells) from a file or an object;
* :mod:`matcher.io.schema` -- which headers name which field, and which parser reads it;
* :mod:`matcher.io.normalise` -- one cell of free text to a canonical value
  (:mod:`matcher.io.numerals` -- numerals as staff write them, to Arabic);
* :mod:`matcher.io.ingest` -- :func:`read_listings` / :func:`read_demands`: records and a
  report that accounts for every row;
* :mod:`matcher.io.export` -- CSV, XLSX, JSON and JSON Lines, written atomically.
"""

from matcher.io.export import write_records, write_report, write_table
from matcher.io.ingest import Problem, ReadResult, Report, read_demands, read_listings

__all__ = ["Problem", "ReadResult", "Report", "read_demands", "read_listings", "write_records", "write_report",
           "write_table"]
