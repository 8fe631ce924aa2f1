"""Faults and concurrency: SIGKILL during a stream of upserts, readers during writes."""

import threading
import time

import pytest

from tests.service.conftest import AUTH, start_server

httpx = pytest.importorskip("httpx")


def listing(k: int, version: int = 0) -> dict:
    # three fields that move together: a half-applied write would break the relation
    return {"listing_id": f"K{k:05d}", "area_m2": str(1000 + version), "rent": str(version % 20 + 10),
            "owner": f"v{version}", "town": "周巷镇", "deal": "出租"}


def test_acknowledged_upserts_survive_sigkill(tmp_path):
    db = tmp_path / "kill.db"
    s = start_server(db)
    acked: list[str] = []
    stop = threading.Event()

    def stream():
        with s.client() as c:
            k = 0
            while not stop.is_set():
                batch = [listing(k), listing(k + 1)]
                try:
                    r = c.put("/v1/listings", json=batch, headers=AUTH)
                except httpx.HTTPError:
                    return  # the server died mid-request: not acknowledged
                if r.status_code == 200:
                    acked.extend(r.json()["accepted"])
                k += 2

    t = threading.Thread(target=stream)
    t.start()
    time.sleep(2.0)
    s.kill()  # SIGKILL while upserts are streaming in
    stop.set()
    t.join(30)
    assert len(acked) > 10, "the stream made too little progress to test anything"
    again = start_server(db)
    try:
        with again.client() as c:
            assert c.get("/healthz").json()["listings"] >= len(acked)
            for rid in acked[:: max(1, len(acked) // 50)] + acked[-4:]:
                assert c.get(f"/v1/listings/{rid}").status_code == 200, rid
    finally:
        again.stop()


def test_readers_see_a_record_before_or_after_an_upsert_never_half(server):
    with server.client() as c:
        assert c.put("/v1/listings", json=[listing(0, 0)], headers=AUTH).status_code == 200
        c.put("/v1/demands", json=[{"demand_id": "R1", "area_min_m2": "900", "area_max_m2": "1200",
                                    "towns": "周巷镇", "deal": "租"}], headers=AUTH)
    stop = threading.Event()
    seen: list[tuple] = []
    errors: list[str] = []

    def read():
        with server.client() as c:
            while not stop.is_set():
                r = c.get("/v1/listings/K00000")
                if r.status_code != 200:
                    errors.append(f"get {r.status_code}")
                    continue
                g = r.json()
                seen.append((g["area_m2"], g["rent"], g["owner"]))
                rec = c.get("/v1/demands/R1/recommendations")
                if rec.status_code != 200:
                    errors.append(f"recommendations {rec.status_code}")

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    with server.client() as c:
        for v in range(1, 60):
            batch = [listing(0, v)] + [listing(k, v) for k in range(1, 20)]
            assert c.put("/v1/listings", json=batch, headers=AUTH).status_code == 200
    stop.set()
    for t in readers:
        t.join(30)
    assert not errors, errors[:5]
    assert len(seen) > 20
    for area, rent, owner in seen:
        v = int(owner[1:])
        assert area == 1000 + v and rent == v % 20 + 10, (area, rent, owner)
    assert len({owner for _, _, owner in seen}) > 3  # the readers did overlap the writes


def test_several_server_processes_see_each_others_writes(tmp_path):
    """``--workers 2``: a write acknowledged by one process is what the other serves."""
    s = start_server(tmp_path / "two.db", "--workers", "2")
    try:
        pids = set()
        for _ in range(200):  # fresh connections, until both processes have answered
            with s.client() as c:
                pids.add(c.get("/healthz").json()["process"])
            if len(pids) == 2:
                break
        assert len(pids) == 2
        c_demand = {"demand_id": "M1", "area_min_m2": "900", "area_max_m2": "1300", "towns": "周巷镇", "deal": "租"}
        for v in range(1, 6):
            with s.client() as w:
                assert w.put("/v1/listings", json=[listing(0, v)], headers=AUTH).status_code == 200
                if v == 1:
                    assert w.put("/v1/demands", json=[c_demand], headers=AUTH).status_code == 200
            for _ in range(12):  # new connections land on either process
                with s.client() as r:
                    g = r.get("/v1/listings/K00000").json()
                    assert g["owner"] == f"v{v}" and g["area_m2"] == 1000 + v
                    rec = r.get("/v1/demands/M1/recommendations").json()["recommendations"]
                    assert [x["id"] for x in rec] == ["K00000"]
        with s.client() as w:
            assert w.delete("/v1/listings/K00000", headers=AUTH).status_code == 204
        for _ in range(12):
            with s.client() as r:
                assert r.get("/v1/listings/K00000").status_code == 404
                assert r.get("/v1/demands/M1/recommendations").json()["recommendations"] == []
    finally:
        s.stop()
