"""
One behavioural suite for both clients: ``Blocking`` drives an async client through the sync surface
(every awaitable run to completion on one event loop, async iterators iterated), so the same test body
checks ``AgentTierClient`` and ``AsyncAgentTierClient`` against the real router.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Iterator

from agenttier import AgentTierClient, AsyncAgentTierClient, AsyncEventIterator


class Blocking:
    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def _wrap(self, value: Any) -> Any:
        if inspect.isawaitable(value):
            value = self._loop.run_until_complete(value)
        if isinstance(value, AsyncEventIterator):
            return _Events(value, self._loop)
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        if hasattr(value, "_t") and not isinstance(value, (str, bytes)):
            return Blocking(value, self._loop)  # a handle or namespace of the async client
        return value

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value) and not isinstance(value, type):
            return lambda *a, **k: self._wrap(value(*a, **k))
        return self._wrap(value)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.list())


class _Events:
    def __init__(self, events: AsyncEventIterator, loop: asyncio.AbstractEventLoop) -> None:
        self._events = events
        self._loop = loop

    def __iter__(self) -> _Events:
        return self

    def __next__(self) -> Any:
        try:
            return self._loop.run_until_complete(self._events.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        self._loop.run_until_complete(self._events.aclose())

    def __enter__(self) -> _Events:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_client(flavour: str, api_url: str) -> tuple[Any, Any]:
    """(client, closer) for ``sync`` or ``async``."""
    if flavour == "sync":
        c = AgentTierClient(api_url=api_url)
        return c, c.close
    loop = asyncio.new_event_loop()
    ac = AsyncAgentTierClient(api_url=api_url)

    def close() -> None:
        loop.run_until_complete(ac.close())
        loop.close()

    return Blocking(ac, loop), close
