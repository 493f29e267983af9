"""The clients: ``AgentTierClient`` (blocking) and ``AsyncAgentTierClient`` (asyncio), one core."""

from __future__ import annotations

from typing import Any, Mapping

import httpx

from ._bind import awaiting, blocking
from ._core import Call, Connection, Plan, call_json, create_body, sandbox_path
from ._transport import AsyncTransport, SyncTransport
from .retry import RetryConfig
from .sandbox import AsyncSandbox, Sandbox

View = dict[str, Any]


class ClientCore:
    """The calls of a client, once. Sandbox calls answer views; each flavour wraps them in its handle."""

    def _health(self) -> Plan[dict[str, Any]]:
        """``{"status": "ok", "version": "…"}`` from ``GET /healthz``."""
        return dict((yield from call_json(Call("GET", "/healthz", headers={"accept": "application/json"}))))

    def _create_sandbox(
        self,
        name: str,
        template: str,
        namespace: str = "default",
        *,
        timeout: str | None = None,
        idle_timeout: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Plan[View]:
        """Creates a sandbox from a template; ``overrides`` adds create-body fields (``resources``, ``env``, …)."""
        body = create_body(name, template, namespace, timeout, idle_timeout, overrides)
        return dict((yield from call_json(Call("POST", "/api/v1/sandboxes", json=body))))

    def _get_sandbox(self, name: str, namespace: str = "default") -> Plan[View]:
        return dict((yield from call_json(Call("GET", sandbox_path(name), params={"namespace": namespace}))))

    def _list_sandboxes(
        self, namespace: str | None = None, status: str | None = None, template: str | None = None
    ) -> Plan[list[View]]:
        res = yield from call_json(Call("GET", "/api/v1/sandboxes", params={"namespace": namespace, "status": status}))
        views = (res or {}).get("sandboxes") or []
        return [dict(v) for v in views if template is None or (v.get("templateRef") or {}).get("name") == template]

    def _list_templates(self) -> Plan[list[dict[str, Any]]]:
        res = yield from call_json(Call("GET", "/api/v1/templates"))
        return list((res or {}).get("templates") or [])

    def _get_template(self, name: str) -> Plan[dict[str, Any]]:
        return dict((yield from call_json(Call("GET", f"/api/v1/templates/{name}"))))

    def _current_user(self) -> Plan[dict[str, Any]]:
        return dict((yield from call_json(Call("GET", "/api/v1/user/me"))))


def _sandboxes(client: AgentTierClient, views: list[View]) -> list[Sandbox]:
    return [Sandbox(client, v) for v in views]


def _async_sandboxes(client: AsyncAgentTierClient, views: list[View]) -> list[AsyncSandbox]:
    return [AsyncSandbox(client, v) for v in views]


class AgentTierClient(ClientCore):
    """
    A client of one router. Credentials: ``api_key=`` or ``bearer_token=``, else ``AGENTTIER_API_KEY``,
    ``AGENTTIER_TOKEN`` / ``AGENTTIER_BEARER_TOKEN``, else the CLI config's ``api_key`` (where
    ``agenttier up`` saves its admin key). ``api_url`` defaults to ``AGENTTIER_API_URL``, else
    ``http://127.0.0.1:8080``. ``timeout`` is in seconds. Use it as a context manager.
    """

    def __init__(
        self,
        api_url: str | None = None,
        *,
        api_key: str | None = None,
        bearer_token: str | None = None,
        timeout: float = 30.0,
        retry: RetryConfig | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        conn = Connection.resolve(api_url, api_key, bearer_token, timeout)
        self.api_url = conn.base_url
        self.retry = retry
        self._t = SyncTransport(conn, retry, transport)

    def __enter__(self) -> AgentTierClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._t.close()

    health = blocking(ClientCore._health)
    create_sandbox = blocking(ClientCore._create_sandbox, then=Sandbox)
    get_sandbox = blocking(ClientCore._get_sandbox, then=Sandbox)
    list_sandboxes = blocking(ClientCore._list_sandboxes, then=_sandboxes)
    list_templates = blocking(ClientCore._list_templates)
    get_template = blocking(ClientCore._get_template)
    current_user = blocking(ClientCore._current_user)


class AsyncAgentTierClient(ClientCore):
    """``async with AsyncAgentTierClient(api_url=…) as client:``; options as ``AgentTierClient``."""

    def __init__(
        self,
        api_url: str | None = None,
        *,
        api_key: str | None = None,
        bearer_token: str | None = None,
        timeout: float = 30.0,
        retry: RetryConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        conn = Connection.resolve(api_url, api_key, bearer_token, timeout)
        self.api_url = conn.base_url
        self.retry = retry
        self._t = AsyncTransport(conn, retry, transport)

    async def __aenter__(self) -> AsyncAgentTierClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._t.close()

    health = awaiting(ClientCore._health)
    create_sandbox = awaiting(ClientCore._create_sandbox, then=AsyncSandbox)
    get_sandbox = awaiting(ClientCore._get_sandbox, then=AsyncSandbox)
    list_sandboxes = awaiting(ClientCore._list_sandboxes, then=_async_sandboxes)
    list_templates = awaiting(ClientCore._list_templates)
    get_template = awaiting(ClientCore._get_template)
    current_user = awaiting(ClientCore._current_user)
