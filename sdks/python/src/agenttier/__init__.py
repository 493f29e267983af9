"""AgentTier's Python client (sync and async core): ``AgentTierClient``, the ``Sandbox`` handle and typed errors."""

from .async_client import AsyncAgentTierClient, AsyncSandbox
from .client import DEFAULT_API_URL, MAX_FILE_BYTES, AgentTierClient, Sandbox, __version__
from .errors import (
    AgentTierError,
    APIError,
    AuthenticationError,
    AuthorizationError,
    ConflictError,
    ConnectionError,
    NotFoundError,
    PayloadTooLargeError,
    PolicyViolationError,
    RateLimitedError,
    SandboxErrorState,
    SandboxTimeoutError,
    ServerError,
    ValidationError,
)
from .errors import SandboxTimeoutError as TimeoutError  # noqa: A001 - the seed SDK's spelling
from .models import ExecResult, FileEntry, PortForward
from .retry import RetryConfig

__all__ = [
    "DEFAULT_API_URL",
    "MAX_FILE_BYTES",
    "AgentTierClient",
    "AsyncAgentTierClient",
    "AsyncSandbox",
    "AgentTierError",
    "APIError",
    "AuthenticationError",
    "AuthorizationError",
    "ConflictError",
    "ConnectionError",
    "ExecResult",
    "FileEntry",
    "NotFoundError",
    "PayloadTooLargeError",
    "PolicyViolationError",
    "PortForward",
    "RateLimitedError",
    "RetryConfig",
    "Sandbox",
    "SandboxErrorState",
    "SandboxTimeoutError",
    "ServerError",
    "TimeoutError",
    "ValidationError",
    "__version__",
]
