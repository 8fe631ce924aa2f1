"""Text into HTML and SVG safely: escaped markup and JSON that cannot end its script.

* :func:`escape` -- text for an element's content or a quoted attribute value:
  ``& < > " '`` and ``/`` as character references (OWASP's rule for HTML text; it
  also keeps any URL in the data from appearing as ``http://``), and the characters
  a page cannot show or an XML parser refuses (C0 and C1 controls other than tab,
  line feed and carriage return; lone surrogates) as visible stand-ins: U+2400–U+241F
  (␀ … ␟) for C0, U+2421 (␡) for DEL, U+FFFD for C1 controls and surrogates. The
  result is valid HTML and XML.
* :func:`script_json` -- a value as JSON for a ``<script type="application/json">``
  element: ``<``, ``>``, ``&`` (and DEL, C1 controls, U+2028, U+2029, lone
  surrogates) as ``\\uXXXX`` and ``/`` as ``\\/``, so neither ``</script>`` nor
  ``<!--`` inside a string can end or change the element; ``JSON.parse`` gives back
  exactly the value.

>>> escape('<b title="x">A&B</b>\\x00')
'&lt;b title=&quot;x&quot;&gt;A&amp;B&lt;&#x2F;b&gt;␀'
>>> script_json(["</script><!--"])
'["\\\\u003c\\\\/script\\\\u003e\\\\u003c!--"]'
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

__all__ = ["escape", "script_json"]

_STAND_INS: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)}
_STAND_INS[0x7F] = "\u2421"
_STAND_INS.update(dict.fromkeys(range(0x80, 0xA0), "\ufffd"))
_STAND_INS.update(dict.fromkeys(range(0xD800, 0xE000), "\ufffd"))

# in JSON text: what the HTML parser would act on inside <script>, and what cannot be encoded
_JSON_UNSAFE = re.compile("[<>&\u007f-\u009f\u2028\u2029\ud800-\udfff]")


def escape(text: Any) -> str:
    """``text`` (made a string) as HTML/XML text or a quoted attribute value.

    Parameters
    ----------
    text : object
        ``None`` gives ``""``; anything else is passed through ``str``.

    Returns
    -------
    str
    """
    if text is None:
        return ""
    return html.escape(str(text).translate(_STAND_INS), quote=True).replace("/", "&#x2F;")


def script_json(value: Any) -> str:
    """``value`` as JSON safe to place between ``<script type="application/json">`` tags.

    Parameters
    ----------
    value : JSON-serialisable object
        Non-finite floats raise ``ValueError`` (JSON has no NaN).

    Returns
    -------
    str
        Compact JSON; non-ASCII text is kept as is (UTF-8 in the page), except the
        characters escaped as ``\\uXXXX`` listed in the module docstring.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).replace("/", "\\/")
