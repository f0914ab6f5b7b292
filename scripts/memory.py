"""Does a flood of distinct documents grow a server's memory? Prints its RSS over time.

    scripts/memory --url http://127.0.0.1:8000/graphql --key KEY --pid PID [--seconds 120]

Sends, from 4 clients, documents that are all different (another alias, another page size,
another operation name each time), so every one is parsed, validated and planned anew and
lands in the parse, validation and plan caches, for `--seconds`; every 10 s it prints the
server's resident memory (from /proc/PID/status) and the requests answered. The caches are
bounded, so after the first minute the figure should stay flat.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from pathlib import Path

import httpx


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"memory: no process {pid}")


async def client(url: str, key: str, counter: itertools.count[int], stop: asyncio.Event) -> int:
    sent = 0
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=30, headers=headers) as http:
        while not stop.is_set():
            n = next(counter)
            query = (
                f"query Flood{n} {{ a{n}: attendees(first: {1 + n % 50}) "
                f"{{ nodes {{ id arrived patient {{ firstName }} }} }} }}"
            )
            response = await http.post(url, json={"query": query})
            response.raise_for_status()
            sent += 1
    return sent


async def wait_for_server(url: str) -> None:
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(150):
            try:
                await http.get(url.replace("/graphql", "/healthz"))
                return
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    raise SystemExit(f"memory: nothing answers at {url}")


async def run(args: argparse.Namespace) -> None:
    await wait_for_server(args.url)
    stop = asyncio.Event()
    counter = itertools.count()
    started = time.monotonic()
    clients = [asyncio.create_task(client(args.url, args.key, counter, stop)) for _ in range(4)]
    print(f"{'seconds':>7} {'RSS MiB':>8} {'documents':>9}", flush=True)
    print(f"{0:>7} {rss_mib(args.pid):>8.1f} {0:>9}", flush=True)
    while time.monotonic() - started < args.seconds:
        await asyncio.sleep(10)
        elapsed = time.monotonic() - started
        sent = next(counter)  # the next document's number: how many were sent so far
        print(f"{elapsed:>7.0f} {rss_mib(args.pid):>8.1f} {sent:>9}", flush=True)
    stop.set()
    await asyncio.gather(*clients)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--key", required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server process to watch")
    parser.add_argument("--seconds", type=float, default=120)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
