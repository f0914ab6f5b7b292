"""GraphiQL in a real browser: headless Chromium (Debian's package) driven by playwright-core.

graphql_schema/codegen/browser/graphiql.mjs opens /graphql on a live server with every request
to another host aborted (no CDN). Two pages are driven:

- the demo (`serve --demo-key-file`, what scripts/run starts): a fresh database seeded with
  seed-demo; the page opens with the demo key in its headers and the schema loaded, and the
  first example tab runs to data on Ctrl-Enter alone;
- a page served without the option: it carries no key and says in one calm line where to
  get one and where to paste it; once the key is pasted the schema loads (no reload) and the
  first example tab shows this test's attendees.

Both open the documentation explorer and the GraphiQL Explorer plugin. Screenshots land in
test-artifacts/: graphiql-demo.png, graphiql-no-key.png (the calm line) and graphiql.png
(after the key was pasted) for SQLite; the same with -postgresql for PostgreSQL.
scripts/ensure-browser installs chromium with apt-get when it is missing. `serve` refusing
the demo option off loopback, or with a key that is not the demo's, is checked here too.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.demo import (
    DEMO_ENVIRONMENT,
    is_loopback,
    key_from_environment,
    page_with_key,
    serve_environment,
)
from app.timeutil import utcnow
from tests.conftest import migrated_database
from tests.factories import Factory
from tests.frontend_tools import ARTIFACTS, CODEGEN, ROOT, chromium, free_port, node, npm_install
from tests.gateway_process import gateway

CLI = [sys.executable, "-c", "from app.cli import main; main()"]
# graphiql-explorer (inside the Explorer plugin) logs this when a query has a list of input
# objects (`orderBy: [{...}]`); the plugin still shows and edits the rest of the query.
EXPLORER_LIST_NOTICE = "arg mismatch between arg and selection"


def _backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def _screenshot(name: str, database_url: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    backend = _backend(database_url)
    path = ARTIFACTS / (f"{name}.png" if backend == "sqlite" else f"{name}-{backend}.png")
    path.unlink(missing_ok=True)
    return path


def _cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
async def demo_database_url(database_url: str) -> AsyncIterator[str]:
    """A fresh, migrated, empty database of the same backend (seed-demo needs one)."""
    async with migrated_database(_backend(database_url), "agw_demo") as url:
        yield url


@contextmanager
def demo_server(database_url: str, key_file: Path) -> Iterator[str]:
    """`attendee-gateway serve --demo-key-file` on 127.0.0.1; yields the /graphql URL."""
    demo = ["--host", "127.0.0.1", "--demo-key-file", str(key_file)]
    with gateway(database_url, args=demo) as served:
        yield served.url


def _browse(url: str, screenshot: Path, **config: Any) -> dict[str, Any]:
    report: dict[str, Any] = node(
        CODEGEN / "browser" / "graphiql.mjs",
        {"url": url, "screenshot": str(screenshot), "executablePath": chromium(), **config},
    )
    assert report["ok"] is True, report
    # Every asset came from the gateway itself; nothing was asked of another host.
    assert report["blocked"] == [], report["blocked"]
    assert "/graphiql/graphiql.min.js" in report["requested"]
    assert "/graphiql/plugin-explorer.umd.js" in report["requested"]
    assert "/graphiql/examples.graphql" in report["requested"]
    # The example tabs, the schema's docs and the Explorer plugin.
    assert report["tabs"][:4] == ["TodaysClasses", "SearchPatients", "CheckIn", "CancelAttendance"]
    assert "query TodaysClasses" in report["queryText"]
    assert "Read the clinic's attendees, bookings and patients." in report["docsText"]
    assert "bookings" in report["docsText"]
    assert "bookings" in report["explorerText"].split()
    assert screenshot.stat().st_size > 10_000
    return report


async def test_demo_graphiql_runs_the_example_on_ctrl_enter(demo_database_url: str) -> None:
    await asyncio.to_thread(chromium)
    await asyncio.to_thread(npm_install)
    env = {"DATABASE_URL": demo_database_url}
    seeded = await asyncio.to_thread(_cli, "seed-demo", env=env)
    assert seeded.returncode == 0, seeded.stderr
    key = seeded.stdout.strip().splitlines()[-1]
    screenshot = _screenshot("graphiql-demo", demo_database_url)
    with tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp) / ".demo-api-key"
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
        with demo_server(demo_database_url, key_file) as url:
            report = await asyncio.to_thread(_browse, url, screenshot, reloadWithStaleKey=True)

    # The demo key was in the page, in the headers, and the schema came at the first try.
    assert key in report["html"]
    assert key in report["headersText"]
    assert report["hintBefore"] is None
    assert report["introspectionsBefore"] == [200], report["introspectionsBefore"]
    assert report["consoleErrors"] == [] or all(
        EXPLORER_LIST_NOTICE in e for e in report["consoleErrors"]
    ), report["consoleErrors"]
    # Ctrl-Enter alone ran today's classes (the demo has classes today and the weeks after).
    result = report["result"]
    assert "errors" not in result, result
    classes = result["data"]["bookings"]["nodes"]
    assert classes, result
    assert classes[0]["startsAt"] >= utcnow().strftime("%Y-%m-%dT00:00:00Z")
    assert any(c["attendees"]["nodes"] for c in classes), classes
    # Reopened after the demo database was reset: the stored tabs get the current key, and
    # no tab is added.
    after = report["afterReload"]
    assert after["tabs"] == report["tabs"]
    assert not after["stale"]
    assert key in after["editors"][1]


async def test_graphiql_without_a_key_says_where_to_paste_it(
    database_url: str, live_server: str, factory: Factory
) -> None:
    await asyncio.to_thread(chromium)
    await asyncio.to_thread(npm_install)
    tenant = await factory.account("Browser Clinic")
    group = await factory.group(
        tenant, starts_at=utcnow().replace(microsecond=0) + timedelta(days=1)
    )
    for first, last in [("Wilhelmina", "Graphiqlson"), ("Octavia", "Browserly")]:
        patient = await factory.patient(tenant, first_name=first, last_name=last)
        await factory.attendee(tenant, group, patient)

    screenshot = _screenshot("graphiql", database_url)
    first_sight = _screenshot("graphiql-no-key", database_url)
    report = await asyncio.to_thread(
        _browse,
        live_server + "/graphql",
        screenshot,
        key=tenant.key,
        expect="Wilhelmina",
        hintScreenshot=str(first_sight),
    )
    assert first_sight.stat().st_size > 10_000

    # Served without the demo option: no key at all in the page.
    assert tenant.key not in report["html"]
    assert '<script id="gateway-config" type="application/json">{}</script>' in report["html"]
    assert "agw_" not in report["html"]
    # One calm line instead of a red error; no schema request until there was a key.
    hint = report["hintBefore"]
    assert hint is not None and "\n" not in hint.strip(), hint
    assert "attendee-gateway create-api-key --account ID" in hint
    assert "Headers tab" in hint and '{"Authorization": "Bearer <key>"}' in hint
    assert report["resultBefore"] == ""
    assert report["introspectionsBefore"] == []
    # Pasting the key loaded the schema without a reload: one introspection, answered.
    assert report["introspections"] == [200], report["introspections"]
    assert report["navigations"] == 1
    assert all(EXPLORER_LIST_NOTICE in e for e in report["consoleErrors"]), report["consoleErrors"]
    assert tenant.key in report["headersText"]
    result = report["result"]
    assert "errors" not in result, result
    assert report["showsExpected"], "the result pane does not show Wilhelmina"
    (booking,) = result["data"]["bookings"]["nodes"]
    attendees = booking["attendees"]
    assert attendees["totalCount"] == 2
    assert {a["patient"]["firstName"] for a in attendees["nodes"]} == {"Wilhelmina", "Octavia"}


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com"])
def test_serve_refuses_the_demo_key_off_loopback(host: str, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("agw_whatever\n")
    result = _cli(
        "serve", "--host", host, "--port", str(free_port()), "--demo-key-file", str(key_file),
        env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/none.db"},
        timeout=30,
    )  # fmt: skip
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "attendee-gateway: error: --demo-key-file puts the demo API key into the GraphiQL "
        f"page, so serve refuses it on {host}: use it only on 127.0.0.1, ::1 or localhost"
    ], result.stderr
    assert "agw_whatever" not in result.stderr + result.stdout


async def test_serve_refuses_a_key_that_is_not_the_demo_key(
    database_url: str, factory: Factory, tmp_path: Path
) -> None:
    tenant = await factory.account("Not The Demo")
    key_file = tmp_path / "key"
    key_file.write_text(tenant.key)
    result = await asyncio.to_thread(
        _cli,
        "serve", "--host", "127.0.0.1", "--port", str(free_port()),
        "--demo-key-file", str(key_file),
        env={"DATABASE_URL": database_url},
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines() == [
        f"attendee-gateway: error: --demo-key-file {key_file}: it is not the demo key that "
        "seed-demo made; only that key may go into the page"
    ], result.stderr
    assert tenant.key not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.1", False),
        ("localhost.example.com", False),
        ("", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_page_carries_the_key_only_for_a_loopback_client() -> None:
    from app.main import GRAPHIQL_PAGE

    key = "agw_</script><!--&"
    assert page_with_key(GRAPHIQL_PAGE, None, "127.0.0.1") == GRAPHIQL_PAGE
    assert page_with_key(GRAPHIQL_PAGE, key, "203.0.113.9") == GRAPHIQL_PAGE
    assert page_with_key(GRAPHIQL_PAGE, key, None) == GRAPHIQL_PAGE
    page = page_with_key(GRAPHIQL_PAGE, key, "127.0.0.1")
    # Escaped for a <script> element: the value cannot close it or open a comment.
    assert key not in page
    assert '{"demoKey": "agw_\\u003c/script\\u003e\\u003c!--\\u0026"}' in page
    assert page.count("</script>") == GRAPHIQL_PAGE.count("</script>")


def test_a_process_uses_only_the_key_serve_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("agw_checked\n")
    for name in DEMO_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    assert key_from_environment() is None  # serve without the option
    environment = serve_environment(key_file, "agw_checked")
    assert "agw_checked" not in "".join(environment.values())  # a path and a hash only
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert key_from_environment() == "agw_checked"
    key_file.write_text("agw_another\n")  # changed after serve checked it
    assert key_from_environment() is None
    key_file.unlink()
    assert key_from_environment() is None
    monkeypatch.delenv("ATTENDEE_GATEWAY_DEMO_KEY_SHA256")  # a path without serve's check
    key_file.write_text("agw_checked\n")
    assert key_from_environment() is None
