"""
Turns the core's plans into methods of a handle whose transport is ``self._t``: a plan becomes a
method that runs it, an event stream a method answering an ``AsyncEventIterator``, a fold a method
answering the folded result. Each public class is then a list of ``name = run_plan(Core._plan)``
lines, so no call is written twice.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable, Concatenate, ParamSpec, Protocol, TypeVar, cast, overload

from .._core import EventStream, Folded, Plan, R, StreamEvent, named_like
from .transport import Transport

P = ParamSpec("P")
#: The core class a plan belongs to; the bound method finds its transport on the flavour's instance.
S = TypeVar("S")
V = TypeVar("V")
W = TypeVar("W")


class HasTransport(Protocol):
    @property
    def _t(self) -> Transport: ...


def _transport(handle: object) -> Transport:
    return cast(HasTransport, handle)._t


@overload
def run_plan(plan: Callable[Concatenate[S, P], Plan[R]]) -> Callable[Concatenate[S, P], Awaitable[R]]: ...
@overload
def run_plan(
    plan: Callable[Concatenate[S, P], Plan[V]], *, then: Callable[[Any, V], W]
) -> Callable[Concatenate[S, P], Awaitable[W]]: ...
def run_plan(plan: Callable[..., Plan[Any]], *, then: Callable[[Any, Any], Any] | None = None) -> Any:
    """The plan as a method; ``then(self, result)`` wraps the result (a view into a handle)."""

    async def method(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        result = await _transport(self).run(plan(self, *args, **kwargs))
        return then(self, result) if then else result

    return named_like(method, plan)


class AsyncEventIterator:
    """
    The events of a stream (``async for event in …``); leaving the loop early, ``aclose()`` or leaving
    ``async with`` closes the connection.
    """

    def __init__(self, events: AsyncIterator[StreamEvent]) -> None:
        self._events = events

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self

    async def __anext__(self) -> StreamEvent:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        aclose = getattr(self._events, "aclose", None)
        if aclose:
            await aclose()

    async def __aenter__(self) -> AsyncEventIterator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def run_stream(make: Callable[Concatenate[S, P], EventStream]) -> Callable[Concatenate[S, P], AsyncEventIterator]:
    def method(self: S, /, *args: P.args, **kwargs: P.kwargs) -> AsyncEventIterator:
        return AsyncEventIterator(_transport(self).events(make(self, *args, **kwargs)))

    return named_like(method, make)  # type: ignore[no-any-return]


def run_fold(make: Callable[Concatenate[S, P], Folded[R]]) -> Callable[Concatenate[S, P], Awaitable[R]]:
    async def method(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        fold = make(self, *args, **kwargs)
        async for event in _transport(self).events(fold.stream):
            fold.add(event)
        return fold.result()

    return named_like(method, make)  # type: ignore[no-any-return]
