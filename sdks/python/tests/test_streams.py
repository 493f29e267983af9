"""
Event streams and terminals under bad conditions: chunks split anywhere, truncated streams (a typed
error, never a hang), a dropped invoke connection (re-attached by event id against the real router,
nothing lost or repeated), a dropped terminal WebSocket (re-attached, replay not shown twice).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from agenttier import (
    AgentTierClient,
    AsyncAgentTierClient,
    NotFoundError,
    Sandbox,
    StreamInterruptedError,
    TerminalClosedError,
)
from agenttier._core import SSEDecoder

ECHO_AGENT = Path(__file__).resolve().parents[3] / "examples" / "echo-agent" / "agent.py"


def test_sse_decoder_takes_any_split() -> None:
    wire = "id: 1\r\nevent: log\r\ndata: {\"data\": \"h\u00e9\"}\r\n\r\n: keepalive\n\nid: 2\nevent: exit\ndata: {}\n\n"
    raw = wire.encode()
    for size in (1, 2, 3, 7, len(raw)):
        dec = SSEDecoder()
        events = [ev for i in range(0, len(raw), size) for ev in dec.feed(raw[i : i + size])]
        assert [(e.event, e.data, e.id) for e in events] == [("log", {"data": "h\u00e9"}, "1"), ("exit", {}, "2")]
    half = SSEDecoder()
    assert half.feed(b"event: exit\ndata: {") == [] and half.pending


def _canned_stream(body: bytes) -> AgentTierClient:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return AgentTierClient(api_url="http://router.invalid", api_key="k", transport=httpx.MockTransport(handler))


def test_truncated_exec_stream_is_a_typed_error() -> None:
    with _canned_stream(b"event: start\ndata: {}\n\nevent: stdout\ndata: {\"data\": \"par") as c:
        sb = Sandbox(c, {"name": "x"})
        seen: list[str] = []
        with pytest.raises(StreamInterruptedError):
            for ev in sb.exec_stream("true"):
                seen.append(ev.event)
        assert seen == ["start"]


class CutFirstInvoke(httpx.HTTPTransport):
    """The real router, except the first invoke stream breaks after ``cut_bytes`` bytes."""

    def __init__(self, cut_bytes: int) -> None:
        super().__init__()
        self.cut_bytes = cut_bytes
        self.cut = False
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        res = super().handle_request(request)
        self.paths.append(f"{request.method} {request.url.path}")
        if self.cut or request.method != "POST" or not request.url.path.endswith("/invoke"):
            return res
        self.cut = True
        inner = res.stream
        limit = self.cut_bytes

        class Cut(httpx.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                sent = 0
                for chunk in inner:  # type: ignore[union-attr]
                    take = chunk[: limit - sent]
                    sent += len(take)
                    if take:
                        yield take
                    if sent >= limit:
                        break
                raise httpx.ReadError("connection reset (injected)")

            def close(self) -> None:
                inner.close()  # type: ignore[union-attr]

        return httpx.Response(res.status_code, headers=res.headers, stream=Cut(), extensions=res.extensions)


def test_invoke_reattaches_after_a_dropped_connection(api_url: str, namespace: str) -> None:
    cutter = CutFirstInvoke(cut_bytes=200)
    with AgentTierClient(api_url=api_url, transport=cutter) as c:
        sb = c.create_sandbox(name="reattach", template="langgraph-agent", namespace=namespace)
        try:
            sb.wait_until_running(timeout=120)
            sb.agent.configure(files=[("/workspace/agent.py", str(ECHO_AGENT))],
                               entrypoint=["python3", "/workspace/agent.py"])
            result = sb.agent.invoke("count 40")
            assert result.stdout.split("\n") == [str(i) for i in range(1, 41)]
            assert (result.exit_code, result.reason) == (0, "completed")
            assert cutter.cut
            assert any(p.endswith(f"/invokes/{result.invoke_id}/stream") for p in cutter.paths)
        finally:
            sb.delete()


def test_terminal_sync_and_async(api_url: str, namespace: str) -> None:
    with AgentTierClient(api_url=api_url) as c:
        sb = c.create_sandbox(name="term", template="minimal-shell", namespace=namespace)
        try:
            sb.wait_until_running(timeout=120)
            with sb.terminal(session="t1") as term:
                term.send("echo mark$((40+2))\n")
                assert "mark42" in term.read_until("mark42")
                # Drop the connection under the terminal: it re-attaches to the same session, and the
                # server's replay of the screen is not shown again.
                loop_ws: Any = term._async._ws
                term._loop.call_soon_threadsafe(loop_ws.transport.abort)
                term.send("echo after$((1+1))\n")
                again = term.read_until("after2")
                assert "mark42" not in again
                term.send("exit 3\n")
                assert list(term) is not None
                assert term.end is not None and term.end.get("exitCode") == 3
            with pytest.raises(NotFoundError):
                with Sandbox(c, {"name": "nope", "namespace": namespace}).terminal():
                    pass

            async def main() -> None:
                async with AsyncAgentTierClient(api_url=api_url) as ac:
                    asb = await ac.get_sandbox("term", namespace=namespace)
                    async with asb.terminal(session="t2") as t:
                        await t.send("echo async$((2*3))\n")
                        assert "async6" in await t.read_until("async6")
                        await t.send("exit\n")
                        async for _ in t:
                            pass
                        with pytest.raises(TerminalClosedError):
                            await t.send("more\n")

            asyncio.run(main())
        finally:
            sb.delete()
