"""
The sandbox handles: ``Sandbox`` (blocking) and ``AsyncSandbox`` (awaitable), with their ``files``,
``port_forwards``, ``processes`` and ``agent`` namespaces. Every method is a plan of
``_sandbox_core.py`` bound to a transport (``_bind.py``); the two classes differ only in that binding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ._bind import aiterating, afolding, awaiting, blocking, folding, iterating
from ._sandbox_core import AgentCore, FilesCore, PortForwardsCore, ProcessesCore, SandboxCore
from ._transport import AsyncTransport, SyncTransport
from .terminal import AsyncTerminal, Terminal

if TYPE_CHECKING:
    from .client import AgentTierClient, AsyncAgentTierClient


class Files(FilesCore):
    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(sandbox)
        self._t: SyncTransport = sandbox._t

    write = blocking(FilesCore._write)
    read = blocking(FilesCore._read)
    list = blocking(FilesCore._list)
    upload = blocking(FilesCore._upload)
    download = blocking(FilesCore._download)
    archive = blocking(FilesCore._archive)
    delete = blocking(FilesCore._delete)
    stat = blocking(FilesCore._stat)
    mkdir = blocking(FilesCore._mkdir)
    watch = iterating(FilesCore._watch)


class AsyncFiles(FilesCore):
    def __init__(self, sandbox: AsyncSandbox) -> None:
        super().__init__(sandbox)
        self._t: AsyncTransport = sandbox._t

    write = awaiting(FilesCore._write)
    read = awaiting(FilesCore._read)
    list = awaiting(FilesCore._list)
    upload = awaiting(FilesCore._upload)
    download = awaiting(FilesCore._download)
    archive = awaiting(FilesCore._archive)
    delete = awaiting(FilesCore._delete)
    stat = awaiting(FilesCore._stat)
    mkdir = awaiting(FilesCore._mkdir)
    watch = aiterating(FilesCore._watch)


class PortForwards(PortForwardsCore):
    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(sandbox)
        self._t: SyncTransport = sandbox._t

    create = blocking(PortForwardsCore._create)
    list = blocking(PortForwardsCore._list)
    delete = blocking(PortForwardsCore._delete)

    def __iter__(self) -> Any:
        return iter(self.list())


class AsyncPortForwards(PortForwardsCore):
    def __init__(self, sandbox: AsyncSandbox) -> None:
        super().__init__(sandbox)
        self._t: AsyncTransport = sandbox._t

    create = awaiting(PortForwardsCore._create)
    list = awaiting(PortForwardsCore._list)
    delete = awaiting(PortForwardsCore._delete)


class Processes(ProcessesCore):
    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(sandbox)
        self._t: SyncTransport = sandbox._t

    start = blocking(ProcessesCore._start)
    list = blocking(ProcessesCore._list)
    get = blocking(ProcessesCore._get)
    signal = blocking(ProcessesCore._signal)
    kill = blocking(ProcessesCore._kill)
    output = iterating(ProcessesCore._output)


class AsyncProcesses(ProcessesCore):
    def __init__(self, sandbox: AsyncSandbox) -> None:
        super().__init__(sandbox)
        self._t: AsyncTransport = sandbox._t

    start = awaiting(ProcessesCore._start)
    list = awaiting(ProcessesCore._list)
    get = awaiting(ProcessesCore._get)
    signal = awaiting(ProcessesCore._signal)
    kill = awaiting(ProcessesCore._kill)
    output = aiterating(ProcessesCore._output)


class Agent(AgentCore):
    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(sandbox)
        self._t: SyncTransport = sandbox._t

    configure = folding(AgentCore._configure)
    configure_stream = iterating(AgentCore._configure_stream)
    invoke = folding(AgentCore._invoke)
    stream = iterating(AgentCore._stream)
    invoke_stream = stream  # the seed SDK's name
    attach = iterating(AgentCore._attach)
    cancel = blocking(AgentCore._cancel)
    invoke_cancel = cancel  # the seed SDK's name
    invokes = blocking(AgentCore._invokes)
    get_invoke = blocking(AgentCore._get_invoke)
    install_log = blocking(AgentCore._install_log)
    config = blocking(AgentCore._config)


class AsyncAgent(AgentCore):
    def __init__(self, sandbox: AsyncSandbox) -> None:
        super().__init__(sandbox)
        self._t: AsyncTransport = sandbox._t

    configure = afolding(AgentCore._configure)
    configure_stream = aiterating(AgentCore._configure_stream)
    invoke = afolding(AgentCore._invoke)
    stream = aiterating(AgentCore._stream)
    invoke_stream = stream
    attach = aiterating(AgentCore._attach)
    cancel = awaiting(AgentCore._cancel)
    invoke_cancel = cancel
    invokes = awaiting(AgentCore._invokes)
    get_invoke = awaiting(AgentCore._get_invoke)
    install_log = awaiting(AgentCore._install_log)
    config = awaiting(AgentCore._config)


class Sandbox(SandboxCore):
    """A handle on one sandbox. ``status`` is the phase as of the last call; ``refresh()`` re-reads it."""

    def __init__(self, client: AgentTierClient, view: Mapping[str, Any]) -> None:
        super().__init__(view)
        self._client = client
        self._t: SyncTransport = client._t
        self.files = Files(self)
        self.port_forwards = PortForwards(self)
        self.processes = Processes(self)
        self.agent = Agent(self)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        """Leaving ``with client.create_sandbox(…) as sb:`` deletes the sandbox."""
        self.delete()

    refresh = blocking(SandboxCore._refresh)
    wait_until_running = blocking(SandboxCore._wait_until_running)
    wait_until_stopped = blocking(SandboxCore._wait_until_stopped)
    exec = blocking(SandboxCore._exec)
    exec_stream = iterating(SandboxCore._exec_stream)
    stop = blocking(SandboxCore._stop)
    resume = blocking(SandboxCore._resume)
    delete = blocking(SandboxCore._delete)
    terminate = delete
    update = blocking(SandboxCore._update)
    usage = blocking(SandboxCore._usage)
    events = blocking(SandboxCore._events)

    def terminal(self, session: str = "main", cols: int = 120, rows: int = 40) -> Terminal:
        """An interactive shell over WebSocket (``with sandbox.terminal() as term:``)."""
        return Terminal(self._t.conn, self.name, self.namespace, session, cols, rows)


class AsyncSandbox(SandboxCore):
    """The async handle: the same namespaces, every method awaitable."""

    def __init__(self, client: AsyncAgentTierClient, view: Mapping[str, Any]) -> None:
        super().__init__(view)
        self._client = client
        self._t: AsyncTransport = client._t
        self.files = AsyncFiles(self)
        self.port_forwards = AsyncPortForwards(self)
        self.processes = AsyncProcesses(self)
        self.agent = AsyncAgent(self)

    async def __aenter__(self) -> AsyncSandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.delete()

    refresh = awaiting(SandboxCore._refresh)
    wait_until_running = awaiting(SandboxCore._wait_until_running)
    wait_until_stopped = awaiting(SandboxCore._wait_until_stopped)
    exec = awaiting(SandboxCore._exec)
    exec_stream = aiterating(SandboxCore._exec_stream)
    stop = awaiting(SandboxCore._stop)
    resume = awaiting(SandboxCore._resume)
    delete = awaiting(SandboxCore._delete)
    terminate = delete
    update = awaiting(SandboxCore._update)
    usage = awaiting(SandboxCore._usage)
    events = awaiting(SandboxCore._events)

    def terminal(self, session: str = "main", cols: int = 120, rows: int = 40) -> AsyncTerminal:
        """``async with sandbox.terminal() as term:`` an interactive shell over WebSocket."""
        return AsyncTerminal(self._t.conn, self.name, self.namespace, session, cols, rows)
