"""Opt-in retries (no router needed: canned answers through httpx's mock transport)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from agenttier import (
    AgentTierClient,
    AsyncAgentTierClient,
    ConnectionError,
    RateLimitedError,
    RetryConfig,
    ServerError,
)

FAST = RetryConfig(max_retries=3, backoff_factor=0.0)


def _storm(failures: int, status: int = 429) -> tuple[list[str], httpx.MockTransport]:
    """A router that answers ``status`` with Retry-After: 0 ``failures`` times, then 200."""
    calls: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req.method)
        if len(calls) <= failures:
            code = "RATE_LIMITED" if status == 429 else "UNAVAILABLE"
            return httpx.Response(status, json={"code": code, "message": "slow down"}, headers={"retry-after": "0"})
        return httpx.Response(200, json={"sandboxes": []})

    return calls, httpx.MockTransport(handler)


def test_a_429_storm_is_retried_for_idempotent_calls() -> None:
    calls, transport = _storm(2)
    with AgentTierClient(api_url="http://router.invalid", retry=FAST, transport=transport) as c:
        assert c.list_sandboxes() == []
    assert calls == ["GET", "GET", "GET"]


def test_retries_end_with_the_typed_error() -> None:
    calls, transport = _storm(100)
    with AgentTierClient(api_url="http://router.invalid", retry=FAST, transport=transport) as c:
        with pytest.raises(RateLimitedError) as err:
            c.list_sandboxes()
    assert err.value.retry_after == 0.0
    assert len(calls) == 1 + FAST.max_retries


def test_post_is_not_retried_and_retries_are_off_by_default() -> None:
    calls, transport = _storm(1)
    with AgentTierClient(api_url="http://router.invalid", retry=FAST, transport=transport) as c:
        with pytest.raises(RateLimitedError):
            c.create_sandbox(name="x", template="minimal-shell")
    assert calls == ["POST"]
    calls, transport = _storm(1, status=503)
    with AgentTierClient(api_url="http://router.invalid", transport=transport) as c:
        with pytest.raises(ServerError):
            c.list_sandboxes()
    assert calls == ["GET"]


def test_connection_failures_are_retried() -> None:
    calls: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req.method)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=req)
        return httpx.Response(200, json={"sandboxes": []})

    with AgentTierClient(api_url="http://router.invalid", retry=FAST, transport=httpx.MockTransport(handler)) as c:
        assert c.list_sandboxes() == []
    assert len(calls) == 2
    with AgentTierClient(api_url="http://router.invalid", transport=httpx.MockTransport(handler)) as c:
        calls.clear()
        with pytest.raises(ConnectionError):
            c.list_sandboxes()


def test_async_client_retries_the_same_way() -> None:
    calls, transport = _storm(2)

    async def main() -> None:
        async with AsyncAgentTierClient(api_url="http://router.invalid", retry=FAST, transport=transport) as c:
            assert await c.list_sandboxes() == []

    asyncio.run(main())
    assert calls == ["GET", "GET", "GET"]
