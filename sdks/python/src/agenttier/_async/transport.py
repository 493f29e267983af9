"""
The executor of the core's plans on httpx: it only sends ``Call``s, sleeps ``Sleep``s, retries
(``RetryConfig``), streams uploads, downloads and event streams; what to send and what the answers
mean lives in ``_core.py``.
"""

from __future__ import annotations

import os
from typing import AsyncIterator

import httpx

from .._core import Call, Connection, EventStream, Plan, R, Reply, Sleep, StreamEvent, raise_for_status
from .._http import CHUNK_BYTES, client_options, stream_timeout, temp_beside, transport_error
from ..errors import AgentTierError, ConnectionError
from ..retry import RetryConfig
from ._backend import sleep


class Transport:
    def __init__(
        self, conn: Connection, retry: RetryConfig | None, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        self.conn = conn
        self.retry = retry
        self.http = httpx.AsyncClient(**client_options(conn, transport))

    async def close(self) -> None:
        await self.http.aclose()

    async def run(self, plan: Plan[R]) -> R:
        try:
            step = next(plan)
            while True:
                if isinstance(step, Sleep):
                    await sleep(step.seconds)
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
                await sleep(delay)

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
                    fd, tmp = temp_beside(call.download_to)
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
        """The events of ``stream``, re-attaching after a broken connection when the stream allows it."""
        try:
            while (call := stream.next_call()) is not None:
                if stream.resume_delay:
                    await sleep(stream.resume_delay)
                kw = call.request_kwargs()
                kw["timeout"] = stream_timeout(self.conn)
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
    # The upload body, read as httpx sends it (never whole in memory). Local disk reads are short:
    # reading them where the request runs keeps this dependency-free.
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            yield chunk
