"""The matching page: what staff and firms see, in Chinese, served by ``changfang serve``.

One HTML shell (``index.html``) answers every page's URL (``/``, ``/demands/{id}``,
``/listings/{id}``, ``/runs``, ``/runs/{id}``, ``/upload``), so each works when opened
directly (a link from WeChat) and when reached by clicking; a small vanilla script
(``page.js``) renders the page from the JSON API of the same server, and a style sheet
(``page.css``) lays it out from 360 px phones to desktops. Every script and style is
served from ``/static/`` by the server itself (the map's are
:mod:`matcher.viz.svgmap`'s); there are no web fonts (the system's Chinese fonts are
named in the CSS), nothing comes from a CDN, and the Content-Security-Policy lets the
page reach only its own origin.

The staff token is typed once, kept in the tab's ``sessionStorage`` and sent in the
``Authorization`` header; it never appears in a URL (downloads are fetched with the
header and saved from memory).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from fastapi import FastAPI, Path
from fastapi.responses import HTMLResponse, Response

from scoring.reference import gazetteer

__all__ = ["ASSETS", "PAGES", "add_page_routes", "shell"]

PAGES = ("/", "/demands/{record_id}", "/listings/{record_id}", "/runs", "/runs/{run_id}", "/upload")
"""The page URLs; each answers the same shell."""

ASSETS = {"page.js": ("matcher.service.page", "text/javascript; charset=utf-8"),
          "page.css": ("matcher.service.page", "text/css; charset=utf-8"),
          "svgmap.js": ("matcher.viz", "text/javascript; charset=utf-8"),
          "svgmap.css": ("matcher.viz", "text/css; charset=utf-8")}
"""What ``/static/{name}`` serves: the package holding the file and its media type."""

SECURITY_HEADERS = {
    # the page may load and call its own origin only; inline SVG is markup, not a script
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                               "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@functools.cache
def _asset(name: str) -> bytes:
    package, _ = ASSETS[name]
    return resources.files(package).joinpath(name).read_bytes()


@functools.cache
def shell() -> str:
    """The page's HTML: the shell with the towns (for the search form) as JSON data."""
    g = gazetteer()
    towns = [{"name": str(n), "kind": str(k)} for n, k in zip(g.names, g.kinds)]
    data = json.dumps(towns, ensure_ascii=False).replace("<", "\\u003c")
    html = resources.files("matcher.service.page").joinpath("index.html").read_text(encoding="utf-8")
    return html.replace("{{TOWNS}}", data)


def add_page_routes(app: FastAPI) -> None:
    """Serve the page's URLs and its static files on ``app`` (left out of the API document)."""

    def page() -> HTMLResponse:
        return HTMLResponse(shell(), headers=SECURITY_HEADERS)

    for url in PAGES:
        app.add_api_route(url, page, methods=["GET"], include_in_schema=False, response_class=HTMLResponse,
                          name=f"page {url}")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str = Path(max_length=40)) -> Any:
        if name not in ASSETS:
            return Response(b"not found", status_code=404, media_type="text/plain")
        return Response(_asset(name), media_type=ASSETS[name][1], headers=SECURITY_HEADERS)
