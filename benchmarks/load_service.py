"""Bounded load test of ``changfang serve`` on the loopback interface (issues #6 and 14).

Starts the real command (``python -m matcher serve --workers W``) on a generated
``size`` × ``size`` market, then runs ``--clients`` concurrent clients, each making
``--requests`` requests one after another on its own keep-alive connection, and
reports latency percentiles:

* baseline: ``GET /healthz`` (the HTTP stack alone, same clients, same run);
* ``GET /v1/demands/{id}/recommendations?k=K`` for demand ids drawn at random (seeded),
  every response with its explanations;
* as many such requests (other demands) from one client alone: no queue, the time one
  request takes the server.

The market reaches the server one of two ways (``--load``):

* ``api``: ``PUT /v1/listings`` and ``PUT /v1/demands`` in bodies of 2,000 records, as
  the portal writes (a county: 10k × 10k);
* ``file``: both sides written as JSON Lines and stored by ``changfang serve --load``
  before the server processes start (a province: 100k × 100k, where 100 PUTs of 2,000
  records, each replayed by the other process, would mostly measure the loading).

Before measuring, every server process must have answered ``/healthz`` with the whole
market (so that no measured request replays a write or reads the database back), and
each client makes a few unmeasured requests. Usage::

    python benchmarks/load_service.py --size 10000 --clients 8 --requests 250 --workers 2
    python benchmarks/load_service.py --size 100000 --load file --clients 8 --requests 250 --workers 2

Prints one JSON object (``--log FILE`` keeps the server's log). Nothing leaves
127.0.0.1; the server and its database are removed at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

API_CHUNK = 2000
"""Records per ``PUT`` body when the market goes through the API."""

WARMUP = 5
"""Unmeasured requests per client before each measured phase."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms if ms else [np.nan])
    return {"n": len(ms), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p90_ms": round(float(np.percentile(a, 90)), 2), "p99_ms": round(float(np.percentile(a, 99)), 2),
            "mean_ms": round(float(a.mean()), 2), "max_ms": round(float(a.max()), 2)}


def _hammer(port: int, paths: list[list[str]],
            warmup: list[list[str]]) -> tuple[list[float], float, int, float, dict[int, int]]:
    """Each client walks its list of paths on its own keep-alive connection (stdlib
    ``http.client``: the lightest client, so that the figures are the server's), after
    ``/healthz`` and its ``warmup`` paths (not measured). Returns latencies (ms), wall
    seconds, errors (a status other than 200, or a connection lost: the client
    reconnects), the clients' CPU seconds, and how many connections each server
    process holds (a process with more clients queues more requests)."""
    lat: list[list[float]] = [[] for _ in paths]
    errors = [0] * len(paths)
    where: list[int] = [0] * len(paths)
    start = threading.Barrier(len(paths) + 1)

    def get(conn: http.client.HTTPConnection, path: str) -> int:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        return r.status

    def client(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.request("GET", "/healthz")
            where[c] = int(json.loads(conn.getresponse().read())["process"])
            for p in warmup[c]:
                get(conn, p)
        finally:
            start.wait()
        for p in paths[c]:
            t0 = time.perf_counter()
            try:
                status = get(conn, p)
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            lat[c].append((time.perf_counter() - t0) * 1000)
            errors[c] += status != 200
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(len(paths))]
    for t in threads:
        t.start()
    start.wait()
    t0, cpu0 = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    per_process: dict[int, int] = {}
    for pid in where:
        per_process[pid] = per_process.get(pid, 0) + 1
    return [x for lst in lat for x in lst], wall, sum(errors), cpu, per_process


def _children(pid: int) -> list[int]:
    """Child processes (uvicorn's workers), from ``/proc`` (empty elsewhere)."""
    out = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


class _Cpu:
    """CPU seconds some processes used since the last call (Linux ``/proc``; 0 elsewhere)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.last = self._now()

    def _each(self) -> dict[int, float]:
        out = {}
        for pid in self.pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                continue
        return out

    def _now(self) -> float:
        self.last_each = self._each()
        return sum(self.last_each.values())

    def used(self) -> float:
        before = self.last_each
        now = self._now()
        self.split = sorted((round(v - before.get(pid, 0.0), 2) for pid, v in self.last_each.items()), reverse=True)
        out, self.last = now - self.last, now
        return out


def _rss_mb(pids: list[int]) -> float:
    """Resident memory of some processes, MB (Linux ``/proc``; 0 elsewhere)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def _wait_ready(port: int, proc: subprocess.Popen[bytes], workers: int, n_listings: int, n_demands: int,
                timeout: float) -> None:
    """Until every server process has answered ``/healthz`` with the whole market (each
    on a new connection, so that the kernel hands them to either process)."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            body = json.loads(r.read()) if r.status == 200 else {}
        except (OSError, http.client.HTTPException, ValueError):
            body = {}
            time.sleep(0.2)
        finally:
            conn.close()
        if body.get("listings") == n_listings and body.get("demands") == n_demands:
            seen.add(int(body["process"]))
            if len(seen) >= workers:
                return
    raise RuntimeError(f"the server did not serve the whole market within {timeout:.0f} s")


def run(size: int = 10_000, clients: int = 8, requests: int = 250, k: int = 10, seed: int = 0, workers: int = 2,
        load: str = "api", log: str | None = None, ready_timeout: float = 900) -> dict[str, Any]:
    """Start a server on a generated ``size`` × ``size`` market and measure; returns the figures.

    Parameters
    ----------
    size : int
        Listings and demands (each).
    clients, requests : int
        Concurrent clients, and the requests each makes per phase.
    k : int
        Listings per recommendation.
    seed : int
        Seed of the market and of the demands asked for.
    workers : int
        Server processes (``changfang serve --workers``).
    load : {"api", "file"}
        How the market reaches the server (the module's docstring).
    log : str, optional
        File that keeps the server's output (default: discarded).
    ready_timeout : float
        Seconds the server may take to serve the whole market, s.
    """
    if load not in ("api", "file"):
        raise ValueError(f"load == {load!r}, must be 'api' or 'file'")
    from matcher import generate_market, write_records

    market = generate_market(size, size, seed=seed)
    n_l, n_d = len(market.listings), len(market.demands)
    with tempfile.TemporaryDirectory() as tmp, open(log or os.devnull, "w", encoding="utf-8") as out:
        port, token = _free_port(), "load-test"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("CHANGFANG_")}, "CHANGFANG_TOKEN": token}
        cmd = [sys.executable, "-m", "matcher", "serve", "--port", str(port), "--db", str(Path(tmp) / "load.db"),
               "--workers", str(workers), *([] if log else ["--quiet"])]
        t0 = time.perf_counter()
        if load == "file":
            files = [str(Path(tmp) / "listings.jsonl"), str(Path(tmp) / "demands.jsonl")]
            write_records(market.listings, files[0])
            write_records(market.demands, files[1])
            cmd += ["--load", *files]
        write_s = time.perf_counter() - t0
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            t0 = time.perf_counter()
            if load == "api":
                _wait_ready(port, proc, 1, 0, 0, ready_timeout)
                _put_market(port, token, market)
            _wait_ready(port, proc, workers, n_l, n_d, ready_timeout)
            load_s = time.perf_counter() - t0
            server_pids = [proc.pid, *_children(proc.pid)]
            rng = np.random.default_rng(seed)
            ids = market.demands.demand_id
            health = [["/healthz"] * requests for _ in range(clients)]
            recs = [[f"/v1/demands/{ids[i]}/recommendations?k={k}" for i in rng.integers(0, n_d, requests)]
                    for _ in range(clients)]
            warm = [[f"/v1/demands/{ids[i]}/recommendations?k={k}" for i in rng.integers(0, n_d, WARMUP)]
                    for _ in range(clients)]
            solo = [[f"/v1/demands/{ids[i]}/recommendations?k={k}" for i in rng.integers(0, n_d, requests)]]
            server = _Cpu(server_pids)
            base_lat, base_wall, base_err, base_cpu, _ = _hammer(port, health, [p[:WARMUP] for p in health])
            base_srv = server.used()
            rec_lat, rec_wall, rec_err, rec_cpu, spread = _hammer(port, recs, warm)
            rec_srv = server.used()
            rec_split = server.split
            one_lat, _, one_err, _, _ = _hammer(port, solo, [[]])  # no queue: the service time
            one_srv = server.used()
            rss = _rss_mb(server_pids)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {
        "market": f"{size} x {size}", "load": load, "clients": clients, "requests_per_client": requests, "k": k,
        "server_processes": workers, "load_seconds": round(load_s, 2), "write_files_seconds": round(write_s, 2),
        "server_rss_mb": rss, "load_avg_1min": round(os.getloadavg()[0], 2),
        "baseline_healthz": {**_percentiles(base_lat), "per_s": round(len(base_lat) / base_wall, 1),
                             "errors": base_err, "server_cpu_ms_per_request": round(base_srv / len(base_lat) * 1000, 3),
                             "client_cpu_ms_per_request": round(base_cpu / len(base_lat) * 1000, 3)},
        "recommendations": {**_percentiles(rec_lat), "per_s": round(len(rec_lat) / rec_wall, 1), "errors": rec_err,
                            "server_cpu_ms_per_request": round(rec_srv / len(rec_lat) * 1000, 3),
                            "client_cpu_ms_per_request": round(rec_cpu / len(rec_lat) * 1000, 3),
                            "clients_per_process": sorted(spread.values(), reverse=True),
                            "cpu_seconds_per_process": rec_split},
        "one_client": {**_percentiles(one_lat), "errors": one_err,
                       "server_cpu_ms_per_request": round(one_srv / len(one_lat) * 1000, 3)},
    }


def _put_market(port: int, token: str, market: Any) -> None:
    """Both sides through ``PUT``, in bodies of :data:`API_CHUNK` records."""
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        for path, recs in (("/v1/listings", market.listings), ("/v1/demands", market.demands)):
            rows = recs.text_rows()
            for a in range(0, len(rows), API_CHUNK):
                conn.request("PUT", path, body=json.dumps(rows[a:a + API_CHUNK]).encode(), headers=auth)
                r = conn.getresponse()
                body = r.read()
                if r.status != 200:
                    raise RuntimeError(f"PUT {path}: {r.status} {body[:200]!r}")
    finally:
        conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--size", type=int, default=10_000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=250, help="per client")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="server processes (changfang serve --workers)")
    p.add_argument("--load", choices=("api", "file"), default="api", help="how the market reaches the server")
    p.add_argument("--log", help="keep the server's output in this file")
    a = p.parse_args()
    print(json.dumps(run(a.size, a.clients, a.requests, a.k, a.seed, a.workers, a.load, a.log), indent=2))


if __name__ == "__main__":
    main()
