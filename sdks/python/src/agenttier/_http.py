"""
What both transports (``_async/transport.py`` and its generated ``_sync`` twin) share about httpx
that is no I/O of its own: client options, the token-file auth, timeouts, error wrapping.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Generator

import httpx

from ._core import Call, Connection
from .errors import ConnectionError

CHUNK_BYTES = 64 * 1024


def transport_error(call: Call, api_url: str, err: Exception) -> ConnectionError:
    if isinstance(err, httpx.TimeoutException):
        return ConnectionError(f"{call.method} {call.path}: timed out ({err})")
    return ConnectionError(f"{call.method} {call.path}: cannot reach {api_url} ({err})")


def stream_timeout(conn: Connection) -> httpx.Timeout:
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


def client_options(conn: Connection, transport: Any) -> dict[str, Any]:
    """Keyword arguments of ``httpx.Client`` / ``httpx.AsyncClient`` (``transport`` replaces the network)."""
    kw: dict[str, Any] = {"base_url": conn.base_url, "headers": dict(conn.headers), "timeout": conn.timeout}
    if conn.token_file is not None:
        kw["auth"] = TokenFileAuth(conn)
    if transport is not None:
        kw["transport"] = transport
    return kw


def temp_beside(path: str) -> tuple[int, str]:
    """A new temporary file in ``path``'s directory, so that the finished download is renamed into place."""
    directory = os.path.dirname(os.path.abspath(path))
    return tempfile.mkstemp(prefix=".agenttier-", dir=directory)
