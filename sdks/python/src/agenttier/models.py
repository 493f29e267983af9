"""Typed results. Unknown response fields are kept in ``raw`` rather than dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int
    duration_ms: int | None = None
    timed_out: bool = False
    truncated: bool = False

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> ExecResult:
        return cls(
            stdout=j.get("stdout", ""),
            stderr=j.get("stderr", ""),
            exit_code=int(j.get("exitCode", -1)),
            duration_ms=j.get("durationMs"),
            timed_out=bool(j.get("timedOut", False)),
            truncated=bool(j.get("truncated", False)),
        )


@dataclass(frozen=True)
class FileEntry:
    name: str
    path: str
    size: int
    is_dir: bool
    mode: str = ""
    modified_at: int = 0

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> FileEntry:
        return cls(
            name=j["name"],
            path=j.get("path", ""),
            size=int(j.get("size", 0)),
            is_dir=bool(j.get("isDir", False)),
            mode=j.get("mode", ""),
            modified_at=int(j.get("modifiedAt", 0)),
        )


@dataclass(frozen=True)
class PortForward:
    port: int
    protocol: str
    preview_url: str | None
    internal_url: str
    name: str | None = None
    listening: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> PortForward:
        return cls(
            port=int(j["port"]),
            protocol=j.get("protocol", "http"),
            preview_url=j.get("previewUrl"),
            internal_url=j.get("internalUrl", ""),
            name=j.get("name"),
            listening=j.get("listening"),
            raw=j,
        )


@dataclass(frozen=True)
class ProcessInfo:
    """A background process (``sandbox.processes``); ``id`` names it in every later call."""

    id: str
    pid: int | None
    state: str
    command: Any
    name: str | None = None
    exit_code: int | None = None
    signal: str | None = None
    timed_out: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> ProcessInfo:
        return cls(
            id=str(j["id"]),
            pid=j.get("pid"),
            state=str(j.get("state", "")),
            command=j.get("command"),
            name=j.get("name"),
            exit_code=j.get("exitCode"),
            signal=j.get("signal"),
            timed_out=bool(j.get("timedOut", False)),
            raw=j,
        )


@dataclass(frozen=True)
class ConfigureResult:
    """The ``result`` event of ``agent.configure``."""

    entrypoint: list[str]
    install_exit_code: int | None
    install_command_hash: str
    last_configured_at: str
    skipped: bool
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, j: Any) -> ConfigureResult:
        return cls(
            entrypoint=list(j.get("entrypoint") or []),
            install_exit_code=j.get("installExitCode"),
            install_command_hash=str(j.get("installCommandHash", "")),
            last_configured_at=str(j.get("lastConfiguredAt", "")),
            skipped=bool(j.get("skipped", False)),
            raw=dict(j),
        )


@dataclass(frozen=True)
class InvokeResult:
    """A finished invoke: its output lines joined with ``\\n`` per stream, and how it ended."""

    invoke_id: str
    exit_code: int
    duration_ms: int | None
    reason: str
    stdout: str
    stderr: str
