"""Typed exceptions, mapped from the router's error codes in one table (docs/errors.md)."""

from __future__ import annotations

from typing import Any


class AgentTierError(Exception):
    """Any error from the API: ``status_code``, ``code``, ``request_id`` and the raw ``body``."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.body = body
        #: The response's Retry-After in seconds, when it had one (used by retries).
        self.retry_after_header: float | None = None


class APIError(AgentTierError):
    """An error status without a more specific class."""


class ValidationError(APIError):
    """400: the request was refused; ``details`` lists ``{field, rule, message}`` per problem."""

    @property
    def details(self) -> list[dict[str, Any]]:
        details = self.body.get("details") if isinstance(self.body, dict) else None
        return details if isinstance(details, list) else []


class AuthenticationError(APIError):
    """401: no or bad credentials."""


class AuthorizationError(APIError):
    """403: the caller may not do this."""


class PolicyViolationError(AuthorizationError):
    """403 POLICY_VIOLATION / QUOTA_EXCEEDED: ``violations`` lists ``{code, message}``."""

    @property
    def violations(self) -> list[dict[str, Any]]:
        v = self.body.get("violations") if isinstance(self.body, dict) else None
        if isinstance(v, list):
            return v
        details = self.body.get("details") if isinstance(self.body, dict) else None
        if isinstance(details, list):  # a refusal by field (ResourceLimitError): one violation per field
            return [
                {"code": d.get("rule") or "limit", "message": f"{d.get('field')}: {d.get('message')}"}
                for d in details
                if isinstance(d, dict)
            ]
        return []


class NotFoundError(APIError):
    """404: the sandbox, template, file, process or invoke does not exist."""


class ConflictError(APIError):
    """409: already exists, wrong phase, not running, template in use."""


class PayloadTooLargeError(APIError):
    """413: a body or file over a cap (32 MiB for files)."""


class RateLimitedError(APIError):
    """429: ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class NotConfiguredError(APIError):
    """424: an agent sandbox was invoked before ``agent.configure`` set an entrypoint."""


class ResourceLimitError(ValidationError, PolicyViolationError):
    """
    422: the sandbox asks for more CPU, memory or disk than this platform allows (``details`` names the
    field). Both a ``ValidationError`` and, as the seed SDK's users catch it, a ``PolicyViolationError``.
    """


class ServerError(APIError):
    """5xx: the router or the sandbox failed."""


class ConnectionError(AgentTierError):  # noqa: A001 - the SDK's own, as the seed SDK names it
    """The router could not be reached or the connection broke."""


class SandboxTimeoutError(AgentTierError):
    """A wait (``wait_until_running``) ran out of time."""


class SandboxErrorState(AgentTierError):
    """A wait found the sandbox in phase ``Error``."""


class StreamError(AgentTierError, RuntimeError):
    """An event stream ended with an ``error`` event (a RuntimeError too, as the seed SDK raises)."""


class StreamInterruptedError(ConnectionError):
    """An event stream broke before its last event and could not be re-attached."""

    def __init__(self, message: str, *, last_event_id: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.last_event_id = last_event_id


class TerminalClosedError(ConnectionError):
    """The terminal's WebSocket ended (``reason`` from the server's close frame, else connection_lost)."""

    def __init__(self, message: str, *, reason: str = "connection_lost", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.reason = reason


# One table: our error codes → classes. Unknown codes fall back on the status (_BY_STATUS).
_BY_CODE: dict[str, type[APIError]] = {
    "BAD_REQUEST": ValidationError,
    "VALIDATION_FAILED": ValidationError,
    "UNPROCESSABLE": ValidationError,
    "INVALID_JSON": ValidationError,
    "WRONG_MODE": ValidationError,
    "UNAUTHENTICATED": AuthenticationError,
    "FORBIDDEN": AuthorizationError,
    "ORIGIN_NOT_ALLOWED": AuthorizationError,
    "POLICY_VIOLATION": PolicyViolationError,
    "QUOTA_EXCEEDED": PolicyViolationError,
    "NOT_FOUND": NotFoundError,
    "SANDBOX_NOT_FOUND": NotFoundError,
    "TEMPLATE_NOT_FOUND": NotFoundError,
    "FILE_NOT_FOUND": NotFoundError,
    "PROCESS_NOT_FOUND": NotFoundError,
    "INVOKE_NOT_FOUND": NotFoundError,
    "PORT_NOT_FOUND": NotFoundError,
    "ALREADY_EXISTS": ConflictError,
    "CONFLICT": ConflictError,
    "INVALID_PHASE": ConflictError,
    "SANDBOX_NOT_RUNNING": ConflictError,
    "TEMPLATE_IN_USE": ConflictError,
    "PAYLOAD_TOO_LARGE": PayloadTooLargeError,
    "CONCURRENCY_EXCEEDED": RateLimitedError,
    "RATE_LIMITED": RateLimitedError,
    "NOT_CONFIGURED": NotConfiguredError,
}
_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    422: ValidationError,
    401: AuthenticationError,
    403: AuthorizationError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    424: NotConfiguredError,
    429: RateLimitedError,
}


_SEED_ERROR_WORDS = {
    "policy_violation": "POLICY_VIOLATION",
    "concurrency_exceeded": "CONCURRENCY_EXCEEDED",
    "rate_limited": "RATE_LIMITED",
    "quota_would_exceed": "CONFLICT",
}


def _names_resources(body: Any) -> bool:
    details = body.get("details") if isinstance(body, dict) else None
    return isinstance(details, list) and any(
        isinstance(d, dict) and str(d.get("field", "")).startswith(("resources.", "storage.size")) for d in details
    )


def error_from_response(status: int, headers: Any, body: Any, text: str) -> APIError:
    """The exception for an error response; ``body`` is the decoded JSON or None (``text`` then)."""
    code = body.get("code") if isinstance(body, dict) and isinstance(body.get("code"), str) else None
    if code is None and isinstance(body, dict):
        # The seed product's bodies put a machine word in `error` instead of a code.
        code = _SEED_ERROR_WORDS.get(str(body.get("error")))
    message: str | None = None
    if isinstance(body, dict):
        for key in ("message", "error"):
            if isinstance(body.get(key), str) and body[key]:
                message = body[key]
                break
    if message is None:
        message = text.strip()[:500] or f"HTTP {status}"
    request_id = body.get("requestId") if isinstance(body, dict) else None
    request_id = request_id or headers.get("x-request-id")
    cls = _BY_CODE.get(code or "") or _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    if code == "UNPROCESSABLE" and _names_resources(body):
        cls = ResourceLimitError
    kw: dict[str, Any] = {"status_code": status, "code": code, "request_id": request_id, "body": body}
    retry_after: float | None = None
    try:
        retry_after = float(headers.get("retry-after"))
    except (TypeError, ValueError):
        retry_after = None
    if cls is RateLimitedError:
        return RateLimitedError(message, retry_after=retry_after, **kw)
    err = cls(message, **kw)
    err.retry_after_header = retry_after
    return err
