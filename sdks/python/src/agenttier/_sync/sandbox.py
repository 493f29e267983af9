# GENERATED from src/agenttier/_async/sandbox.py by sdks/python/scripts/unasync.py: do not edit.
# Edit the async source, then regenerate from the repository root: python3 sdks/python/scripts/unasync.py
"""
The sandbox handle ``Sandbox`` with its ``files``, ``port_forwards``, ``processes`` and ``agent``
namespaces. Every method is a plan of ``_sandbox_core.py`` bound to the transport (``bind.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, cast

from .._sandbox_core import AgentCore, FilesCore, PortForwardsCore, ProcessesCore, SandboxCore
from ..terminal import Terminal
from ._backend import PortForwardsExtras
from .bind import run_fold, run_plan, run_stream
from .transport import Transport

if TYPE_CHECKING:
    from .client import AgentTierClient


class OnSandbox:
    """A namespace of a sandbox (``files``, ``agent``, …): its plans run on the sandbox's transport."""

    _sb: SandboxCore

    @property
    def _t(self) -> Transport:
        return cast(Sandbox, self._sb)._t


class Files(FilesCore, OnSandbox):
    write = run_plan(FilesCore._write)
    read = run_plan(FilesCore._read)
    list = run_plan(FilesCore._list)
    upload = run_plan(FilesCore._upload)
    download = run_plan(FilesCore._download)
    archive = run_plan(FilesCore._archive)
    delete = run_plan(FilesCore._delete)
    stat = run_plan(FilesCore._stat)
    mkdir = run_plan(FilesCore._mkdir)
    watch = run_stream(FilesCore._watch)


class PortForwards(PortForwardsCore, OnSandbox, PortForwardsExtras):
    create = run_plan(PortForwardsCore._create)
    list = run_plan(PortForwardsCore._list)
    delete = run_plan(PortForwardsCore._delete)


class Processes(ProcessesCore, OnSandbox):
    start = run_plan(ProcessesCore._start)
    list = run_plan(ProcessesCore._list)
    get = run_plan(ProcessesCore._get)
    signal = run_plan(ProcessesCore._signal)
    kill = run_plan(ProcessesCore._kill)
    output = run_stream(ProcessesCore._output)


class Agent(AgentCore, OnSandbox):
    configure = run_fold(AgentCore._configure)
    configure_stream = run_stream(AgentCore._configure_stream)
    invoke = run_fold(AgentCore._invoke)
    stream = run_stream(AgentCore._stream)
    invoke_stream = stream  # the seed SDK's name
    attach = run_stream(AgentCore._attach)
    cancel = run_plan(AgentCore._cancel)
    invoke_cancel = cancel  # the seed SDK's name
    invokes = run_plan(AgentCore._invokes)
    get_invoke = run_plan(AgentCore._get_invoke)
    install_log = run_plan(AgentCore._install_log)
    config = run_plan(AgentCore._config)


class Sandbox(SandboxCore):
    """A handle on one sandbox. ``status`` is the phase as of the last call; ``refresh()`` re-reads it."""

    def __init__(self, client: AgentTierClient, view: Mapping[str, Any]) -> None:
        super().__init__(view)
        self._client = client
        self._t: Transport = client._t
        self.files = Files(self)
        self.port_forwards = PortForwards(self)
        self.processes = Processes(self)
        self.agent = Agent(self)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        """Leaving ``with client.create_sandbox(…) as sb:`` deletes the sandbox."""
        self.delete()

    refresh = run_plan(SandboxCore._refresh)
    wait_until_running = run_plan(SandboxCore._wait_until_running)
    wait_until_stopped = run_plan(SandboxCore._wait_until_stopped)
    exec = run_plan(SandboxCore._exec)
    exec_stream = run_stream(SandboxCore._exec_stream)
    stop = run_plan(SandboxCore._stop)
    resume = run_plan(SandboxCore._resume)
    delete = run_plan(SandboxCore._delete)
    terminate = delete
    update = run_plan(SandboxCore._update)
    usage = run_plan(SandboxCore._usage)
    events = run_plan(SandboxCore._events)

    def terminal(self, session: str = "main", cols: int = 120, rows: int = 40) -> Terminal:
        """An interactive shell over WebSocket (``with sandbox.terminal() as term:``)."""
        return Terminal(self._t.conn, self.name, self.namespace, session, cols, rows)
