"""The JavaScript side of the test suite: npm, graphql-codegen, tsc, a live server, Chromium.

The npm project is graphql_schema/codegen/ (exact versions in package.json and
package-lock.json). Its output (generated/, dist/, node_modules/) is not committed.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "graphql_schema" / "schema.graphql"
OPERATIONS = ROOT / "graphql_schema" / "operations"
CODEGEN = ROOT / "graphql_schema" / "codegen"
ARTIFACTS = ROOT / "test-artifacts"
# What the npm project needs besides node_modules/ (copied for the breaking-change check).
PROJECT_FILES = ("package.json", "codegen.ts", "tsconfig.json", "src")


def run(
    args: Sequence[str], cwd: Path, *, timeout: float = 180, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs a command, capturing its output (never raises on a non-zero exit)."""
    return subprocess.run(
        list(args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"$ {' '.join(result.args)}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def require(result: subprocess.CompletedProcess[str], what: str) -> str:
    """The command's stdout; fails the test with its whole output when it failed."""
    if result.returncode != 0:
        pytest.fail(f"{what} failed (exit {result.returncode}):\n{output(result)}", pytrace=False)
    return result.stdout


@functools.cache
def npm_install() -> Path:
    """node_modules/ of the npm project, installed with `npm ci` when missing or stale."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail(
            "node and npm are needed for the frontend checks (Node 20+): "
            "install them (e.g. `apt-get install nodejs npm`) and run the tests again.",
            pytrace=False,
        )
    marker = CODEGEN / "node_modules" / ".package-lock.json"
    lock = CODEGEN / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        require(
            run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], CODEGEN, timeout=600),
            "npm ci in graphql_schema/codegen",
        )
    return CODEGEN / "node_modules"


def bin_path(name: str) -> str:
    return str(npm_install() / ".bin" / name)


def codegen(project: Path = CODEGEN) -> subprocess.CompletedProcess[str]:
    """graphql-codegen over ../schema.graphql and ../operations, into project/generated/."""
    shutil.rmtree(project / "generated", ignore_errors=True)
    return run([bin_path("graphql-codegen"), "--config", "codegen.ts"], project)


def tsc(project: Path = CODEGEN, *, emit: bool = False) -> subprocess.CompletedProcess[str]:
    """tsc over generated/ and src/ (with emit: compiled to project/dist/)."""
    if emit:
        shutil.rmtree(project / "dist", ignore_errors=True)
    return run([bin_path("tsc"), "-p", "tsconfig.json", *([] if emit else ["--noEmit"])], project)


@functools.cache
def generated() -> Path:
    """graphql_schema/codegen/generated/ from the committed SDL, once per test session."""
    require(codegen(), "graphql-codegen")
    return CODEGEN / "generated"


@functools.cache
def compiled() -> Path:
    """The TypeScript sources compiled to graphql_schema/codegen/dist/, once per session."""
    generated()
    require(tsc(emit=True), "tsc")
    return CODEGEN / "dist"


def copy_project(dest: Path, schema_sdl: str) -> Path:
    """A copy of the schema, the operations and the npm project (node_modules linked) in dest."""
    (dest / "schema.graphql").write_text(schema_sdl, encoding="utf-8")
    shutil.copytree(OPERATIONS, dest / "operations")
    project = dest / "codegen"
    project.mkdir()
    for name in PROJECT_FILES:
        source = CODEGEN / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            shutil.copy2(source, project / name)
    (project / "node_modules").symlink_to(npm_install(), target_is_directory=True)
    return project


def node(script: Path, config: dict[str, Any], *, timeout: float = 120) -> dict[str, Any]:
    """Runs a Node script with one JSON argument; its last stdout line is a JSON report."""
    result = run(["node", str(script), json.dumps(config)], CODEGEN, timeout=timeout)
    lines = result.stdout.strip().splitlines()
    try:
        report: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        report = {}
    if result.returncode != 0 or not report:
        pytest.fail(f"{script.name} failed (exit {result.returncode}):\n{output(result)}")
    return report


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(database_url: str, **settings: str) -> Iterator[str]:
    """A uvicorn process serving the app with these settings; yields the /graphql URL."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "RATE_LIMIT": "100000", **settings}
    env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    url = f"http://127.0.0.1:{port}/graphql"
    with (
        tempfile.TemporaryFile(mode="w+") as log,
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) as proc,
    ):
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"the server exited with {proc.returncode}:\n{log.read()}")
                try:
                    httpx.get(url, timeout=0.5)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        pytest.fail("the server did not start within 30 s")
                    time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@functools.cache
def chromium() -> str:
    """The Chromium binary; scripts/ensure-browser installs Debian's package when missing."""
    result = run([str(ROOT / "scripts" / "ensure-browser")], ROOT, timeout=900)
    return require(result, "scripts/ensure-browser").strip().splitlines()[-1]
