"""A real ``changfang serve`` on a loopback port, for the service tests."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

TOKEN = "test-token-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    db: Path
    proc: subprocess.Popen
    log: Path

    def client(self, **kw) -> "httpx.Client":
        return httpx.Client(base_url=self.url, timeout=60, **kw)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(db: Path, *extra: str, token: str | None = TOKEN, env: dict[str, str] | None = None) -> Server:
    """Start the real command as a subprocess and wait until it answers /healthz
    (``env``: more environment variables)."""
    port = free_port()
    log = db.with_suffix(f".{port}.log")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CHANGFANG_")}, "PYTHONUNBUFFERED": "1",
           **(env or {})}
    if token is not None:
        env["CHANGFANG_TOKEN"] = token
    with open(log, "w", encoding="utf-8") as fh:  # the server keeps its own copy of the handle
        proc = subprocess.Popen([sys.executable, "-m", "matcher", "serve", "--port", str(port), "--db", str(db),
                                 *extra], stdout=fh, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return Server(url, db, proc, log)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text()}")


@contextlib.contextmanager
def market_server(db: Path, rows_l: list[dict], rows_d: list[dict], *extra: str,
                  env: dict[str, str] | None = None) -> Iterator[tuple[Server, Any, Any]]:
    """A server (``start_server``) holding these listing and demand rows, each accepted,
    and the library's reading of the same rows; stopped afterwards."""
    from matcher import read_demands, read_listings

    s = start_server(db, *extra, env=env)
    try:
        with s.client() as c:
            for path, rows in (("/v1/listings", rows_l), ("/v1/demands", rows_d)):
                r = c.put(path, json=rows, headers=AUTH)
                assert r.status_code == 200 and not r.json()["rejected"], r.text
        yield s, read_listings(rows_l).records, read_demands(rows_d).records
    finally:
        s.stop()


def as_dicts(records) -> list[dict]:
    """Records as the portal would send them: canonical text, one object each."""
    return records.text_rows()


@pytest.fixture
def server(tmp_path):
    s = start_server(tmp_path / "market.db")
    yield s
    s.stop()
