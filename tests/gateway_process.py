"""`attendee-gateway serve` in a process of its own, as operators run it (its logging,
its uvicorn limits, `--workers`), for tests about processes, faults and logs."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from tests.frontend_tools import ROOT, free_port

COMMAND = Path(sys.executable).parent / "attendee-gateway"


@dataclass
class Gateway:
    url: str  # the /graphql URL
    _log: IO[str]
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        """Everything the server wrote so far (stdout and stderr)."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()


@contextmanager
def gateway(
    database_url: str, *, workers: int = 1, args: Sequence[str] = (), **settings: str
) -> Iterator[Gateway]:
    """Serve `database_url` with these settings (environment names) and further `serve`
    arguments until the block ends."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "RATE_LIMIT": "100000", **settings}
    env.pop("REDIS_URL", None)
    command = [str(COMMAND), "serve", "--port", str(port), "--workers", str(workers), *args]
    url = f"http://127.0.0.1:{port}/graphql"
    with (
        tempfile.TemporaryFile(mode="w+") as log,
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) as proc,
    ):
        served = Gateway(url, log, proc)
        try:
            deadline = time.monotonic() + 30
            while served.log().count("Application startup complete") < workers:
                if proc.poll() is not None:
                    pytest.fail(f"the server exited with {proc.returncode}:\n{served.log()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not start within 30 s:\n{served.log()}")
                time.sleep(0.1)
            yield served
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
