"""What a request may hold, checked before anything reads it; ids as they reach a log;
page cursors.

:func:`check_records` applies the limits of an upsert body (:mod:`matcher.service.schemas`
states them and publishes them in the OpenAPI document) to the raw JSON, so that a
record over a limit is refused with its index and field before the readers see it
(the file readers cut long text with a warning instead: a file is read as it is, a
request is refused and sent again). :func:`check_id` is the file readers' id rule
(:func:`matcher.io.normalise.parse_id`) for ids in paths and queries.
"""

from __future__ import annotations

import base64
import functools
import math
import re
from collections.abc import Iterable
from typing import Any

from matcher.errors import RequestError
from matcher.io.normalise import CellError, is_blank, parse_id
from matcher.io.schema import DEMAND_COLUMNS, LISTING_COLUMNS, REQUIRED, column_lookup, resolve_header
from matcher.records import ID_MAX_CHARS, TEXT_MAX_CHARS
from matcher.service.schemas import (
    CURSOR_PATTERN,
    FIELD_NAME_MAX_CHARS,
    LIST_ITEM_MAX_CHARS,
    LIST_MAX_ITEMS,
    MAX_FIELDS,
    NUMBER_MAX,
)

__all__ = ["all_blank", "check_id", "check_records", "complete_columns", "decode_cursor", "decode_position",
           "encode_cursor", "encode_position", "escape"]

_LOOKUP = {"listing": column_lookup(LISTING_COLUMNS), "demand": column_lookup(DEMAND_COLUMNS)}
_ID_FIELD = {"listing": "listing_id", "demand": "demand_id"}
_CONTROL_KEY = re.compile(r"[\x00-\x1f\x7f]")
_CURSOR = re.compile(CURSOR_PATTERN)


def _surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text_problem(s: str, limit: int) -> tuple[str, str] | None:
    if len(s) > limit:
        return (f"text too long ({len(s)} characters, at most {limit})",
                f"文字过长（{len(s)} 个字符，上限 {limit}）")
    if _surrogate(s):
        return "text is not valid Unicode (a lone surrogate)", "文字不是有效的 Unicode（含孤立代理项）"
    return None


def _number_problem(v: float | int) -> tuple[str, str] | None:
    if (isinstance(v, float) and not math.isfinite(v)) or abs(v) > NUMBER_MAX:
        return f"number out of range (at most ±{NUMBER_MAX:.0e})", f"数值超出范围（绝对值上限 {NUMBER_MAX:.0e}）"
    return None


def _value_problem(v: Any) -> tuple[str, str] | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, str):
        return _text_problem(v, TEXT_MAX_CHARS)
    if isinstance(v, (int, float)):
        return _number_problem(v)
    if isinstance(v, list):
        if len(v) > LIST_MAX_ITEMS:
            return f"array too long ({len(v)} items, at most {LIST_MAX_ITEMS})", \
                f"数组过长（{len(v)} 项，上限 {LIST_MAX_ITEMS}）"
        for item in v:
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                return "array items must be text or numbers", "数组的每一项必须是文字或数字"
            bad = _text_problem(item, LIST_ITEM_MAX_CHARS) if isinstance(item, str) else _number_problem(item)
            if bad:
                return bad
        return None
    return "a value must be text, a number, true/false, null or an array", \
        "字段值必须是文字、数字、true/false、null 或数组"


def _id_problem(v: Any) -> tuple[str, str] | None:
    if isinstance(v, str):
        return _text_problem(v, ID_MAX_CHARS)
    if isinstance(v, int) and not isinstance(v, bool):
        return _number_problem(v)
    return "an id must be text or an integer", "编号必须是文字或整数"


def check_records(body: Any, side: str) -> list[dict[str, Any]]:
    """The records of an upsert body, or :class:`~matcher.errors.RequestError` naming
    the first record and field over a limit (``loc = ("body", index, field)``).

    The limits (:mod:`matcher.service.schemas`): a JSON array of objects; field names
    of 1–100 characters without control characters, at most 200 distinct ones in the
    request; text values of at most ``TEXT_MAX_CHARS`` characters (valid Unicode);
    numbers within ±1e15; arrays of at most 40 items, each text of at most 50
    characters or a number; no nested objects; the id field (``listing_id``, ``编号`` …)
    text of at most ``ID_MAX_CHARS`` characters or an integer.

    >>> check_records([{"listing_id": "L1", "owner": "x" * 2001}], "listing")
    Traceback (most recent call last):
    ...
    matcher.errors.RequestError: body.0.owner: text too long (2001 characters, at most 2000)
    """
    if not isinstance(body, list):
        raise RequestError(("body",), "the body must be a JSON array of records", "请求体必须是记录的 JSON 数组")
    seen: dict[str, bool] = {}  # field name -> whether it names the id column
    for k, rec in enumerate(body):
        if type(rec) is not dict:
            raise RequestError(("body", k), "a record must be a JSON object", "每条记录必须是 JSON 对象")
        for name, v in rec.items():
            is_id = seen.get(name)
            if is_id is None:
                is_id = seen[name] = _new_field(name, k, seen, side)
            t = type(v)
            # the common cases inline (a 100k-record body has millions of values)
            if is_id:
                if t is float and v.is_integer() and abs(v) <= NUMBER_MAX:  # 12.0 is an integer in JSON
                    rec[name] = v = int(v)
                bad = _id_problem(v)
            elif t is str:
                bad = None if len(v) <= TEXT_MAX_CHARS and (v.isascii() or not _surrogate(v)) \
                    else _text_problem(v, TEXT_MAX_CHARS)
            elif t is float or t is int:
                bad = None if -NUMBER_MAX <= v <= NUMBER_MAX else _number_problem(v)
            else:
                bad = _value_problem(v)
            if bad:
                raise RequestError(("body", k, name), *bad)
    return body


def _new_field(name: str, k: int, seen: dict[str, bool], side: str) -> bool:
    """Check a field name seen for the first time in a request; whether it names the id."""
    if not name or len(name) > FIELD_NAME_MAX_CHARS or _CONTROL_KEY.search(name) or _surrogate(name):
        raise RequestError(("body", k, name),
                           f"a field name must be 1–{FIELD_NAME_MAX_CHARS} characters without control characters",
                           f"字段名须为 1–{FIELD_NAME_MAX_CHARS} 个字符，不含控制字符")
    if len(seen) >= MAX_FIELDS:
        raise RequestError(("body", k, name), f"more than {MAX_FIELDS} distinct field names in one request",
                           f"一次请求的字段名超过 {MAX_FIELDS} 个")
    return _names_id(side, name)


@functools.lru_cache(maxsize=4096)
def _names_id(side: str, name: str) -> bool:
    """Whether a header names the id column (resolving a header folds it through several
    patterns: kept for the names seen before, which a server reading its stored records
    back, one record at a time, meets 200,000 times each)."""
    col = resolve_header(name, _LOOKUP[side])
    return col is not None and col.field == _ID_FIELD[side]


def complete_columns(records: list[dict[str, Any]], side: str) -> list[dict[str, Any]]:
    """``records`` with every required field present as a column: a request whose
    records all lack one (say, the deal type) gets each record rejected for it, with its
    index, as a record lacking it among others would be (a file without the column is
    refused whole instead). The first record gets the missing canonical fields, empty.

    >>> complete_columns([{"listing_id": "L1"}], "listing")[0]
    {'listing_id': 'L1', 'deal': None, 'area_m2': None, 'town': None}
    """
    lookup = _LOOKUP[side]
    named = {col.field for col in (resolve_header(h, lookup) for h in set().union(*records)) if col is not None}
    missing = [alternatives[0] for _, alternatives, _, _ in REQUIRED[side]
               if not any(set(fields) <= named for fields in alternatives)]
    if not missing or not records:
        return records
    first = {**records[0], **{f: None for fields in missing for f in fields}}
    return [first, *records[1:]]


def all_blank(records: list[dict[str, Any]]) -> bool:
    """Whether no record holds a value (the readers skip blank records)."""
    return all(is_blank(v) or v == [] for rec in records for v in rec.values())


def check_id(raw: str, loc: Iterable[str | int]) -> str:
    """An id from a path or a query, by the file readers' rule (trimmed,
    NFKC-normalised; :class:`~matcher.errors.RequestError` with the reason otherwise).

    >>> check_id(" CX-L001 ", ("path", "record_id"))
    'CX-L001'
    >>> check_id("../x", ("path", "record_id"))
    Traceback (most recent call last):
    ...
    matcher.errors.RequestError: path.record_id: an id must not contain / or \\
    """
    try:
        return parse_id(raw, numbers_as_written=False)
    except CellError as exc:
        raise RequestError(tuple(loc), exc.en, exc.zh) from None


def escape(text: str, limit: int = 120) -> str:
    """``text`` fit for one log line: backslashes, line breaks, control and invisible
    characters written as escapes (``a\\nb``), cut to ``limit`` characters.

    >>> print(escape("L1\\nINFO: forged"))
    L1\\nINFO: forged
    """
    out = "".join(c if c.isprintable() and c != "\\" else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                  for c in text[:limit])
    return out + ("…" if len(text) > limit else "")


def encode_cursor(record_id: str) -> str:
    """An opaque page cursor: the page goes on after this id (in id order)."""
    return base64.urlsafe_b64encode(record_id.encode("utf-8")).decode("ascii").rstrip("=")


def _cursor_bytes(cursor: str, loc: tuple[str, ...]) -> bytes:
    if not _CURSOR.fullmatch(cursor):
        raise RequestError(loc, "not a cursor this service gave", "不是本服务给出的翻页标记")
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def decode_cursor(cursor: str, loc: tuple[str, ...] = ("query", "cursor")) -> str:
    """The id a records cursor goes on after. Any string of the cursor's alphabet and
    length decodes (to some place in id order), so a cursor is never refused for its
    content; one outside the alphabet is a :class:`~matcher.errors.RequestError`."""
    return _cursor_bytes(cursor, loc).decode("utf-8", errors="replace")


def encode_position(position: int) -> str:
    """An opaque cursor for a position (runs: the page goes on with older ones)."""
    return base64.urlsafe_b64encode(position.to_bytes(8, "big")).decode("ascii").rstrip("=")


def decode_position(cursor: str, loc: tuple[str, ...] = ("query", "cursor")) -> int:
    """The position a runs cursor goes on before (any cursor of the alphabet decodes)."""
    return int.from_bytes(_cursor_bytes(cursor, loc)[-8:], "big") & (2**63 - 1)  # an SQLite integer
