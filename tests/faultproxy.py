"""A TCP proxy that breaks the way networks and databases break, for fault tests.

    with FaultProxy("127.0.0.1", 5432) as proxy:   # listens on proxy.port
        proxy.cut()      # reset every open connection and refuse new ones (an outage)
        proxy.stall()    # keep connections open but pass no bytes (a hung database)
        proxy.restore()  # pass bytes again; after cut(), new connections are accepted

It runs its own event loop on a thread, so a test or script can drive it from anywhere,
and it listens on the same port throughout (refusing while cut, by closing the listener).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from typing import Any

CHUNK = 65_536


class FaultProxy:
    """Forwards 127.0.0.1:<port> to `target`, until told to cut or stall."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = _free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self.accepted = 0

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def cut(self) -> None:
        """Refuse new connections and reset the open ones (RST, as a crashed host does)."""
        self._call(self._cut())

    def stall(self) -> None:
        """Accept connections but forward nothing, in either direction."""
        self._call(self._set_flowing(False))

    def restore(self) -> None:
        """Forward again (held bytes go through); listen again after a cut."""
        self._call(self._restore())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _start(self) -> None:
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def _stop(self) -> None:
        await self._cut()

    async def _set_flowing(self, flowing: bool) -> None:
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    async def _restore(self) -> None:
        self._flowing.set()
        if self._server is None:
            await self._listen()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(client_w)
            return
        self._writers.update((client_w, server_w))
        await asyncio.gather(
            self._pipe(client_r, server_w), self._pipe(server_r, client_w), return_exceptions=True
        )
        for writer in (client_w, server_w):
            self._writers.discard(writer)
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(CHUNK):
            await self._flowing.wait()
            if writer not in self._writers:
                return
            writer.write(data)
            await writer.drain()
        writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN (SO_LINGER 0), as a crashed server or a cut link does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
