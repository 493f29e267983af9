"""
The two executors of the core's plans: one blocking, one asyncio, both on httpx. They only send
``Call``s, sleep ``Sleep``s, retry (``RetryConfig``), stream uploads, downloads and event streams;
what to send and what the answers mean lives in ``_core.py``.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from typing import Any, AsyncIterator, Generator, Iterator

import httpx

from ._core import Call, Connection, EventStream, Plan, R, Reply, Sleep, StreamEvent, raise_for_status
from .errors import AgentTierError, ConnectionError
from .retry import RetryConfig

CHUNK_BYTES = 64 * 1024


def transport_error(call: Call, api_url: str, err: Exception) -> ConnectionError:
    if isinstance(err, httpx.TimeoutException):
        return ConnectionError(f"{call.method} {call.path}: timed out ({err})")
    return ConnectionError(f"{call.method} {call.path}: cannot reach {api_url} ({err})")


def _stream_timeout(conn: Connection) -> httpx.Timeout:
    # An event stream may be quiet for a long time (a watch, a slow agent): no read timeout; the
    # server's keepalives and the client's own break end it.
    return httpx.Timeout(conn.timeout, read=None)


class TokenFileAuth(httpx.Auth):
    """Sets the bearer token from the connection's token file on each request, read at send time."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        auth = self.conn.current_headers().get("authorization")
        if auth is not None:
            request.headers["authorization"] = auth
        yield request


def _client_options(conn: Connection) -> dict[str, Any]:
    kw: dict[str, Any] = {"base_url": conn.base_url, "headers": dict(conn.headers), "timeout": conn.timeout}
    if conn.token_file is not None:
        kw["auth"] = TokenFileAuth(conn)
    return kw


def _temp_beside(path: str) -> tuple[int, str]:
    directory = os.path.dirname(os.path.abspath(path))
    return tempfile.mkstemp(prefix=".agenttier-", dir=directory)


class SyncTransport:
    def __init__(self, conn: Connection, retry: RetryConfig | None, transport: httpx.BaseTransport | None) -> None:
        self.conn = conn
        self.retry = retry
        kw = _client_options(conn)
        if transport is not None:
            kw["transport"] = transport
        self.http = httpx.Client(**kw)

    def close(self) -> None:
        self.http.close()

    def run(self, plan: Plan[R]) -> R:
        try:
            step = next(plan)
            while True:
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    step = plan.send(None)
                else:
                    step = plan.send(self.send(step))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def send(self, call: Call) -> Reply:
        attempt = 0
        while True:
            try:
                return self._send_once(call)
            except AgentTierError as err:
                delay = self.retry.delay(call.method, attempt, err) if self.retry and not call.sse else None
                if delay is None or call.upload_path is not None and not isinstance(err, ConnectionError):
                    raise
                attempt += 1
                time.sleep(delay)

    def _send_once(self, call: Call) -> Reply:
        kw = call.request_kwargs()
        try:
            if call.upload_path is not None:
                with open(call.upload_path, "rb") as f:
                    kw["content"] = iter(lambda: f.read(CHUNK_BYTES), b"")
                    res = self.http.request(call.method, call.path, **kw)
            elif call.download_to is not None:
                with self.http.stream(call.method, call.path, **kw) as res:
                    if res.status_code >= 400:
                        raise_for_status(res.status_code, res.headers, res.read())
                    fd, tmp = _temp_beside(call.download_to)
                    try:
                        with os.fdopen(fd, "wb") as out:
                            for chunk in res.iter_bytes(CHUNK_BYTES):
                                out.write(chunk)
                        os.replace(tmp, call.download_to)
                    except BaseException:
                        os.unlink(tmp)
                        raise
                    return Reply(res.status_code, res.headers, b"")
            else:
                res = self.http.request(call.method, call.path, **kw)
        except httpx.TransportError as err:
            raise transport_error(call, self.conn.base_url, err) from err
        raise_for_status(res.status_code, res.headers, res.content)
        return Reply(res.status_code, res.headers, res.content)

    def events(self, stream: EventStream) -> Iterator[StreamEvent]:
        """The events of ``stream``, re-attaching after a broken connection when the stream allows it."""
        try:
            while (call := stream.next_call()) is not None:
                if stream.resume_delay:
                    time.sleep(stream.resume_delay)
                kw = call.request_kwargs()
                kw["timeout"] = _stream_timeout(self.conn)
                try:
                    with self.http.stream(call.method, call.path, **kw) as res:
                        if res.status_code >= 400:
                            raise_for_status(res.status_code, res.headers, res.read())
                        stream.opened(res.headers)
                        for chunk in res.iter_bytes():
                            for ev in stream.feed(chunk):
                                yield ev
                            if stream.done:
                                return
                except httpx.TransportError as err:
                    stream.interrupted(err)
                    continue
                stream.interrupted(None)
        finally:
            abandon = stream.abandon_call()
            if abandon is not None:
                try:
                    self.send(abandon)
                except AgentTierError:
                    pass  # best effort: the run also ends at its own timeout


class AsyncTransport:
    def __init__(
        self, conn: Connection, retry: RetryConfig | None, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        self.conn = conn
        self.retry = retry
        kw = _client_options(conn)
        if transport is not None:
            kw["transport"] = transport
        self.http = httpx.AsyncClient(**kw)

    async def close(self) -> None:
        await self.http.aclose()

    async def run(self, plan: Plan[R]) -> R:
        try:
            step = next(plan)
            while True:
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    step = plan.send(None)
                else:
                    step = plan.send(await self.send(step))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def send(self, call: Call) -> Reply:
        attempt = 0
        while True:
            try:
                return await self._send_once(call)
            except AgentTierError as err:
                delay = self.retry.delay(call.method, attempt, err) if self.retry and not call.sse else None
                if delay is None or call.upload_path is not None and not isinstance(err, ConnectionError):
                    raise
                attempt += 1
                await asyncio.sleep(delay)

    async def _send_once(self, call: Call) -> Reply:
        kw = call.request_kwargs()
        try:
            if call.upload_path is not None:
                kw["content"] = _file_chunks(call.upload_path)
                res = await self.http.request(call.method, call.path, **kw)
            elif call.download_to is not None:
                async with self.http.stream(call.method, call.path, **kw) as res:
                    if res.status_code >= 400:
                        raise_for_status(res.status_code, res.headers, await res.aread())
                    fd, tmp = _temp_beside(call.download_to)
                    try:
                        with os.fdopen(fd, "wb") as out:
                            async for chunk in res.aiter_bytes(CHUNK_BYTES):
                                out.write(chunk)
                        os.replace(tmp, call.download_to)
                    except BaseException:
                        os.unlink(tmp)
                        raise
                    return Reply(res.status_code, res.headers, b"")
            else:
                res = await self.http.request(call.method, call.path, **kw)
        except httpx.TransportError as err:
            raise transport_error(call, self.conn.base_url, err) from err
        raise_for_status(res.status_code, res.headers, res.content)
        return Reply(res.status_code, res.headers, res.content)

    async def events(self, stream: EventStream) -> AsyncIterator[StreamEvent]:
        try:
            while (call := stream.next_call()) is not None:
                if stream.resume_delay:
                    await asyncio.sleep(stream.resume_delay)
                kw = call.request_kwargs()
                kw["timeout"] = _stream_timeout(self.conn)
                try:
                    async with self.http.stream(call.method, call.path, **kw) as res:
                        if res.status_code >= 400:
                            raise_for_status(res.status_code, res.headers, await res.aread())
                        stream.opened(res.headers)
                        async for chunk in res.aiter_bytes():
                            for ev in stream.feed(chunk):
                                yield ev
                            if stream.done:
                                return
                except httpx.TransportError as err:
                    stream.interrupted(err)
                    continue
                stream.interrupted(None)
        finally:
            abandon = stream.abandon_call()
            if abandon is not None:
                try:
                    await self.send(abandon)
                except AgentTierError:
                    pass  # best effort: the run also ends at its own timeout


async def _file_chunks(path: str) -> AsyncIterator[bytes]:
    # Local disk reads are short; reading in the loop thread keeps this dependency-free.
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            yield chunk
