"""The asynchronous client: the same surface as ``AgentTierClient``, every call awaitable."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from .client import (
    check_response,
    client_options,
    create_body,
    decode_json,
    file_content,
    request_options,
    transport_error,
    wait_verdict,
    _sandbox_path,
)
from .errors import AgentTierError
from .models import ExecResult, FileEntry, PortForward
from .retry import RetryConfig
from urllib.parse import quote


class AsyncAgentTierClient:
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
        kw = client_options(api_url, api_key, bearer_token, timeout)
        self.api_url: str = kw["base_url"]
        self.retry = retry
        if transport is not None:
            kw["transport"] = transport
        self._http = httpx.AsyncClient(**kw)

    async def __aenter__(self) -> AsyncAgentTierClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        kw = request_options(params, json, content, headers, timeout)
        attempt = 0
        while True:
            try:
                try:
                    res = await self._http.request(method, path, **kw)
                except httpx.TransportError as err:
                    raise transport_error(method, path, self.api_url, err) from err
                return check_response(res)
            except AgentTierError as err:
                delay = self.retry.delay(method, attempt, err) if self.retry else None
                if delay is None:
                    raise
                attempt += 1
                await asyncio.sleep(delay)

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        return decode_json(await self.request(method, path, **kw), method, path)

    async def health(self) -> dict[str, Any]:
        return await self._json("GET", "/healthz", headers={"accept": "application/json"})

    async def create_sandbox(
        self,
        name: str,
        template: str,
        namespace: str = "default",
        *,
        timeout: str | None = None,
        idle_timeout: str | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> AsyncSandbox:
        body = create_body(name, template, namespace, timeout, idle_timeout, overrides)
        return AsyncSandbox(self, await self._json("POST", "/api/v1/sandboxes", json=body))

    async def get_sandbox(self, name: str, namespace: str = "default") -> AsyncSandbox:
        return AsyncSandbox(self, await self._json("GET", _sandbox_path(name), params={"namespace": namespace}))

    async def list_sandboxes(self, namespace: str | None = None, status: str | None = None) -> list[AsyncSandbox]:
        res = await self._json("GET", "/api/v1/sandboxes", params={"namespace": namespace, "status": status})
        return [AsyncSandbox(self, v) for v in (res or {}).get("sandboxes") or []]


class AsyncSandbox:
    """The async handle: ``sandbox.files``, ``sandbox.port_forwards`` and every method awaitable."""

    def __init__(self, client: AsyncAgentTierClient, view: dict[str, Any]) -> None:
        self._client = client
        self.name: str = view["name"]
        self.namespace: str = view.get("namespace", "default")
        self.view: dict[str, Any] = view
        self.files = AsyncSandboxFiles(self)
        self.port_forwards = AsyncPortForwards(self)

    def __repr__(self) -> str:
        return f"AsyncSandbox({self.namespace}/{self.name}, {self.status})"

    @property
    def id(self) -> str:
        return self.name

    @property
    def status(self) -> str:
        return str(self.view.get("status") or "Creating")

    @property
    def _path(self) -> str:
        return _sandbox_path(self.name)

    @property
    def _ns(self) -> dict[str, str]:
        return {"namespace": self.namespace}

    async def refresh(self) -> AsyncSandbox:
        self.view = await self._client._json("GET", self._path, params=self._ns)
        return self

    async def _wait_for(self, phase: str, timeout: float, poll_interval: float) -> AsyncSandbox:
        deadline = time.monotonic() + timeout
        while True:
            await self.refresh()
            if wait_verdict(self.view, self.name, phase, timeout, time.monotonic() >= deadline):
                return self
            await asyncio.sleep(poll_interval)

    async def wait_until_running(self, timeout: float = 120, poll_interval: float = 0.5) -> AsyncSandbox:
        return await self._wait_for("Running", timeout, poll_interval)

    async def wait_until_stopped(self, timeout: float = 120, poll_interval: float = 0.5) -> AsyncSandbox:
        return await self._wait_for("Stopped", timeout, poll_interval)

    async def exec(self, command: str | list[str], timeout: float | None = None) -> ExecResult:
        body: dict[str, Any] = {"command": command}
        if timeout is not None:
            body["timeout"] = timeout
        res = await self._client._json(
            "POST", f"{self._path}/exec", params=self._ns, json=body, timeout=(timeout or 30) + 10
        )
        return ExecResult.from_json(res)

    async def stop(self) -> None:
        self.view = (await self._client._json("POST", f"{self._path}/stop", params=self._ns))["sandbox"]

    async def resume(self) -> None:
        self.view = (await self._client._json("POST", f"{self._path}/resume", params=self._ns))["sandbox"]

    async def delete(self) -> None:
        await self._client._json("DELETE", self._path, params=self._ns)

    terminate = delete


class AsyncSandboxFiles:
    def __init__(self, sandbox: AsyncSandbox) -> None:
        self._sb = sandbox

    def _file_path(self, path: str) -> str:
        return f"{self._sb._path}/files/{quote(path.lstrip('/'), safe='/')}"

    async def write(self, path: str, data: bytes | str) -> int:
        content = file_content(data)
        res = await self._sb._client._json(
            "PUT",
            self._file_path(path),
            params=self._sb._ns,
            content=content,
            headers={"content-type": "application/octet-stream"},
        )
        return int(res.get("bytes", len(content)))

    async def read(self, path: str) -> bytes:
        return (await self._sb._client.request("GET", self._file_path(path), params=self._sb._ns)).content

    async def list(self, path: str = "/workspace") -> list[FileEntry]:
        res = await self._sb._client._json("GET", f"{self._sb._path}/files/", params={**self._sb._ns, "path": path})
        return [FileEntry.from_json(e) for e in (res or {}).get("entries") or []]


class AsyncPortForwards:
    def __init__(self, sandbox: AsyncSandbox) -> None:
        self._sb = sandbox

    async def create(self, port: int, name: str | None = None, protocol: str = "http") -> PortForward:
        body: dict[str, Any] = {"port": port, "protocol": protocol}
        if name is not None:
            body["name"] = name
        res = await self._sb._client._json("POST", f"{self._sb._path}/ports", params=self._sb._ns, json=body)
        return PortForward.from_json(res)

    async def list(self) -> list[PortForward]:
        res = await self._sb._client._json("GET", f"{self._sb._path}/ports", params=self._sb._ns)
        return [PortForward.from_json(p) for p in (res or {}).get("ports") or []]

    async def delete(self, name_or_port: str | int) -> None:
        key = quote(str(name_or_port), safe="")
        await self._sb._client._json("DELETE", f"{self._sb._path}/ports/{key}", params=self._sb._ns)
