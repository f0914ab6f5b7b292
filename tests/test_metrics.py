"""GET /metrics (contract §8, app/metrics.py).

A real Prometheus server (Debian's package; scripts/ensure-prometheus installs it when
missing) scrapes `serve --workers 2` and its HTTP API must count every request that either
worker answered. In-process: off means 404; labels stay in their fixed sets whatever the
request sends, and no value of a request appears in the exposition.
"""

from __future__ import annotations

import asyncio
import functools
import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.main import create_app
from tests.factories import Factory
from tests.frontend_tools import ROOT, free_port
from tests.gateway_process import gateway

PAGE = "query Page { attendees(first: 2) { nodes { id } } }"
BY_ID = "query ById($id: ID!) { node(id: $id) { id } }"
CREATE = "mutation Add($input: CreatePatientInput!) { createPatient(input: $input) { clientMutationId } }"
ALLOWED = {
    "kind": {"query", "mutation", "other"},
    "path": {"planned", "standard"},
    "pool": {"read", "write"},
}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include these."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


@asynccontextmanager
async def metrics_app(database_url: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(Settings(database_url=database_url, metrics=True, **settings))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as client,
    ):
        yield client


async def scrape(client: httpx.AsyncClient) -> tuple[str, Samples]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text, parse(response.text)


async def test_metrics_are_404_unless_switched_on(app: Any) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/metrics")).status_code == 404


async def test_labels_are_bounded_and_carry_no_request_value(
    database_url: str, factory: Factory
) -> None:
    tenant = await factory.account()
    secret = f"secret{uuid.uuid4().hex}"
    auth = {"Authorization": f"Bearer {tenant.key}"}
    async with metrics_app(database_url) as client:
        _, before = await scrape(client)
        sent: list[httpx.Response] = []

        async def post(body: Any, headers: dict[str, str] = auth) -> httpx.Response:
            sent.append(await client.post("/graphql", json=body, headers=headers))
            return sent[-1]

        assert (await post({"query": PAGE})).status_code == 200
        by_id = {"query": BY_ID, "variables": {"id": secret}, "operationName": "ById"}
        assert (await post(by_id)).status_code == 200
        person = {"firstName": secret, "lastName": secret}
        created = await post({"query": CREATE, "variables": {"input": person}})
        assert created.status_code == 200 and "errors" not in created.json(), created.text
        renamed = PAGE.replace("Page", f"Op{secret}")
        assert (await post({"query": renamed, "operationName": f"Op{secret}"})).status_code == 200
        assert (
            await post({"query": PAGE}, {"Authorization": f"Bearer {secret}"})
        ).status_code == 401
        assert (await post({"query": "{"})).status_code == 200  # a syntax error
        assert (await post({"query": "subscription S { x }"})).status_code == 200
        text, after = await scrape(client)

        def delta(name: str, **labels: str) -> float:
            return total(after, name, **labels) - total(before, name, **labels)

        assert secret not in text and tenant.key not in text
        assert delta("gateway_requests_total", kind="query", status="200") == 3
        assert delta("gateway_requests_total", kind="mutation", status="200") == 1
        assert delta("gateway_requests_total", kind="other", status="401") == 1
        assert delta("gateway_requests_total", kind="other", status="200") == 2
        assert delta("gateway_request_duration_seconds_count") == len(sent)
        statements = sum(int(r.headers["x-sql-statements"]) for r in sent)
        assert delta("gateway_sql_statements_per_request_sum") == statements
        assert delta("gateway_executions_total") == 4  # the operations that were found
        assert delta("gateway_executions_total", path="planned") >= 2  # the pages
        assert delta("gateway_executions_total", path="standard") >= 2  # node, the mutation
        # Every connection went back to its pool.
        assert total(after, "gateway_db_pool_checked_out", pool="read") == 0
        assert total(after, "gateway_db_pool_checked_out", pool="write") == 0
        for _, labels in after:
            for label, value in labels:
                if label in ALLOWED:
                    assert value in ALLOWED[label], (label, value)
                elif label == "status":
                    assert value in {"200", "400", "401", "405", "408", "413", "429", "500", "503"}
                else:
                    assert label in {"le"}, label

        # Another fresh operation name adds no series.
        other = f"Op{uuid.uuid4().hex}"
        await post({"query": PAGE.replace("Page", other), "operationName": other})
        text, again = await scrape(client)
        assert other not in text
        assert set(again) == set(after)


async def test_rate_limit_refusals_are_counted(database_url: str, factory: Factory) -> None:
    tenant = await factory.account()
    auth = {"Authorization": f"Bearer {tenant.key}"}
    async with metrics_app(database_url, rate_limit=1) as client:
        _, before = await scrape(client)
        first = await client.post("/graphql", json={"query": PAGE}, headers=auth)
        second = await client.post("/graphql", json={"query": PAGE}, headers=auth)
        assert (first.status_code, second.status_code) == (200, 429)
        _, after = await scrape(client)
    refused = total(after, "gateway_rate_limited_total") - total(
        before, "gateway_rate_limited_total"
    )
    assert refused == 1
    other_429 = total(after, "gateway_requests_total", kind="other", status="429")
    assert other_429 - total(before, "gateway_requests_total", kind="other", status="429") == 1


# --- A real Prometheus server scraping `serve --workers 2` ------------------------------


@functools.cache
def prometheus_binary() -> str:
    """scripts/ensure-prometheus installs Debian's package when it is missing."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "ensure-prometheus")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"scripts/ensure-prometheus failed:\n{result.stderr}"
    return result.stdout.strip().splitlines()[-1]


@contextmanager
def prometheus(target: str) -> Iterator[str]:
    """A Prometheus server scraping `target`'s /metrics every second; yields its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: gateway\n"
            "    metrics_path: /metrics\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
        )
        command = [
            prometheus_binary(),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp}/data",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        with (
            open(Path(tmp) / "log", "w+") as log,
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT) as proc,
        ):
            try:
                yield f"http://127.0.0.1:{port}"
            except BaseException:
                log.seek(0)
                print("prometheus log:\n" + log.read())
                raise
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()


def query(prometheus_url: str, promql: str) -> list[dict[str, Any]]:
    """An instant query's vector (empty while Prometheus has no sample yet)."""
    try:
        response = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": promql})
    except httpx.TransportError:  # still starting
        return []
    if response.status_code != 200:
        return []
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]["result"]  # type: ignore[no-any-return]


def wait_for(prometheus_url: str, promql: str, expected: float) -> float:
    """Poll `promql` (one value) until it equals `expected`, for at most 60 s."""
    deadline = time.monotonic() + 60
    value = None
    while time.monotonic() < deadline:
        result = query(prometheus_url, promql)
        if result:
            value = float(result[0]["value"][1])
            if value == expected:
                return value
        time.sleep(0.5)
    raise AssertionError(f"{promql} was {value} after 60 s, not {expected}")


def worker_pids(log: str) -> set[int]:
    """The processes that wrote request log lines."""
    return {int(pid) for pid in re.findall(r"\[(\d+)\] method=\w+ path=/graphql", log)}


def ask_on_fresh_connections(url: str, key: str, count: int) -> None:
    """`count` queries, a few at a time, each on a connection of its own (so the
    kernel hands them to either worker)."""

    def one(_: int) -> None:
        with httpx.Client(timeout=30) as client:
            response = client.post(
                url, json={"query": PAGE}, headers={"Authorization": f"Bearer {key}"}
            )
            assert response.status_code == 200, response.text

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(count)))


def multiprocess_directory(pid: int) -> Path:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    found = [v for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    assert found, "a worker of serve runs without PROMETHEUS_MULTIPROC_DIR"
    return Path(found[0].split(b"=", 1)[1].decode())


def scrape_two_workers(database_url: str, key: str) -> None:
    with gateway(database_url, workers=2, METRICS="true") as served:
        sent = 0
        while len(worker_pids(served.log())) < 2 and sent < 400:
            ask_on_fresh_connections(served.url, key, 40)
            sent += 40
        pids = worker_pids(served.log())
        assert len(pids) == 2, f"one worker answered all {sent} requests"
        directory = multiprocess_directory(min(pids))
        assert directory.is_dir() and any(directory.glob("*.db"))

        # Any worker's answer to /metrics counts both workers' requests.
        metrics_url = served.url.removesuffix("/graphql") + "/metrics"
        for _ in range(4):
            with httpx.Client() as client:
                samples = parse(client.get(metrics_url).text)
            assert total(samples, "gateway_requests_total", kind="query", status="200") == sent

        target = metrics_url.removeprefix("http://").removesuffix("/metrics")
        with prometheus(target) as url:
            wait_for(url, 'up{job="gateway"}', 1)
            wait_for(url, "sum(gateway_requests_total)", sent)
            wait_for(url, 'sum(gateway_requests_total{kind="query",status="200"})', sent)
            wait_for(url, "sum(gateway_request_duration_seconds_count)", sent)
            wait_for(url, "sum(gateway_executions_total)", sent)
            assert query(url, 'gateway_db_pool_checked_out{pool="read"}')
    assert not directory.exists(), "serve left its metrics directory behind"


async def test_prometheus_counts_the_requests_of_every_worker(
    database_url: str, factory: Factory
) -> None:
    tenant = await factory.account()
    await asyncio.to_thread(prometheus_binary)
    await asyncio.to_thread(scrape_two_workers, database_url, tenant.key)


def serve_and_stop(database_url: str, tmp: Path) -> Path:
    with gateway(database_url, METRICS="true", TMPDIR=str(tmp)) as served:
        metrics_url = served.url.removesuffix("/graphql") + "/metrics"
        assert httpx.get(metrics_url).status_code == 200
        (directory,) = tmp.glob("attendee-gateway-metrics-*")
        assert any(directory.glob("*.db"))
    return directory  # gateway() has stopped serve with SIGTERM


async def test_a_single_serve_process_removes_its_directory_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    # uvicorn ends a single process by raising SIGTERM again after shutting down, so this
    # is not atexit's work (the two-worker test above covers the supervisor's exit).
    directory = await asyncio.to_thread(serve_and_stop, database_url, tmp_path)
    assert not directory.exists()
