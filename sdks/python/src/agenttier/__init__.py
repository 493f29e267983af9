"""AgentTier's Python client: ``AgentTierClient`` / ``AsyncAgentTierClient`` over one core, typed errors."""

from ._async.bind import AsyncEventIterator
from ._core import DEFAULT_API_URL, MAX_FILE_BYTES, StreamEvent, __version__
from ._sync.bind import EventIterator
from .client import AgentTierClient, AsyncAgentTierClient
from .errors import (
    AgentTierError,
    APIError,
    AuthenticationError,
    AuthorizationError,
    ConflictError,
    ConnectionError,
    NotConfiguredError,
    NotFoundError,
    PayloadTooLargeError,
    PolicyViolationError,
    RateLimitedError,
    ResourceLimitError,
    SandboxErrorState,
    SandboxTimeoutError,
    ServerError,
    StreamError,
    StreamInterruptedError,
    TerminalClosedError,
    ValidationError,
)
from .errors import SandboxTimeoutError as TimeoutError  # noqa: A001 - the seed SDK's spelling
from .models import ConfigureResult, ExecResult, FileEntry, InvokeResult, PortForward, ProcessInfo
from .retry import RetryConfig
from .sandbox import AsyncSandbox, Sandbox
from .terminal import AsyncTerminal, Terminal

__all__ = [
    "DEFAULT_API_URL",
    "MAX_FILE_BYTES",
    "AgentTierClient",
    "AsyncAgentTierClient",
    "AsyncEventIterator",
    "AsyncSandbox",
    "AsyncTerminal",
    "AgentTierError",
    "APIError",
    "AuthenticationError",
    "AuthorizationError",
    "ConfigureResult",
    "ConflictError",
    "ConnectionError",
    "EventIterator",
    "ExecResult",
    "FileEntry",
    "InvokeResult",
    "NotConfiguredError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PolicyViolationError",
    "PortForward",
    "ProcessInfo",
    "RateLimitedError",
    "ResourceLimitError",
    "RetryConfig",
    "Sandbox",
    "SandboxErrorState",
    "SandboxTimeoutError",
    "ServerError",
    "StreamError",
    "StreamEvent",
    "StreamInterruptedError",
    "Terminal",
    "TerminalClosedError",
    "TimeoutError",
    "ValidationError",
    "__version__",
]
