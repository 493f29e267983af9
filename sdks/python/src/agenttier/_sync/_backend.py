"""
What the blocking flavour does differently beyond ``async``/``await`` (hand-written, the twin of
``_async/_backend.py``, which says why these are not generated). Plain threads and ``time``: no event
loop is started or borrowed, so the sync client also works where one is already running (Jupyter).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterator, Protocol

if TYPE_CHECKING:
    from ..models import PortForward


def sleep(seconds: float) -> None:
    time.sleep(seconds)


class _Lists(Protocol):
    def list(self) -> list[PortForward]: ...


class PortForwardsExtras:
    """``for forward in sandbox.port_forwards:`` lists the forwards (the seed SDK's form)."""

    def __iter__(self: _Lists) -> Iterator[PortForward]:
        return iter(self.list())
