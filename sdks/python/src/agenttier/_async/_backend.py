"""
What the asyncio flavour does differently beyond ``async``/``await`` (hand-written, as is its twin
``_sync/_backend.py``): the generator rewrites syntax and names, but it cannot know that the blocking
form of ``asyncio.sleep`` is ``time.sleep``, nor add a protocol that only one flavour offers. The
generated modules import these by the same name from their own package's ``_backend``.
"""

from __future__ import annotations

import asyncio


async def sleep(seconds: float) -> None:
    """Waits without blocking the event loop (the sync twin blocks the thread)."""
    await asyncio.sleep(seconds)


class PortForwardsExtras:
    """
    Nothing here: the blocking ``port_forwards`` namespace is iterable (the seed SDK's
    ``for forward in sandbox.port_forwards``), but iterating the async one would need a call, so
    ``AsyncPortForwards`` is not iterable; use ``await sandbox.port_forwards.list()``.
    """
