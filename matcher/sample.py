"""Where the bundled Cixi sample lives.

In an installed wheel the files of ``datasets/cixi-sample/`` ship inside the package
as ``matcher/_sample/``; in a source checkout (or an editable install) they are read
from the repository's ``datasets/cixi-sample/``.
"""

from __future__ import annotations

from pathlib import Path

from matcher.errors import InputFileError

__all__ = ["sample_dir", "sample_paths"]


def sample_dir() -> Path:
    """The folder holding ``listings.csv`` and ``demands.xlsx``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_sample", here.parent / "datasets" / "cixi-sample"):
        if (candidate / "listings.csv").is_file():
            return candidate
    raise InputFileError("cixi-sample", "the bundled sample is missing from this installation")


def sample_paths() -> tuple[Path, Path]:
    """Paths of the sample listings (GB18030 CSV) and demands (XLSX)."""
    d = sample_dir()
    return d / "listings.csv", d / "demands.xlsx"
