"""The synchronous client: ``AgentTierClient`` and the ``Sandbox`` handle (seed tutorial 003's surface)."""

from __future__ import annotations

import json
import os
import time
from typing import Any, Iterator
from urllib.parse import quote

import httpx

from .errors import (
    AgentTierError,
    ConnectionError,
    PayloadTooLargeError,
    SandboxErrorState,
    SandboxTimeoutError,
    error_from_response,
)
from .models import ExecResult, FileEntry, PortForward
from .retry import RetryConfig

__version__ = "0.1.0"
DEFAULT_API_URL = "http://127.0.0.1:8080"
MAX_FILE_BYTES = 32 * 1024 * 1024


def cli_config_credentials() -> tuple[str | None, str | None]:
    """``api_key`` and ``token`` of the CLI config (``AGENTTIER_CONFIG``, else ~/.config/agenttier/config.json)."""
    path = os.environ.get("AGENTTIER_CONFIG") or os.path.join(
        os.path.expanduser("~"), ".config", "agenttier", "config.json"
    )
    try:
        with open(path, encoding="utf-8") as f:
            parsed = json.load(f)
    except (OSError, ValueError):
        return None, None  # no file or not JSON: the CLI reports those; a client just has no saved key
    if not isinstance(parsed, dict):
        return None, None
    key, token = parsed.get("api_key"), parsed.get("token")
    return (
        key.strip() if isinstance(key, str) and key.strip() else None,
        token.strip() if isinstance(token, str) and token.strip() else None,
    )


def client_options(
    api_url: str | None, api_key: str | None, bearer_token: str | None, timeout: float
) -> dict[str, Any]:
    """httpx client options shared by the sync and async clients: base URL, credentials, timeout."""
    base = (api_url or os.environ.get("AGENTTIER_API_URL") or DEFAULT_API_URL).rstrip("/")
    headers = {"user-agent": f"agenttier-python/{__version__}"}
    # The TypeScript SDK's chain: explicit arguments (as a pair), else the environment, else the CLI
    # config where `agenttier up` saves its admin key.
    if not (api_key or bearer_token):
        env = os.environ
        api_key = env.get("AGENTTIER_API_KEY") or None
        bearer_token = env.get("AGENTTIER_TOKEN") or env.get("AGENTTIER_BEARER_TOKEN") or None
        if not (api_key or bearer_token):
            api_key, bearer_token = cli_config_credentials()
    if api_key:
        headers["x-api-key"] = api_key
    elif bearer_token:
        headers["authorization"] = f"Bearer {bearer_token}"
    return {"base_url": base, "headers": headers, "timeout": timeout}


def request_options(
    params: dict[str, Any] | None,
    json: Any,
    content: bytes | None,
    headers: dict[str, str] | None,
    timeout: float | None,
) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if params:
        kw["params"] = {k: v for k, v in params.items() if v is not None}
    if json is not None:
        kw["json"] = json
    if content is not None:
        kw["content"] = content
    if headers:
        kw["headers"] = headers
    if timeout is not None:
        kw["timeout"] = timeout
    return kw


def transport_error(method: str, path: str, api_url: str, err: Exception) -> ConnectionError:
    if isinstance(err, httpx.TimeoutException):
        return ConnectionError(f"{method} {path}: timed out ({err})")
    return ConnectionError(f"{method} {path}: cannot reach {api_url} ({err})")


def check_response(res: httpx.Response) -> httpx.Response:
    """Raises the typed exception for an error status (after the body was read)."""
    if res.status_code >= 400:
        try:
            body: Any = res.json()
        except ValueError:
            body = None
        raise error_from_response(res.status_code, res.headers, body, res.text)
    return res


def decode_json(res: httpx.Response, method: str, path: str) -> Any:
    if res.status_code == 204 or not res.content:
        return None
    try:
        return res.json()
    except ValueError as err:
        raise AgentTierError(
            f"{method} {path}: expected JSON, got {res.text[:200]!r}", status_code=res.status_code
        ) from err


def create_body(
    name: str,
    template: str,
    namespace: str,
    timeout: str | None,
    idle_timeout: str | None,
    overrides: dict[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "templateRef": {"name": template, "kind": "ClusterSandboxTemplate"},
    }
    if timeout is not None:
        body["timeout"] = timeout
    if idle_timeout is not None:
        body["idleTimeout"] = idle_timeout
    body.update(overrides or {})
    return body


def file_content(data: bytes | str) -> bytes:
    content = data.encode() if isinstance(data, str) else data
    if len(content) > MAX_FILE_BYTES:
        raise PayloadTooLargeError(
            f"{len(content)} bytes is over the {MAX_FILE_BYTES}-byte cap per file; split it or tar it first"
        )
    return content


def wait_verdict(view: dict[str, Any], name: str, phase: str, timeout: float, expired: bool) -> bool:
    """True when ``view`` is in ``phase``; raises on Error or when the time is up; False to poll again."""
    status = str(view.get("status") or "Creating")
    if status == phase:
        return True
    if status == "Error" and phase != "Error":
        raise SandboxErrorState(f"sandbox {name} is in Error: {view.get('message', '')}", body=view)
    if expired:
        raise SandboxTimeoutError(f"sandbox {name} is {status}, not {phase}, after {timeout:g} s", body=view)
    return False


class AgentTierClient:
    """
    A client of one router. Credentials: ``api_key=`` or ``bearer_token=``, else the
    ``AGENTTIER_API_KEY`` / ``AGENTTIER_BEARER_TOKEN`` environment variables, else none (a local
    ``agenttier up``). ``api_url`` defaults to ``AGENTTIER_API_URL``, else ``http://127.0.0.1:8080``.
    ``timeout`` is in seconds. Use it as a context manager so its connections close.
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
        kw = client_options(api_url, api_key, bearer_token, timeout)
        self.api_url: str = kw["base_url"]
        self.retry = retry
        if transport is not None:
            kw["transport"] = transport
        self._http = httpx.Client(**kw)

    def __enter__(self) -> AgentTierClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- transport -------------------------------------------------------------------------
    def request(
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
        """One call; an error status raises the typed exception for its code."""
        kw = request_options(params, json, content, headers, timeout)
        attempt = 0
        while True:
            try:
                try:
                    res = self._http.request(method, path, **kw)
                except httpx.TransportError as err:
                    raise transport_error(method, path, self.api_url, err) from err
                return check_response(res)
            except AgentTierError as err:
                delay = self.retry.delay(method, attempt, err) if self.retry else None
                if delay is None:
                    raise
                attempt += 1
                time.sleep(delay)

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return decode_json(self.request(method, path, **kw), method, path)

    # --- API -------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """``{"status": "ok", "version": "…"}`` from ``GET /healthz``."""
        return self._json("GET", "/healthz", headers={"accept": "application/json"})

    def create_sandbox(
        self,
        name: str,
        template: str,
        namespace: str = "default",
        *,
        timeout: str | None = None,
        idle_timeout: str | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> Sandbox:
        """Creates a sandbox from a template; ``overrides`` adds create-body fields (``resources``, ``env``, …)."""
        body = create_body(name, template, namespace, timeout, idle_timeout, overrides)
        return Sandbox(self, self._json("POST", "/api/v1/sandboxes", json=body))

    def get_sandbox(self, name: str, namespace: str = "default") -> Sandbox:
        return Sandbox(self, self._json("GET", _sandbox_path(name), params={"namespace": namespace}))

    def list_sandboxes(self, namespace: str | None = None, status: str | None = None) -> list[Sandbox]:
        res = self._json("GET", "/api/v1/sandboxes", params={"namespace": namespace, "status": status})
        return [Sandbox(self, v) for v in (res or {}).get("sandboxes") or []]


def _sandbox_path(name: str) -> str:
    return f"/api/v1/sandboxes/{quote(name, safe='')}"


class Sandbox:
    """A handle on one sandbox. ``status`` is the phase as of the last call; ``refresh()`` re-reads it."""

    def __init__(self, client: AgentTierClient, view: dict[str, Any]) -> None:
        self._client = client
        self.name: str = view["name"]
        self.namespace: str = view.get("namespace", "default")
        self.view: dict[str, Any] = view
        self.files = SandboxFiles(self)
        self.port_forwards = PortForwards(self)

    def __repr__(self) -> str:
        return f"Sandbox({self.namespace}/{self.name}, {self.status})"

    @property
    def id(self) -> str:
        return self.name

    @property
    def status(self) -> str:
        return str(self.view.get("status") or "Creating")

    @property
    def template(self) -> str:
        return str(self.view.get("templateRef", ""))

    @property
    def _path(self) -> str:
        return _sandbox_path(self.name)

    @property
    def _ns(self) -> dict[str, str]:
        return {"namespace": self.namespace}

    def refresh(self) -> Sandbox:
        self.view = self._client._json("GET", self._path, params=self._ns)
        return self

    def _wait_for(self, phase: str, timeout: float, poll_interval: float) -> Sandbox:
        deadline = time.monotonic() + timeout
        while True:
            self.refresh()
            if wait_verdict(self.view, self.name, phase, timeout, time.monotonic() >= deadline):
                return self
            time.sleep(poll_interval)

    def wait_until_running(self, timeout: float = 120, poll_interval: float = 0.5) -> Sandbox:
        return self._wait_for("Running", timeout, poll_interval)

    def wait_until_stopped(self, timeout: float = 120, poll_interval: float = 0.5) -> Sandbox:
        return self._wait_for("Stopped", timeout, poll_interval)

    def exec(self, command: str | list[str], timeout: float | None = None) -> ExecResult:
        """A string runs through ``/bin/sh -c``; a list runs as argv. ``timeout`` in seconds."""
        body: dict[str, Any] = {"command": command}
        if timeout is not None:
            body["timeout"] = timeout
        http_timeout = (timeout or 30) + 10
        res = self._client._json("POST", f"{self._path}/exec", params=self._ns, json=body, timeout=http_timeout)
        return ExecResult.from_json(res)

    def stop(self) -> None:
        self.view = self._client._json("POST", f"{self._path}/stop", params=self._ns)["sandbox"]

    def resume(self) -> None:
        self.view = self._client._json("POST", f"{self._path}/resume", params=self._ns)["sandbox"]

    def delete(self) -> None:
        self._client._json("DELETE", self._path, params=self._ns)

    terminate = delete


class SandboxFiles:
    """``sandbox.files``: paths are absolute inside the sandbox (the workspace or ``/tmp``)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sb = sandbox

    def _file_path(self, path: str) -> str:
        return f"{self._sb._path}/files/{quote(path.lstrip('/'), safe='/')}"

    def write(self, path: str, data: bytes | str) -> int:
        content = file_content(data)
        res = self._sb._client._json(
            "PUT",
            self._file_path(path),
            params=self._sb._ns,
            content=content,
            headers={"content-type": "application/octet-stream"},
        )
        return int(res.get("bytes", len(content)))

    def read(self, path: str) -> bytes:
        return self._sb._client.request("GET", self._file_path(path), params=self._sb._ns).content

    def list(self, path: str = "/workspace") -> list[FileEntry]:
        res = self._sb._client._json("GET", f"{self._sb._path}/files/", params={**self._sb._ns, "path": path})
        return [FileEntry.from_json(e) for e in (res or {}).get("entries") or []]

    def upload(self, local_path: str, path: str) -> int:
        with open(local_path, "rb") as f:
            return self.write(path, f.read())

    def download(self, path: str, local_path: str) -> None:
        with open(local_path, "wb") as f:
            f.write(self.read(path))


class PortForwards:
    """``sandbox.port_forwards``: create (optionally named), list, delete by name or port."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sb = sandbox

    def create(self, port: int, name: str | None = None, protocol: str = "http") -> PortForward:
        body: dict[str, Any] = {"port": port, "protocol": protocol}
        if name is not None:
            body["name"] = name
        return PortForward.from_json(
            self._sb._client._json("POST", f"{self._sb._path}/ports", params=self._sb._ns, json=body)
        )

    def list(self) -> list[PortForward]:
        res = self._sb._client._json("GET", f"{self._sb._path}/ports", params=self._sb._ns)
        return [PortForward.from_json(p) for p in (res or {}).get("ports") or []]

    def __iter__(self) -> Iterator[PortForward]:
        return iter(self.list())

    def delete(self, name_or_port: str | int) -> None:
        key = quote(str(name_or_port), safe="")
        self._sb._client._json("DELETE", f"{self._sb._path}/ports/{key}", params=self._sb._ns)
