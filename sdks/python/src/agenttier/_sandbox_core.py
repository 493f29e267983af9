"""
What a sandbox handle does, written once as plans and event streams (see ``_core.py``).
``_async/sandbox.py`` binds these to ``AsyncSandbox`` (and ``_sync/sandbox.py``, generated from it, to
``Sandbox``).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Callable, Mapping, Sequence, TypeVar, Union
from urllib.parse import quote

from ._core import (
    Folded,
    HTTP_GRACE_S,
    Call,
    EventStream,
    Plan,
    Reply,
    Sleep,
    StreamEvent,
    call_json,
    check_file_size,
    file_content,
    file_url_path,
    sandbox_path,
    wait_verdict,
)
from .errors import AgentTierError, StreamError
from .models import (
    ConfigureResult,
    ExecResult,
    FileEntry,
    InvokeResult,
    PortForward,
    ProcessInfo,
)

T = TypeVar("T", bound="SandboxCore")
Command = Union[str, Sequence[str]]


def exec_body(
    command: Command,
    timeout: float | None,
    env: Mapping[str, str] | None,
    cwd: str | None,
    stdin: str | None,
) -> dict[str, Any]:
    if not isinstance(command, str) and not (
        isinstance(command, Sequence) and command and all(isinstance(a, str) for a in command)
    ):
        raise TypeError("command is a string (run by /bin/sh -c) or a non-empty list of strings (argv)")
    body: dict[str, Any] = {"command": command if isinstance(command, str) else list(command)}
    if timeout is not None:
        body["timeout"] = timeout
    if env:
        body["env"] = dict(env)
    if cwd is not None:
        body["cwd"] = cwd
    if stdin is not None:
        body["stdin"] = stdin
    return body


class SandboxCore:
    """A sandbox by name; ``view`` is the last answer about it (``status`` reads it)."""

    def __init__(self, view: Mapping[str, Any]) -> None:
        self.name: str = str(view["name"])
        self.namespace: str = str(view.get("namespace") or "default")
        self.view: dict[str, Any] = dict(view)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.namespace}/{self.name}, {self.status})"

    @property
    def id(self) -> str:
        return self.name

    @property
    def sandbox_id(self) -> str:
        return str(self.view.get("sandboxId") or self.name)

    @property
    def status(self) -> str:
        return str(self.view.get("status") or "Creating")

    phase = status

    @property
    def template(self) -> str:
        ref = self.view.get("templateRef")
        return str(ref.get("name", "")) if isinstance(ref, Mapping) else str(ref or "")

    @property
    def path(self) -> str:
        return sandbox_path(self.name)

    @property
    def ns(self) -> dict[str, str]:
        return {"namespace": self.namespace}

    def call(self, method: str, suffix: str = "", **kw: Any) -> Call:
        params = {**self.ns, **(kw.pop("params", None) or {})}
        return Call(method, self.path + suffix, params=params, **kw)

    # --- plans -----------------------------------------------------------------------------
    def _refresh(self: T) -> Plan[T]:
        """Re-reads the sandbox; ``status`` then tells its phase now."""
        self.view = yield from call_json(self.call("GET"))
        return self

    def _wait_for(self: T, phase: str, timeout: float, poll_interval: float) -> Plan[T]:
        import time

        deadline = time.monotonic() + timeout
        while True:
            yield from self._refresh()
            if wait_verdict(self.view, self.name, phase, timeout, time.monotonic() >= deadline):
                return self
            yield Sleep(poll_interval)

    def _wait_until_running(self: T, timeout: float = 120, poll_interval: float = 0.5) -> Plan[T]:
        """Polls until ``Running``; ``SandboxErrorState`` on ``Error``, ``SandboxTimeoutError`` after ``timeout`` s."""
        return self._wait_for("Running", timeout, poll_interval)

    def _wait_until_stopped(self: T, timeout: float = 120, poll_interval: float = 0.5) -> Plan[T]:
        """Polls until ``Stopped``."""
        return self._wait_for("Stopped", timeout, poll_interval)

    def _exec(
        self,
        command: Command,
        timeout: float | None = None,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stdin: str | None = None,
    ) -> Plan[ExecResult]:
        """A string runs through ``/bin/sh -c``; a list runs as argv. ``timeout`` in seconds (default 30)."""
        body = exec_body(command, timeout, env, cwd, stdin)
        res = yield from call_json(self.call("POST", "/exec", json=body, timeout=(timeout or 30) + HTTP_GRACE_S))
        return ExecResult.from_json(res)

    def _exec_stream(
        self,
        command: Command,
        timeout: float | None = None,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stdin: str | None = None,
    ) -> EventStream:
        """
        Output as it happens: events ``start``, ``stdout`` / ``stderr`` (``data``, ``offset``), then
        ``exit`` (``exitCode``, ``signal``, ``timedOut``, ``durationMs``) or ``error``. Leaving the loop
        kills the process; a broken connection ends with ``StreamInterruptedError`` (never re-run).
        """
        body = exec_body(command, timeout, env, cwd, stdin)
        return EventStream(self.call("POST", "/exec/stream", json=body, sse=True), terminal=frozenset({"exit", "error"}))

    def _stop(self) -> Plan[None]:
        """Asks for Stopped (the workspace is kept); ``wait_until_stopped()`` waits for it."""
        res = yield from call_json(self.call("POST", "/stop"))
        self.view = res.get("sandbox") or self.view

    def _resume(self) -> Plan[None]:
        """Asks for Running again on the same workspace."""
        res = yield from call_json(self.call("POST", "/resume"))
        self.view = res.get("sandbox") or self.view

    def _delete(self) -> Plan[None]:
        """Deletes the sandbox and its workspace (permanent)."""
        yield from call_json(self.call("DELETE"))

    def _usage(self) -> Plan[dict[str, Any]]:
        """
        What the running sandbox uses now (wire names): ``cpu`` (``usageCores``, ``limitCores``,
        ``percent``, ``windowMs``), ``memory`` (``bytes``, ``workingSetBytes``, ``limitBytes``), ``pids``
        (``current``, ``max``), ``storage`` (``path``, ``usedBytes``, ``limitBytes``); a section the
        runtime does not show is ``None``, with the reason in ``unavailable``. ``ConflictError``
        (``SANDBOX_NOT_RUNNING``) when it is not running.
        """
        return dict((yield from call_json(self.call("GET", "/usage"))))

    def _events(self) -> Plan[list[dict[str, Any]]]:
        """What happened to the sandbox, oldest first: ``type`` (Normal, Warning), ``reason``, ``message``,
        ``count``, ``firstTimestamp``, ``lastTimestamp`` (as ``kubectl describe`` shows Events)."""
        res = yield from call_json(self.call("GET", "/events"))
        return [dict(e) for e in (res or {}).get("events") or []]

    def _update(self, /, **fields: Any) -> Plan[dict[str, Any]]:
        """``PATCH`` (a JSON merge patch): ``idleTimeout``, ``resources``, ``labels``, ``annotations`` (wire
        names); the answer. A label or annotation set to ``None`` is removed: ``update(labels={"old": None})``."""
        if not fields:
            raise ValueError("update() needs at least one field")
        res = dict((yield from call_json(self.call("PATCH", json=fields))))
        if "status" in res and "name" in res:
            self.view = res
        return res


class FilesCore:
    """``sandbox.files``: paths are absolute inside the sandbox (its workspace or ``/tmp``)."""

    def __init__(self, sandbox: SandboxCore) -> None:
        self._sb = sandbox

    def _file(self, method: str, path: str, **kw: Any) -> Call:
        params = {**self._sb.ns, **(kw.pop("params", None) or {})}
        return Call(method, file_url_path(self._sb.name, path), params=params, **kw)

    def _write(self, path: str, data: bytes | str) -> Plan[int]:
        """Writes ``data`` (str as UTF-8) to ``path``, creating parent directories; returns the byte count."""
        content = file_content(data)
        headers = {"content-type": "application/octet-stream"}
        res = yield from call_json(self._file("PUT", path, content=content, headers=headers))
        return int((res or {}).get("bytes", len(content)))

    def _read(self, path: str) -> Plan[bytes]:
        """The file's bytes (at most 32 MiB; ``download`` streams to disk instead)."""
        reply: Reply = yield self._file("GET", path)
        return reply.content

    def _list(self, path: str = "/workspace") -> Plan[list[FileEntry]]:
        """The entries of a directory."""
        call = Call("GET", f"{self._sb.path}/files/", params={**self._sb.ns, "path": path})
        res = yield from call_json(call)
        return [FileEntry.from_json(e) for e in (res or {}).get("entries") or []]

    def _upload(self, local_path: str, path: str) -> Plan[int]:
        """Streams a local file to ``path`` (never read into memory whole); 32 MiB cap, checked first."""
        size = os.stat(local_path).st_size
        check_file_size(size)
        headers = {"content-type": "application/octet-stream", "content-length": str(size)}
        res = yield from call_json(self._file("PUT", path, upload_path=local_path, headers=headers))
        return int((res or {}).get("bytes", size))

    def _download(self, path: str, local_path: str) -> Plan[None]:
        """Streams ``path`` into ``local_path`` (written to a temporary file beside it, then renamed)."""
        yield self._file("GET", path, download_to=local_path)

    def _archive(self, dest: str, path: str = "/workspace") -> Plan[None]:
        """Streams a zip of the directory ``path`` into the local file ``dest``."""
        yield Call("GET", f"{self._sb.path}/archive", params={**self._sb.ns, "path": path}, download_to=dest)

    def _delete(self, path: str, recursive: bool = False) -> Plan[None]:
        """Removes a file, or a directory (``recursive=True`` when it is not empty)."""
        yield self._file("DELETE", path, params={"recursive": "true" if recursive else None})

    def _stat(self, path: str) -> Plan[FileEntry]:
        res = yield from call_json(Call("GET", f"{self._sb.path}/fs/stat", params={**self._sb.ns, "path": path}))
        return FileEntry.from_json(res)

    def _mkdir(self, path: str, parents: bool = True) -> Plan[FileEntry]:
        res = yield from call_json(self._sb.call("POST", "/fs/mkdir", json={"path": path, "parents": parents}))
        return FileEntry.from_json(res)

    def _watch(self, path: str = "/workspace", recursive: bool = True) -> EventStream:
        """
        Changes under ``path``: ``ready`` first, then ``change`` events (``data["type"]`` is created,
        modified or deleted; ``data["path"]``) until you leave the loop.
        """
        params = {**self._sb.ns, "path": path, "recursive": "true" if recursive else "false"}
        return EventStream(Call("GET", f"{self._sb.path}/fs/watch", params=params, sse=True), terminal=frozenset({"error"}))


class PortForwardsCore:
    """``sandbox.port_forwards``: create (optionally named), list, delete by name or port."""

    def __init__(self, sandbox: SandboxCore) -> None:
        self._sb = sandbox

    def _create(self, port: int, name: str | None = None, protocol: str = "http") -> Plan[PortForward]:
        body: dict[str, Any] = {"port": port, "protocol": protocol}
        if name is not None:
            body["name"] = name
        return PortForward.from_json((yield from call_json(self._sb.call("POST", "/ports", json=body))))

    def _list(self) -> Plan[list[PortForward]]:
        res = yield from call_json(self._sb.call("GET", "/ports"))
        return [PortForward.from_json(p) for p in (res or {}).get("ports") or []]

    def _delete(self, name_or_port: str | int) -> Plan[None]:
        yield from call_json(self._sb.call("DELETE", f"/ports/{quote(str(name_or_port), safe='')}"))


def _resume_from_last_id(path: str, params: Mapping[str, Any]) -> Callable[[EventStream], Call]:
    def resume(stream: EventStream) -> Call:
        headers = {"last-event-id": stream.last_id} if stream.last_id else None
        return Call("GET", path, params=params, headers=headers, sse=True)

    return resume


class ProcessesCore:
    """``sandbox.processes``: background processes that outlive the call that started them."""

    def __init__(self, sandbox: SandboxCore) -> None:
        self._sb = sandbox

    def _path(self, pid: str = "", suffix: str = "") -> str:
        return f"/processes/{quote(pid, safe='')}{suffix}" if pid else "/processes"

    def _start(
        self,
        command: Command,
        *,
        name: str | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> Plan[ProcessInfo]:
        """Starts ``command`` in the background (``timeout`` in seconds, up to 7 days)."""
        body = exec_body(command, timeout, env, cwd, None)
        if name is not None:
            body["name"] = name
        return ProcessInfo.from_json((yield from call_json(self._sb.call("POST", self._path(), json=body))))

    def _list(self) -> Plan[list[ProcessInfo]]:
        res = yield from call_json(self._sb.call("GET", self._path()))
        return [ProcessInfo.from_json(p) for p in (res or {}).get("processes") or []]

    def _get(self, pid: str) -> Plan[ProcessInfo]:
        return ProcessInfo.from_json((yield from call_json(self._sb.call("GET", self._path(pid)))))

    def _signal(self, pid: str, signal: str = "SIGTERM") -> Plan[ProcessInfo]:
        call = self._sb.call("POST", self._path(pid, "/signal"), json={"signal": signal})
        return ProcessInfo.from_json((yield from call_json(call)))

    def _kill(self, pid: str) -> Plan[ProcessInfo]:
        """Kills the process group and forgets the process."""
        return ProcessInfo.from_json((yield from call_json(self._sb.call("DELETE", self._path(pid)))))

    def _output(self, pid: str, from_offset: int = 0) -> EventStream:
        """
        The output from byte ``from_offset`` on, then live until ``exit``. Leaving the loop detaches
        (the process keeps running); a dropped connection re-attaches after the last offset seen.
        """
        path = self._sb.path + self._path(pid, "/output")
        stream = EventStream(
            Call("GET", path, params=self._sb.ns, headers={"last-event-id": str(from_offset)}, sse=True),
            terminal=frozenset({"exit", "error"}),
            resume=_resume_from_last_id(path, self._sb.ns),
        )
        return stream


# --- agent mode ---------------------------------------------------------------------------------

FileSpec = Union[tuple[str, Union[str, bytes]], Mapping[str, Any]]


def configure_files(files: Sequence[FileSpec]) -> list[dict[str, Any]]:
    """
    Seed-SDK forms: ``("/workspace/agent.py", "./agent.py")`` uploads a local file, ``(path, b"…")``
    sends bytes; wire form ``{"path", "content" | "contentBase64", "mode"?}`` passes through.
    """
    out: list[dict[str, Any]] = []
    for spec in files:
        if isinstance(spec, Mapping):
            out.append(dict(spec))
            continue
        if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str)):
            raise TypeError(f"a configure file is (sandbox_path, local_path | bytes) or a dict, not {spec!r}")
        remote, source = spec
        data = source if isinstance(source, bytes) else open(source, "rb").read()
        check_file_size(len(data))
        out.append({"path": remote, "contentBase64": base64.b64encode(data).decode("ascii")})
    return out


def invoke_body(payload: Any) -> tuple[bytes | None, dict[str, str]]:
    """The invoke's stdin: bytes as they are, str as UTF-8, anything else as JSON."""
    if payload is None:
        return None, {"content-type": "application/octet-stream"}
    if isinstance(payload, bytes):
        return payload, {"content-type": "application/octet-stream"}
    if isinstance(payload, str):
        return payload.encode(), {"content-type": "application/octet-stream"}
    return json.dumps(payload).encode(), {"content-type": "application/json"}


class ConfigureFold(Folded[ConfigureResult]):
    def __init__(self, stream: EventStream, on_log: Callable[[str, str], None] | None) -> None:
        super().__init__(stream)
        self._on_log = on_log
        self._result: ConfigureResult | None = None

    def add(self, event: StreamEvent) -> None:
        if event.event == "log" and self._on_log and isinstance(event.data, Mapping):
            self._on_log(str(event.data.get("stream", "stdout")), str(event.data.get("data", "")))
        elif event.event == "result" and isinstance(event.data, Mapping):
            self._result = ConfigureResult.from_json(event.data)
        self.stream.fail_on_error_event(event)

    def result(self) -> ConfigureResult:
        if self._result is None:
            raise StreamError("configure stream ended without a result event")
        return self._result


class InvokeFold(Folded[InvokeResult]):
    def __init__(self, stream: EventStream) -> None:
        super().__init__(stream)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.exit: Mapping[str, Any] | None = None
        self.invoke_id: str | None = None

    def add(self, event: StreamEvent) -> None:
        data = event.data if isinstance(event.data, Mapping) else {}
        if event.event == "start":
            self.invoke_id = data.get("invokeId")
        elif event.event == "log":
            (self.stderr if data.get("stream") == "stderr" else self.stdout).append(str(data.get("data", "")))
        elif event.event == "exit":
            self.exit = data
        self.stream.fail_on_error_event(event)

    def result(self) -> InvokeResult:
        if self.exit is None:
            raise StreamError("invoke stream ended without an exit event")
        return InvokeResult(
            invoke_id=str(self.exit.get("invokeId") or self.invoke_id or ""),
            exit_code=int(self.exit.get("exitCode", -1)),
            duration_ms=self.exit.get("durationMs"),
            reason=str(self.exit.get("reason", "")),
            stdout="\n".join(self.stdout),
            stderr="\n".join(self.stderr),
        )


class AgentCore:
    """``sandbox.agent``: configure once, then invoke (streamed, re-attachable, cancelable)."""

    def __init__(self, sandbox: SandboxCore) -> None:
        self._sb = sandbox

    def _configure_stream(
        self,
        files: Sequence[FileSpec] | None = None,
        install_command: Sequence[str] | str | None = None,
        entrypoint: Sequence[str] | str | None = None,
        *,
        install_timeout: str | None = None,
        max_concurrent_invokes: int | None = None,
        default_invoke_timeout: str | None = None,
    ) -> EventStream:
        body: dict[str, Any] = {}
        if files:
            body["files"] = configure_files(files)
        for key, value in (
            ("installCommand", install_command),
            ("entrypoint", entrypoint),
            ("installTimeout", install_timeout),
            ("maxConcurrentInvokes", max_concurrent_invokes),
            ("defaultInvokeTimeout", default_invoke_timeout),
        ):
            if value is not None:
                body[key] = value if isinstance(value, (str, int)) else list(value)
        if not body:
            raise ValueError("configure() needs files, install_command or entrypoint")
        return EventStream(self._sb.call("POST", "/configure", json=body, sse=True), terminal=frozenset({"result", "error"}))

    def _configure(
        self,
        files: Sequence[FileSpec] | None = None,
        install_command: Sequence[str] | str | None = None,
        entrypoint: Sequence[str] | str | None = None,
        on_log: Callable[[str, str], None] | None = None,
        *,
        install_timeout: str | None = None,
        max_concurrent_invokes: int | None = None,
        default_invoke_timeout: str | None = None,
    ) -> ConfigureFold:
        """
        Uploads ``files``, runs ``install_command`` (its output goes to ``on_log(stream, line)``) and
        sets ``entrypoint``. Returns the ``ConfigureResult``; an ``error`` event raises ``StreamError``.
        """
        stream = self._configure_stream(
            files,
            install_command,
            entrypoint,
            install_timeout=install_timeout,
            max_concurrent_invokes=max_concurrent_invokes,
            default_invoke_timeout=default_invoke_timeout,
        )
        return ConfigureFold(stream, on_log)

    def _stream(
        self,
        payload: Any = None,
        prompt: str | None = None,
        *,
        invoke_timeout: str | None = None,
        detach: bool = False,
    ) -> EventStream:
        """
        The invoke's events: ``start`` (``invokeId``), ``log`` (``stream``, ``data``) per line, then
        ``exit`` (``exitCode``, ``reason``). A dropped connection re-attaches to the run by its id
        after the last event seen (``Last-Event-ID``), so nothing is lost or repeated. Leaving the
        loop cancels the run unless ``detach=True``.
        """
        content, headers = invoke_body(payload)
        # Started detached, so a dropped connection does not end the run and the stream can re-attach;
        # leaving the loop early cancels it explicitly (unless the caller asked for ``detach``).
        params: dict[str, Any] = {"prompt": prompt, "timeout": invoke_timeout, "detach": "true"}
        first = self._sb.call("POST", "/invoke", params=params, content=content, headers=headers, sse=True)

        def resume(stream: EventStream) -> Call | None:
            invoke_id = stream.state.get("invokeId") or stream.headers.get("x-invoke-id")
            if not invoke_id:
                return None  # the run never started (or we never learnt its id): nothing to re-attach to
            stream.state["invokeId"] = invoke_id
            path = f"/invokes/{quote(str(invoke_id), safe='')}/stream"
            return self._sb.call(
                "GET", path, headers={"last-event-id": stream.last_id or "0"}, sse=True
            )

        def observe(stream: EventStream, ev: StreamEvent) -> None:
            if ev.event == "start" and isinstance(ev.data, Mapping) and ev.data.get("invokeId"):
                stream.state["invokeId"] = ev.data["invokeId"]

        def abandon(stream: EventStream) -> Call | None:
            invoke_id = stream.state.get("invokeId") or stream.headers.get("x-invoke-id")
            if detach or not invoke_id:
                return None
            return self._sb.call("POST", "/invoke/cancel", json={"invokeId": invoke_id}, timeout=5.0)

        stream = EventStream(first, terminal=frozenset({"exit"}), resume=resume, observe=observe, abandon=abandon)
        return stream

    def _invoke(
        self,
        payload: Any = None,
        prompt: str | None = None,
        *,
        invoke_timeout: str | None = None,
    ) -> InvokeFold:
        """Runs the entrypoint with ``payload`` as stdin and returns its collected ``InvokeResult``."""
        return InvokeFold(self._stream(payload, prompt, invoke_timeout=invoke_timeout))

    def _attach(self, invoke_id: str, after: int = 0) -> EventStream:
        """Replays a run's events after id ``after``, then follows it live until ``exit``."""
        path = f"/invokes/{quote(invoke_id, safe='')}/stream"

        def resume(stream: EventStream) -> Call:
            return self._sb.call("GET", path, headers={"last-event-id": stream.last_id or str(after)}, sse=True)

        first = self._sb.call("GET", path, headers={"last-event-id": str(after)}, sse=True)
        return EventStream(first, terminal=frozenset({"exit"}), resume=resume)

    def _cancel(self, invoke_id: str) -> Plan[None]:
        """Cancels a running invoke (``NotFoundError`` when unknown or already finished)."""
        if not invoke_id:
            raise AgentTierError("cancel() needs an invoke id")
        yield from call_json(self._sb.call("POST", "/invoke/cancel", json={"invokeId": invoke_id}))

    def _invokes(self) -> Plan[list[dict[str, Any]]]:
        """The sandbox's invoke records, newest first."""
        res = yield from call_json(self._sb.call("GET", "/invokes"))
        return list((res or {}).get("invokes") or [])

    def _get_invoke(self, invoke_id: str) -> Plan[dict[str, Any]]:
        res = yield from call_json(self._sb.call("GET", f"/invokes/{quote(invoke_id, safe='')}"))
        return dict(res)

    def _config(self) -> Plan[dict[str, Any]]:
        """What the last successful configure set: ``configured``, ``entrypoint``, ``installCommand``,
        ``files`` (paths and sizes, no contents), ``envNames`` (no values) and the seed's status fields."""
        res = yield from call_json(self._sb.call("GET", "/agent/config"))
        return dict(res)

    def _install_log(self) -> Plan[str]:
        res = yield from call_json(self._sb.call("GET", "/configure/install-log"))
        return str((res or {}).get("log", ""))
