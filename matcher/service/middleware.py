"""ASGI middleware of the service: the bearer token, the request body size limit, and
a bare 500 for anything unexpected.

The first two answer before anything reads the body: an unauthenticated write gets 401
whatever its body holds, and a body over the limit 413 (declared, or counted as it
streams in).
"""

from __future__ import annotations

import hmac
import logging
from collections import OrderedDict
from typing import Any

from fastapi.responses import JSONResponse

__all__ = ["DEFAULT_STAFF_NAME", "STAFF", "BearerToken", "BodyLimit", "ConnectionRequests", "ServerErrors"]

log = logging.getLogger("changfang.service")

STAFF = "changfang.staff"
"""The request scope's key holding the name of the staff token the request carried
(empty when it carried none)."""

DEFAULT_STAFF_NAME = "工作人员"
"""The name of the service's single token (``--token``), as feedback records who."""

WRITE_METHODS = frozenset({"PUT", "POST", "DELETE", "PATCH"})


class BearerToken:
    """ASGI middleware: ``Authorization: Bearer <token>``.

    A request that carries an ``Authorization`` header must carry a token (else 401:
    a page with a stale token learns it at once); a write (PUT, POST, DELETE, PATCH)
    must carry one. The request's scope then holds the name of the token it carried
    (:data:`STAFF`; empty for none), for the routes that serve private fields only to
    staff and for feedback, which records who gave it. Without a token configured,
    nobody is staff and every write gets 401.

    Parameters
    ----------
    token : str, optional
        The service's token, named :data:`DEFAULT_STAFF_NAME`.
    staff : sequence of (name, token)
        More tokens, one per member of staff.
    """

    def __init__(self, app: Any, token: str | None, staff: tuple[tuple[str, str], ...] = ()) -> None:
        self.app = app
        tokens = [(DEFAULT_STAFF_NAME, token)] if token else []
        self.tokens = [(name, t.encode()) for name, t in [*tokens, *staff] if t]

    def _valid(self, header: bytes) -> str:
        """The name of the token the header carries, or empty."""
        scheme, _, credentials = header.partition(b" ")
        if scheme.lower() != b"bearer":
            return ""
        name = ""
        for who, t in self.tokens:  # every token compared, in constant time each
            if hmac.compare_digest(credentials.strip(), t) and not name:
                name = who
        return name

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope.get("headers") or () if k == b"authorization"), None)
        staff = self._valid(header) if header is not None else ""
        if not staff and (header is not None or scope["method"] in WRITE_METHODS):
            why = "a valid bearer token is needed to write" if header is None else "the bearer token is not valid"
            await JSONResponse({"detail": why}, status_code=401, headers={"WWW-Authenticate": "Bearer"})(
                scope, receive, send)
            return
        await self.app({**scope, STAFF: staff}, receive, send)


class _TooLarge(BaseException):
    """Raised from ``receive`` past the limit; a BaseException so that no body parser
    turns it into a 400 on its way out to :class:`BodyLimit`."""


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_large = JSONResponse({"detail": f"request body over {self.max_bytes} bytes"}, status_code=413)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await too_large(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited() -> Any:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return msg

        async def tracking(msg: Any) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, limited, tracking)
        except _TooLarge:
            if not started:
                await too_large(scope, receive, send)


class ServerErrors:
    """ASGI middleware: anything unexpected is a bare 500 ``{"detail": "internal server
    error"}``, and one log line with the exception's type and the escaped path; no
    traceback reaches the client or the log (a message may quote what a client sent)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(msg: Any) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            from matcher.service.checks import escape

            log.error("internal error on %s %s: %s", scope.get("method"), escape(scope.get("path", ""), 200),
                      type(exc).__name__)
            if not started:
                await JSONResponse({"detail": "internal server error"}, status_code=500)(scope, receive, send)



class ConnectionRequests:
    """ASGI middleware: a keep-alive connection serves at most ``limit`` requests; the
    response to the last says ``Connection: close`` (what nginx's ``keepalive_requests``
    does), and the client opens a new connection.

    With several server processes on one listening socket, a burst of connections (a
    page opening, a proxy filling its pool) lands mostly on whichever process woke
    first, and keep-alive keeps it there: 7 of 8 clients on one of two processes was
    common under load (``benchmarks/README.md``). A new connection is accepted by the
    process that is free first, so connections drift to the one with less to do.

    Connections are told apart by the client's address and port (``scope["client"]``);
    the counts of the last ``memory`` connections are kept.
    """

    def __init__(self, app: Any, limit: int, memory: int = 4096) -> None:
        self.app, self.limit, self.memory = app, limit, memory
        self._served: OrderedDict[tuple[Any, ...], int] = OrderedDict()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        client = scope.get("client") if scope["type"] == "http" else None
        if not client:
            await self.app(scope, receive, send)
            return
        key = tuple(client)
        n = self._served.pop(key, 0) + 1
        if n < self.limit:
            self._served[key] = n
            if len(self._served) > self.memory:
                self._served.popitem(last=False)
            await self.app(scope, receive, send)
            return

        async def closing(msg: Any) -> None:
            if msg["type"] == "http.response.start":
                msg = {**msg, "headers": [*msg.get("headers", ()), (b"connection", b"close")]}
            await send(msg)

        await self.app(scope, receive, closing)
