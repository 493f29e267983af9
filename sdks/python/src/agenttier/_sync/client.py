# GENERATED from src/agenttier/_async/client.py by sdks/python/scripts/unasync.py: do not edit.
# Edit the async source, then regenerate from the repository root: python3 sdks/python/scripts/unasync.py
"""The client ``AgentTierClient``: the calls of ``_client_core.py`` bound to the transport."""

from __future__ import annotations

import httpx

from .._client_core import ClientCore, View
from .._core import Connection
from ..retry import RetryConfig
from .bind import run_plan
from .sandbox import Sandbox
from .transport import Transport


def _sandboxes(client: AgentTierClient, views: list[View]) -> list[Sandbox]:
    return [Sandbox(client, v) for v in views]


class AgentTierClient(ClientCore):
    """
    A client of one router. Credentials: ``api_key=`` or ``bearer_token=``, else ``AGENTTIER_API_KEY``,
    ``AGENTTIER_TOKEN`` / ``AGENTTIER_BEARER_TOKEN``, else the CLI config's ``api_key`` (where
    ``agenttier up`` saves its admin key). ``api_url`` defaults to ``AGENTTIER_API_URL``, else
    ``http://127.0.0.1:8080``. ``timeout`` is in seconds. Use it as a context manager:
    ``with AgentTierClient(api_url=…) as client:``.
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
        self._t = Transport(conn, retry, transport)

    def __enter__(self) -> AgentTierClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._t.close()

    health = run_plan(ClientCore._health)
    create_sandbox = run_plan(ClientCore._create_sandbox, then=Sandbox)
    get_sandbox = run_plan(ClientCore._get_sandbox, then=Sandbox)
    list_sandboxes = run_plan(ClientCore._list_sandboxes, then=_sandboxes)
    list_templates = run_plan(ClientCore._list_templates)
    get_template = run_plan(ClientCore._get_template)
    current_user = run_plan(ClientCore._current_user)
