"""
The one core both clients run: requests as data, and plans that say what to send and what to make of
the answers. Nothing here does I/O. An operation is a generator (a *plan*) that yields a ``Call``
(and receives its ``Reply``) or a ``Sleep`` (and receives None), and returns its result; the transports
(``_async/transport.py`` and its generated ``_sync`` twin) only execute those steps. So every rule — paths, bodies, error
mapping, waits, stream parsing, re-attaching — is written once.
"""

from __future__ import annotations

import codecs
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Generic, Mapping, TypeVar, Union
from urllib.parse import quote

from .errors import (
    AgentTierError,
    PayloadTooLargeError,
    SandboxErrorState,
    SandboxTimeoutError,
    StreamError,
    StreamInterruptedError,
    ValidationError,
    error_from_response,
)

__version__ = "0.1.0"
DEFAULT_API_URL = "http://127.0.0.1:8080"
MAX_FILE_BYTES = 32 * 1024 * 1024
#: Where an in-cluster agent's ServiceAccount token for the router's audience is mounted by default (a
#: projected volume: ``serviceAccountToken: {audience: agenttier, path: token}``). The pod's default
#: token is not used: it is minted for the API server, and the router refuses it.
DEFAULT_TOKEN_FILE = "/var/run/secrets/agenttier/token"
#: A token file is read up to this many bytes (the router refuses credentials over 8 KiB anyway).
MAX_TOKEN_FILE_BYTES = 16 * 1024
#: Seconds between polls of a wait, and extra HTTP time over a server-side timeout.
HTTP_GRACE_S = 10.0

R = TypeVar("R")


@dataclass(frozen=True)
class Call:
    """One HTTP request. ``upload_path`` streams a local file as the body; ``download_to`` streams the
    answer into a local file; ``sse`` marks an event stream (never retried, no read timeout)."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] | None = None
    timeout: float | None = None
    upload_path: str | None = None
    download_to: str | None = None
    sse: bool = False

    def request_kwargs(self) -> dict[str, Any]:
        """httpx keyword arguments for everything but the body of ``upload_path``."""
        kw: dict[str, Any] = {}
        if self.params:
            kw["params"] = {k: v for k, v in self.params.items() if v is not None}
        if self.json is not None:
            kw["json"] = self.json
        if self.content is not None:
            kw["content"] = self.content
        headers = dict(self.headers or {})
        if self.sse:
            headers.setdefault("accept", "text/event-stream")
        if headers:
            kw["headers"] = headers
        if self.timeout is not None:
            kw["timeout"] = self.timeout
        return kw


@dataclass(frozen=True)
class Reply:
    """What a plan gets back for a ``Call``: the status, headers and body (empty for downloads)."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self, what: str = "") -> Any:
        if self.status == 204 or not self.content:
            return None
        try:
            return json.loads(self.content)
        except ValueError as err:
            raise AgentTierError(f"{what}: expected JSON, got {self.text[:200]!r}", status_code=self.status) from err


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Union[Call, Sleep]
Plan = Generator[Step, Any, R]


def raise_for_status(status: int, headers: Mapping[str, str], content: bytes) -> None:
    """Raises the typed exception for an error status (the one table in errors.py)."""
    if status < 400:
        return
    text = content.decode("utf-8", errors="replace")
    try:
        body: Any = json.loads(content) if content else None
    except ValueError:
        body = None
    raise error_from_response(status, headers, body, text)


def call_json(call: Call) -> Plan[Any]:
    """The smallest plan: one call, its JSON answer."""
    reply = yield call
    return reply.json(f"{call.method} {call.path}")


# --- configuration ------------------------------------------------------------------------------


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


def service_account_token_file() -> str | None:
    """``AGENTTIER_TOKEN_FILE``, else the default mount when it exists."""
    named = (os.environ.get("AGENTTIER_TOKEN_FILE") or "").strip()
    if named:
        return named
    return DEFAULT_TOKEN_FILE if os.path.exists(DEFAULT_TOKEN_FILE) else None


def read_token_file(path: str) -> str | None:
    """The token in ``path`` now, or None when it cannot be read (the router then answers 401)."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read(MAX_TOKEN_FILE_BYTES).strip()
    except (OSError, UnicodeDecodeError):
        return None
    return token or None


@dataclass(frozen=True)
class Connection:
    """
    Where and as whom: the base URL and the headers every request (HTTP and WebSocket) carries. With
    ``token_file`` (the last link of the credential chain) the bearer token is read from that file again
    for every request, because the kubelet rotates projected ServiceAccount tokens in place.
    """

    base_url: str
    headers: Mapping[str, str]
    timeout: float
    token_file: str | None = None

    def current_headers(self) -> dict[str, str]:
        """The headers of a request made now (with the token file's current token, when it is the credential)."""
        headers = dict(self.headers)
        if self.token_file is not None:
            token = read_token_file(self.token_file)
            if token:
                headers["authorization"] = f"Bearer {token}"
        return headers

    @classmethod
    def resolve(
        cls, api_url: str | None, api_key: str | None, bearer_token: str | None, timeout: float
    ) -> Connection:
        base = (api_url or os.environ.get("AGENTTIER_API_URL") or DEFAULT_API_URL).rstrip("/")
        headers = {"user-agent": f"agenttier-python/{__version__}"}
        # The TypeScript SDK's chain: explicit arguments (as a pair), else the environment, else the CLI
        # config where `agenttier up` saves its admin key, else an in-cluster ServiceAccount token file.
        if not (api_key or bearer_token):
            env = os.environ
            api_key = env.get("AGENTTIER_API_KEY") or None
            bearer_token = env.get("AGENTTIER_TOKEN") or env.get("AGENTTIER_BEARER_TOKEN") or None
            if not (api_key or bearer_token):
                api_key, bearer_token = cli_config_credentials()
        token_file = None
        if api_key:
            headers["x-api-key"] = api_key
        elif bearer_token:
            headers["authorization"] = f"Bearer {bearer_token}"
        else:
            token_file = service_account_token_file()
        return cls(base, headers, timeout, token_file)

    def websocket_url(self, path: str, params: Mapping[str, Any]) -> str:
        from urllib.parse import urlencode

        base = self.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{base}{path}?{query}" if query else f"{base}{path}"


# --- paths and bodies ---------------------------------------------------------------------------


def sandbox_path(name: str) -> str:
    return f"/api/v1/sandboxes/{quote(name, safe='')}"


def file_url_path(sandbox: str, path: str) -> str:
    # HTTP clients resolve `.` and `..` in URLs before sending, so `/workspace/../etc/passwd` would
    # silently become another file: refuse it here, as the server refuses `..` in every path.
    if any(part in (".", "..") for part in path.split("/")):
        raise ValidationError(f"path {path!r} has a '.' or '..' segment; name the file directly", code="BAD_REQUEST")
    return f"{sandbox_path(sandbox)}/files/{quote(path.lstrip('/'), safe='/')}"


def create_body(
    name: str,
    template: str,
    namespace: str,
    timeout: str | None,
    idle_timeout: str | None,
    overrides: Mapping[str, Any] | None,
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
    check_file_size(len(content))
    return content


def check_file_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise PayloadTooLargeError(
            f"{size} bytes is over the {MAX_FILE_BYTES}-byte cap per file; split it or tar it first"
        )


def wait_verdict(view: Mapping[str, Any], name: str, phase: str, timeout: float, expired: bool) -> bool:
    """True when ``view`` is in ``phase``; raises on Error or when the time is up; False to poll again."""
    status = str(view.get("status") or "Creating")
    if status == phase:
        return True
    if status == "Error" and phase != "Error":
        raise SandboxErrorState(f"sandbox {name} is in Error: {view.get('message', '')}", body=dict(view))
    if expired:
        raise SandboxTimeoutError(f"sandbox {name} is {status}, not {phase}, after {timeout:g} s", body=dict(view))
    return False


# --- server-sent events -------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event: its name, its data (decoded JSON, else the text) and its SSE id."""

    event: str
    data: Any
    id: str | None = None


class SSEDecoder:
    """
    Incremental ``text/event-stream`` parsing (the WHATWG algorithm, as the TypeScript SDK does it):
    bytes in arbitrary chunks, UTF-8 split anywhere, lines ending in CRLF, LF or CR, ``:`` comments
    (keepalives) skipped, ``data:`` lines joined with ``\\n``, a blank line dispatches, a half-received
    event at the end is dropped (``pending`` says whether there is one).
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._pending_cr = False
        self._event = ""
        self._data: list[str] = []
        self._has_data = False
        self.last_id: str | None = None

    @property
    def pending(self) -> bool:
        return bool(self._buffer or self._has_data or self._event)

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        text = self._utf8.decode(chunk)
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]
        self._pending_cr = False
        self._buffer += text
        events: list[StreamEvent] = []
        start = 0
        i = 0
        buf = self._buffer
        while i < len(buf):
            ch = buf[i]
            if ch == "\n" or ch == "\r":
                line = buf[start:i]
                if ch == "\r":
                    if i + 1 < len(buf):
                        if buf[i + 1] == "\n":
                            i += 1
                    else:
                        self._pending_cr = True
                start = i + 1
                ev = self._line(line)
                if ev is not None:
                    events.append(ev)
            i += 1
        self._buffer = buf[start:]
        return events

    def _line(self, line: str) -> StreamEvent | None:
        if line == "":
            if not self._has_data:
                self._event = ""
                return None
            raw = "\n".join(self._data)
            name = self._event or "message"
            self._event, self._data, self._has_data = "", [], False
            try:
                data: Any = json.loads(raw)
            except ValueError:
                data = raw
            return StreamEvent(name, data, self.last_id)
        if line.startswith(":"):
            return None
        key, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if key == "event":
            self._event = value
        elif key == "data":
            self._data.append(value)
            self._has_data = True
        elif key == "id" and "\0" not in value:
            self.last_id = value
        return None


class EventStream:
    """
    The state of one logical event stream across connections: which call opens it next, the events
    in the bytes received, and whether an interrupted connection may be re-attached (``resume`` makes
    the call that continues after the last event id, or returns None when that is impossible).
    """

    MAX_RESUMES_WITHOUT_PROGRESS = 5

    def __init__(
        self,
        first: Call,
        *,
        terminal: frozenset[str] = frozenset(),
        resume: Callable[[EventStream], Call | None] | None = None,
        observe: Callable[[EventStream, StreamEvent], None] | None = None,
        abandon: Callable[[EventStream], Call | None] | None = None,
    ) -> None:
        self._observe = observe
        self._abandon = abandon
        self._next: Call | None = first
        self.terminal = terminal
        self._resume = resume
        self._decoder = SSEDecoder()
        self.last_id: str | None = None
        self.headers: Mapping[str, str] = {}
        self.done = False
        self.last_event: StreamEvent | None = None
        self.state: dict[str, Any] = {}
        self._failures = 0

    @property
    def resume_delay(self) -> float:
        return 0.0 if self._failures <= 1 else min(0.25 * float(2 ** (self._failures - 2)), 4.0)

    def next_call(self) -> Call | None:
        call, self._next = self._next, None
        return None if self.done else call

    def opened(self, headers: Mapping[str, str]) -> None:
        self.headers = headers
        self._decoder = SSEDecoder()

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for ev in self._decoder.feed(chunk):
            if self.done:
                break
            if ev.id is not None:
                self.last_id = ev.id
            self._failures = 0
            self.last_event = ev
            if self._observe:
                self._observe(self, ev)
            out.append(ev)
            if ev.event in self.terminal:
                self.done = True
        return out

    def interrupted(self, cause: BaseException | None) -> None:
        """The connection ended before a terminal event: plan a re-attach, or raise."""
        if self.done:
            return
        self._failures += 1
        resumed = self._resume(self) if self._resume else None
        why = f"({cause})" if cause else "(the server closed it)"
        if resumed is None or self._failures > self.MAX_RESUMES_WITHOUT_PROGRESS:
            raise StreamInterruptedError(
                f"the event stream ended before it finished {why}; last event id {self.last_id}",
                last_event_id=self.last_id,
            )
        self._next = resumed

    def abandon_call(self) -> Call | None:
        """What to send when the caller leaves before the end (cancel a run the stream kept alive)."""
        return None if self.done or self._abandon is None else self._abandon(self)

    def fail_on_error_event(self, ev: StreamEvent) -> None:
        if ev.event == "error":
            data = ev.data if isinstance(ev.data, Mapping) else {"message": str(ev.data)}
            raise StreamError(str(data.get("message") or "stream error"), code=data.get("code"), body=dict(data))


@dataclass
class Collected:
    """Output gathered from ``log`` / ``stdout`` / ``stderr`` events."""

    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


class Folded(Generic[R]):
    """An event stream whose events add up to one result (an invoke's output, a configure's result)."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream

    def add(self, event: StreamEvent) -> None:
        raise NotImplementedError

    def result(self) -> R:
        raise NotImplementedError


def named_like(method: Any, plan: Callable[..., Any]) -> Any:
    """``method`` (a binding of ``plan``) with the plan's docstring and public name (``_exec`` → ``exec``)."""
    method.__doc__ = plan.__doc__
    method.__name__ = plan.__name__.lstrip("_")
    method.__qualname__ = method.__name__
    return method
