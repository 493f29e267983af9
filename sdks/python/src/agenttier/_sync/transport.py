# GENERATED from src/agenttier/_async/transport.py by sdks/python/scripts/unasync.py: do not edit.
# Edit the async source, then regenerate from the repository root: python3 sdks/python/scripts/unasync.py
"""
The executor of the core's plans on httpx: it only sends ``Call``s, sleeps ``Sleep``s, retries
(``RetryConfig``), streams uploads, downloads and event streams; what to send and what the answers
mean lives in ``_core.py``.
"""

from __future__ import annotations

import os
from typing import Iterator

import httpx

from .._core import Call, Connection, EventStream, Plan, R, Reply, Sleep, StreamEvent, raise_for_status
from .._http import CHUNK_BYTES, client_options, stream_timeout, temp_beside, transport_error
from ..errors import AgentTierError, ConnectionError
from ..retry import RetryConfig
from ._backend import sleep


class Transport:
    def __init__(
        self, conn: Connection, retry: RetryConfig | None, transport: httpx.BaseTransport | None
    ) -> None:
        self.conn = conn
        self.retry = retry
        self.http = httpx.Client(**client_options(conn, transport))

    def close(self) -> None:
        self.http.close()

    def run(self, plan: Plan[R]) -> R:
        try:
            step = next(plan)
            while True:
                if isinstance(step, Sleep):
                    sleep(step.seconds)
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
                sleep(delay)

    def _send_once(self, call: Call) -> Reply:
        kw = call.request_kwargs()
        try:
            if call.upload_path is not None:
                kw["content"] = _file_chunks(call.upload_path)
                res = self.http.request(call.method, call.path, **kw)
            elif call.download_to is not None:
                with self.http.stream(call.method, call.path, **kw) as res:
                    if res.status_code >= 400:
                        raise_for_status(res.status_code, res.headers, res.read())
                    fd, tmp = temp_beside(call.download_to)
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
                    sleep(stream.resume_delay)
                kw = call.request_kwargs()
                kw["timeout"] = stream_timeout(self.conn)
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


def _file_chunks(path: str) -> Iterator[bytes]:
    # The upload body, read as httpx sends it (never whole in memory). Local disk reads are short:
    # reading them where the request runs keeps this dependency-free.
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            yield chunk
