"""Opt-in retries for idempotent calls, honouring ``Retry-After`` (shared by both clients)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .errors import AgentTierError, ConnectionError, RateLimitedError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryConfig:
    """
    ``max_retries`` extra attempts for idempotent methods (POST and PATCH only with ``retry_post``)
    after a connection failure or a status in ``retry_status``. The wait is the server's
    ``Retry-After`` when it sent one, else ``backoff_factor * 2**attempt``; both capped at
    ``backoff_max`` seconds, plus up to 25 % jitter.
    """

    max_retries: int = 3
    backoff_factor: float = 0.25
    backoff_max: float = 8.0
    retry_status: frozenset[int] = field(default_factory=lambda: frozenset({408, 429, 502, 503, 504}))
    retry_post: bool = False

    def delay(self, method: str, attempt: int, err: AgentTierError) -> float | None:
        """Seconds to wait before the next attempt, or None when ``err`` is final."""
        if attempt >= self.max_retries:
            return None
        if method.upper() not in IDEMPOTENT_METHODS and not self.retry_post:
            return None
        if not isinstance(err, ConnectionError) and err.status_code not in self.retry_status:
            return None
        retry_after = err.retry_after if isinstance(err, RateLimitedError) else _retry_after(err)
        base = retry_after if retry_after is not None else self.backoff_factor * float(2**attempt)
        base = min(max(base, 0.0), self.backoff_max)
        return base + base * random.uniform(0, 0.25)


def _retry_after(err: AgentTierError) -> float | None:
    value = getattr(err, "retry_after_header", None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
