"""
Interactive terminals over WebSocket (``/ws/terminal/{id}``): ``AsyncTerminal`` on ``websockets``
(Debian's python3-websockets), and ``Terminal``, the blocking face of the same object, which runs it on
a private event loop thread. A dropped connection re-attaches to the same session; the server replays
the session's recent screen, and what this client already showed is not shown twice.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, AsyncIterator, Coroutine, Iterator, TypeVar

from websockets.exceptions import ConnectionClosed, InvalidStatusCode

from ._core import Connection
from .errors import AgentTierError, TerminalClosedError, error_from_response

T = TypeVar("T")
REPLAY_WINDOW = 64 * 1024
MAX_RECONNECTS = 3
#: The largest frame accepted from the server (its output frames are far smaller).
MAX_FRAME_BYTES = 4 * 1024 * 1024


def replay_overlap(seen: str, data: str) -> int:
    """How much of ``data`` (a replay after re-attaching) the client has already shown."""
    for k in range(min(len(seen), len(data)), 0, -1):
        if seen.endswith(data[:k]):
            return k
    return 0


class AsyncTerminal:
    """
    ``async with sandbox.terminal() as term:`` then ``await term.send("ls\\n")``,
    ``await term.read_until("$ ")``, ``async for text in term``. ``end`` holds the server's close frame
    (``reason``, ``exitCode``) once the session is over.
    """

    def __init__(self, conn: Connection, sandbox: str, namespace: str, session: str, cols: int, rows: int) -> None:
        from urllib.parse import quote

        self._conn = conn
        self._path = f"/ws/terminal/{quote(sandbox, safe='')}"
        self._params = {"namespace": namespace, "session": session, "cols": cols, "rows": rows}
        self._ws: Any = None
        self._seen = ""
        self._buffer = ""
        self._trim_replay = False
        self.end: dict[str, Any] | None = None

    async def __aenter__(self) -> AsyncTerminal:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        import websockets

        url = self._conn.websocket_url(self._path, self._params)
        try:
            self._ws = await websockets.connect(  # type: ignore[attr-defined]
                url, extra_headers=self._conn.current_headers(), max_size=MAX_FRAME_BYTES, open_timeout=self._conn.timeout
            )
        except InvalidStatusCode as err:
            raise error_from_response(err.status_code, err.headers, None, f"terminal refused: HTTP {err.status_code}")
        except (OSError, asyncio.TimeoutError) as err:
            raise TerminalClosedError(f"cannot open the terminal at {url}: {err}") from err

    async def send(self, data: str) -> None:
        """Keystrokes (``"\\r"`` or ``"\\n"`` ends a line)."""
        await self._send({"type": "input", "data": data})

    async def resize(self, cols: int, rows: int) -> None:
        self._params.update(cols=cols, rows=rows)
        await self._send({"type": "resize", "cols": cols, "rows": rows})

    async def _send(self, frame: dict[str, Any]) -> None:
        if self.end is not None:
            raise TerminalClosedError(f"the terminal session ended ({self.end.get('reason')})", reason=str(self.end.get("reason")))
        if self._ws is None:
            raise AgentTierError("the terminal is not connected (use it in `async with`)")
        try:
            await self._ws.send(json.dumps(frame))
        except ConnectionClosed:
            await self._reconnect("connection closed while sending")
            await self._ws.send(json.dumps(frame))

    async def read(self) -> str | None:
        """The next output, or None when the session is over (``end`` says why)."""
        if self._buffer:
            out, self._buffer = self._buffer, ""
            return out
        while self.end is None:
            try:
                raw = await self._ws.recv()
            except ConnectionClosed as closed:
                if self.end is not None:
                    break
                await self._reconnect(f"connection closed (code {closed.code})")
                continue
            if not isinstance(raw, str):
                continue
            try:
                frame = json.loads(raw)
            except ValueError:
                continue  # not a frame of the protocol
            kind = frame.get("type") if isinstance(frame, dict) else None
            if kind == "output":
                data = frame.get("data") if isinstance(frame.get("data"), str) else ""
                if self._trim_replay:
                    # The first output after a re-attach is the session's replay: skip what was shown.
                    self._trim_replay = False
                    data = data[replay_overlap(self._seen[-8192:], data) :]
                if data:
                    self._seen = (self._seen + data)[-REPLAY_WINDOW:]
                    return str(data)
            elif kind == "close":
                self.end = {k: v for k, v in frame.items() if k != "type"}
            elif kind == "error":
                raise AgentTierError(f"terminal error: {frame.get('message', '')}", code="TERMINAL_ERROR")
        return None

    async def read_until(self, text: str, timeout: float = 30.0) -> str:
        """Output up to and including ``text``; ``TimeoutError`` after ``timeout`` s, ``TerminalClosedError`` at the end."""
        got = ""

        async def collect() -> str:
            nonlocal got
            while text not in got:
                chunk = await self.read()
                if chunk is None:
                    raise TerminalClosedError(
                        f"the session ended before {text!r} appeared ({(self.end or {}).get('reason')})",
                        reason=str((self.end or {}).get("reason", "session_ended")),
                    )
                got += chunk
            cut = got.index(text) + len(text)
            self._buffer = got[cut:] + self._buffer
            return got[:cut]

        return await asyncio.wait_for(collect(), timeout)

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        chunk = await self.read()
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def _reconnect(self, why: str) -> None:
        last: Exception | None = None
        for attempt in range(MAX_RECONNECTS):
            await asyncio.sleep(0.2 * 2**attempt)
            try:
                await self.connect()
                self._trim_replay = True
                return
            except AgentTierError as err:
                last = err
        self.end = {"reason": "connection_lost", "message": why}
        raise TerminalClosedError(f"terminal connection lost: {why} ({last})")

    async def close(self) -> None:
        """Detaches (the session keeps running in the sandbox; reconnect with the same ``session``)."""
        if self._ws is not None:
            await self._ws.close(1000, "detached")
            self._ws = None


class Terminal:
    """The blocking terminal: ``with sandbox.terminal() as term:``; methods as ``AsyncTerminal``."""

    def __init__(self, conn: Connection, sandbox: str, namespace: str, session: str, cols: int, rows: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="agenttier-terminal", daemon=True)
        self._thread.start()
        self._async = AsyncTerminal(conn, sandbox, namespace, session, cols, rows)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @property
    def end(self) -> dict[str, Any] | None:
        return self._async.end

    def __enter__(self) -> Terminal:
        try:
            self._run(self._async.connect())
        except BaseException:
            self._stop_loop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: str) -> None:
        self._run(self._async.send(data))

    def resize(self, cols: int, rows: int) -> None:
        self._run(self._async.resize(cols, rows))

    def read(self) -> str | None:
        return self._run(self._async.read())

    def read_until(self, text: str, timeout: float = 30.0) -> str:
        return self._run(self._async.read_until(text, timeout))

    def __iter__(self) -> Iterator[str]:
        while (chunk := self.read()) is not None:
            yield chunk

    def close(self) -> None:
        if self._loop.is_running():
            try:
                self._run(self._async.close())
            finally:
                self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
