"""The client ``AsyncAgentTierClient``: the calls of ``_client_core.py`` bound to the transport."""

from __future__ import annotations

import httpx

from .._client_core import ClientCore, View
from .._core import Connection
from ..retry import RetryConfig
from .bind import run_plan
from .sandbox import AsyncSandbox
from .transport import Transport


def _sandboxes(client: AsyncAgentTierClient, views: list[View]) -> list[AsyncSandbox]:
    return [AsyncSandbox(client, v) for v in views]


class AsyncAgentTierClient(ClientCore):
    """
    A client of one router. Credentials: ``api_key=`` or ``bearer_token=``, else ``AGENTTIER_API_KEY``,
    ``AGENTTIER_TOKEN`` / ``AGENTTIER_BEARER_TOKEN``, else the CLI config's ``api_key`` (where
    ``agenttier up`` saves its admin key). ``api_url`` defaults to ``AGENTTIER_API_URL``, else
    ``http://127.0.0.1:8080``. ``timeout`` is in seconds. Use it as a context manager:
    ``async with AsyncAgentTierClient(api_url=…) as client:``.
    """

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
        self._t = Transport(conn, retry, transport)

    async def __aenter__(self) -> AsyncAgentTierClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._t.close()

    health = run_plan(ClientCore._health)
    create_sandbox = run_plan(ClientCore._create_sandbox, then=AsyncSandbox)
    get_sandbox = run_plan(ClientCore._get_sandbox, then=AsyncSandbox)
    list_sandboxes = run_plan(ClientCore._list_sandboxes, then=_sandboxes)
    list_templates = run_plan(ClientCore._list_templates)
    get_template = run_plan(ClientCore._get_template)
    current_user = run_plan(ClientCore._current_user)
