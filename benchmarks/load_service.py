"""Bounded load test of ``changfang serve`` on the loopback interface (issue #6).

Loads a generated market through ``PUT /v1/listings`` and ``PUT /v1/demands`` into a
fresh server, then runs ``--clients`` concurrent clients, each making ``--requests``
requests one after another (keep-alive), and reports latency percentiles:

* baseline: ``GET /healthz`` (the HTTP stack alone, same clients, same run);
* ``GET /v1/demands/{id}/recommendations?k=K`` for demand ids drawn at random (seeded),
  every response with its explanations.

Usage::

    python benchmarks/load_service.py --size 10000 --clients 8 --requests 250 --workers 2

Prints one JSON object. Nothing leaves 127.0.0.1; the server and its database are
removed at the end.
"""

from __future__ import annotations

import argparse
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

import numpy as np


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"n": int(a.size), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p90_ms": round(float(np.percentile(a, 90)), 2), "p99_ms": round(float(np.percentile(a, 99)), 2),
            "mean_ms": round(float(a.mean()), 2), "max_ms": round(float(a.max()), 2)}


def _hammer(url: str, paths: list[list[str]]) -> tuple[list[float], float, int]:
    """Each client walks its list of paths on its own keep-alive connection (stdlib
    ``http.client``: the lightest client, so that the figures are the server's);
    latencies in ms, wall seconds, errors."""
    import http.client
    from urllib.parse import urlsplit

    host, port = urlsplit(url).hostname, urlsplit(url).port
    lat: list[list[float]] = [[] for _ in paths]
    errors = [0]
    start = threading.Barrier(len(paths) + 1)

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        conn.request("GET", "/healthz")
        conn.getresponse().read()  # connect first
        start.wait()
        for p in paths[k]:
            t0 = time.perf_counter()
            conn.request("GET", p)
            r = conn.getresponse()
            r.read()
            lat[k].append((time.perf_counter() - t0) * 1000)
            if r.status != 200:
                errors[0] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(paths))]
    for t in threads:
        t.start()
    start.wait()
    t0, cpu0 = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return [x for lst in lat for x in lst], wall, errors[0], cpu


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

    def _now(self) -> float:
        total = 0.0
        for pid in self.pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                continue
        return total

    def used(self) -> float:
        now = self._now()
        out, self.last = now - self.last, now
        return out


def run(size: int = 10_000, clients: int = 8, requests: int = 250, k: int = 10, seed: int = 0,
        workers: int = 2) -> dict:
    """Start a server on a generated ``size`` × ``size`` market and measure; returns the figures."""
    import httpx

    from matcher import generate_market

    market = generate_market(size, size, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        port, token = _free_port(), "load-test"
        env = {**os.environ, "CHANGFANG_TOKEN": token}
        proc = subprocess.Popen([sys.executable, "-m", "matcher", "serve", "--port", str(port), "--quiet",
                                 "--db", str(Path(tmp) / "load.db"), "--workers", str(workers)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            auth = {"Authorization": f"Bearer {token}"}
            t0 = time.perf_counter()
            with httpx.Client(base_url=url, timeout=600) as c:
                for path, recs in (("/v1/listings", market.listings), ("/v1/demands", market.demands)):
                    rows = recs.text_rows()
                    for a in range(0, len(rows), 2000):
                        r = c.put(path, json=rows[a:a + 2000], headers=auth)
                        r.raise_for_status()
            load_s = time.perf_counter() - t0
            rng = np.random.default_rng(seed)
            ids = market.demands.demand_id
            health = [["/healthz"] * requests for _ in range(clients)]
            recs = [[f"/v1/demands/{ids[i]}/recommendations?k={k}" for i in rng.integers(0, len(ids), requests)]
                    for _ in range(clients)]
            server = _Cpu([proc.pid, *_children(proc.pid)])
            base_lat, base_wall, base_err, base_cpu = _hammer(url, health)
            base_srv = server.used()
            rec_lat, rec_wall, rec_err, rec_cpu = _hammer(url, recs)
            rec_srv = server.used()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {
        "market": f"{size} x {size}", "clients": clients, "requests_per_client": requests, "k": k,
        "server_processes": workers,
        "load_seconds": round(load_s, 2),
        "baseline_healthz": {**_percentiles(base_lat), "per_s": round(len(base_lat) / base_wall, 1),
                             "errors": base_err, "server_cpu_ms_per_request": round(base_srv / len(base_lat) * 1000, 3),
                             "client_cpu_ms_per_request": round(base_cpu / len(base_lat) * 1000, 3)},
        "recommendations": {**_percentiles(rec_lat), "per_s": round(len(rec_lat) / rec_wall, 1), "errors": rec_err,
                            "server_cpu_ms_per_request": round(rec_srv / len(rec_lat) * 1000, 3),
                            "client_cpu_ms_per_request": round(rec_cpu / len(rec_lat) * 1000, 3)},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=10_000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=250, help="per client")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="server processes (changfang serve --workers)")
    a = p.parse_args()
    print(json.dumps(run(a.size, a.clients, a.requests, a.k, a.seed, a.workers), indent=2))


if __name__ == "__main__":
    main()
