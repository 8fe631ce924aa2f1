"""Keep-alive connections are recycled (issue 14, point 7): after ``KEEPALIVE_REQUESTS``
requests the server closes a connection, so that with several server processes the
clients' connections spread over them, on the real ``changfang serve``."""

import http.client
import json
from urllib.parse import urlsplit

import pytest

from matcher.service.config import KEEPALIVE_REQUESTS
from tests.service.conftest import start_server

pytest.importorskip("httpx")


def test_a_connection_is_closed_after_its_last_request_and_the_client_goes_on(tmp_path):
    s = start_server(tmp_path / "market.db", "--workers", "2")
    try:
        url = urlsplit(s.url)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        said = []
        for _ in range(2 * KEEPALIVE_REQUESTS + 5):  # http.client reconnects after a close
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            assert r.status == 200 and json.loads(r.read())["status"] == "ok"
            said.append((r.getheader("connection") or "").lower())
        conn.close()
        assert [k + 1 for k, v in enumerate(said) if v == "close"] == [KEEPALIVE_REQUESTS, 2 * KEEPALIVE_REQUESTS]
    finally:
        s.stop()
