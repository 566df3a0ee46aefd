"""Prometheus metrics: counters by route template and status, latency, cache, pool, writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from api.metrics import write_harvest_metrics
from oparl.ingest.harvest import Summary
from tests.factories import make_body, make_paper
from tests.ops.conftest import MakeClient

LOCAL = ("127.0.0.1", 5000)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    assert answer.headers["cache-control"] == "no-store"
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def test_requests_count_by_route_template_not_raw_path(make_client: MakeClient, session: Session) -> None:
    client = make_client(client=LOCAL)
    paper = make_paper(session, make_body(session))
    session.flush()
    route, labels = "/oparl/v1.1/paper/{object_id}", {"method": "GET"}
    before = sample("oparl_http_requests_total", route=route, status="200", **labels)
    missing = sample("oparl_http_requests_total", route=route, status="404", **labels)
    unmatched = sample("oparl_http_requests_total", route="unmatched", status="404", **labels)
    timed = sample("oparl_http_request_duration_seconds_count", route=route)
    assert client.get(f"/oparl/v1.1/paper/{paper.id}").status_code == 200
    assert client.get("/oparl/v1.1/paper/987654321").status_code == 404
    assert client.get("/no/such/thing/at/all").status_code == 404
    samples = scrape(client)
    key = (("method", "GET"), ("route", route), ("status", "200"))
    assert samples["oparl_http_requests_total", key] == before + 1
    assert sample("oparl_http_requests_total", route=route, status="404", **labels) == missing + 1
    assert sample("oparl_http_requests_total", route="unmatched", status="404", **labels) == unmatched + 1
    assert sample("oparl_http_request_duration_seconds_count", route=route) == timed + 2
    assert ("oparl_http_request_duration_seconds_bucket", (("le", "0.1"), ("route", route))) in samples
    assert not any(f"/paper/{paper.id}" in dict(labels).get("route", "") for _, labels in samples)


def test_answer_cache_hits_and_misses(make_client: MakeClient, session: Session) -> None:
    client = make_client(client=LOCAL)
    paper = make_paper(session, make_body(session))
    session.flush()
    hits, misses = sample("oparl_answer_cache_total", result="hit"), sample("oparl_answer_cache_total", result="miss")
    for _ in range(3):
        assert client.get(f"/oparl/v1.1/paper/{paper.id}").status_code == 200
    assert sample("oparl_answer_cache_total", result="hit") == hits + 2
    assert sample("oparl_answer_cache_total", result="miss") == misses
    # the cached answer counts under its route too, though it never reached routing
    route = "/oparl/v1.1/paper/{object_id}"
    assert sample("oparl_http_requests_total", route=route, method="GET", status="200") >= 3


def test_database_pool_gauges(make_client: MakeClient) -> None:
    samples = scrape(make_client(client=LOCAL))
    assert samples["oparl_db_pool_size", ()] >= 1
    assert ("oparl_db_pool_checked_out", ()) in samples


def test_writes_count_by_type_and_status(make_client: MakeClient, tokens: dict[str, str]) -> None:
    client = make_client(client=LOCAL)
    writer = {"Authorization": tokens["writer"]}
    before = sample("oparl_writes_total", type="Paper", method="PUT", status="422")
    unknown = sample("oparl_writes_total", type="other", method="PUT", status="404")
    assert client.put("/write/v1/nonsense/P-1", json={}, headers=writer).status_code == 404
    assert client.put("/write/v1/paper/P-1", json={"body": "nowhere"}, headers=writer).status_code == 422
    assert sample("oparl_writes_total", type="Paper", method="PUT", status="422") == before + 1
    assert sample("oparl_writes_total", type="other", method="PUT", status="404") == unknown + 1


def test_metrics_answer_only_allowed_addresses(make_client: MakeClient) -> None:
    refused = make_client(client=("203.0.113.7", 1)).get("/metrics")
    assert refused.status_code == 403
    assert refused.json()["type"] == "https://schema.oparl.org/1.1/Error"
    opened = make_client(client=("203.0.113.7", 1), metrics_allow=["0.0.0.0/0", "::/0"])
    assert opened.get("/metrics").status_code == 200
    closed = make_client(client=LOCAL, metrics_allow=[])
    assert closed.get("/metrics").status_code == 403


def test_a_proxied_request_is_judged_by_its_client_not_the_proxy(make_client: MakeClient) -> None:
    client = make_client(client=LOCAL, trusted_proxies=["127.0.0.1"])
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403
    assert client.get("/metrics").status_code == 200


def test_multiprocess_mode_adds_up_the_workers(tmp_path: Path) -> None:
    """Two processes counting into one PROMETHEUS_MULTIPROC_DIR; a third's /metrics sums them."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = "from api.metrics import REQUESTS; REQUESTS.labels('/x', 'GET', '200').inc({n})"
    for n in (2, 3):
        subprocess.run([sys.executable, "-c", count.format(n=n)], env=env, check=True, cwd=Path.cwd())
    read = (
        "from fastapi.testclient import TestClient; from fastapi import FastAPI; from api import metrics;"
        "from api.settings import Settings; app = FastAPI(); app.state.settings = Settings();"
        "app.include_router(metrics.router);"
        "print(TestClient(app, client=('127.0.0.1', 1)).get('/metrics').text)"
    )
    out = subprocess.run([sys.executable, "-c", read], env=env, check=True, capture_output=True, text=True).stdout
    assert 'oparl_http_requests_total{method="GET",route="/x",status="200"} 5.0' in out


def test_harvest_metrics_file(tmp_path: Path) -> None:
    summary = Summary(pages=3, objects=40)
    summary.created["Paper"] = 7
    summary.quirks["1.0 type URIs"] = 2
    path = tmp_path / "harvest.prom"
    write_harvest_metrics(path, summary, 12.5)
    text = path.read_text()
    assert 'oparl_harvest_objects{change="created",type="Paper"} 7.0' in text
    assert 'oparl_harvest_quirks{quirk="1.0 type URIs"} 2.0' in text
    assert "oparl_harvest_pages 3.0" in text
    assert "oparl_harvest_usable 1.0" in text
    assert "oparl_harvest_duration_seconds 12.5" in text
