"""
Turns the core's plans into methods: the same plan becomes a blocking method on the sync handles and
a coroutine on the async ones, and an event stream becomes an iterator or an async iterator. Each
public class is then a list of ``name = binding(Core._plan)`` lines, so nothing is written twice.
"""

from __future__ import annotations

from typing import cast, overload, Any, AsyncIterator, Awaitable, Callable, Concatenate, Generic, Iterator, ParamSpec, Protocol, TypeVar

from ._core import EventStream, Plan, R, StreamEvent
from ._transport import AsyncTransport, SyncTransport

P = ParamSpec("P")


class HasSync(Protocol):
    @property
    def _t(self) -> SyncTransport: ...


class HasAsync(Protocol):
    @property
    def _t(self) -> AsyncTransport: ...


#: The core class a plan belongs to; the bound method finds its transport on the flavour's instance.
S = TypeVar("S")
A = TypeVar("A")
V = TypeVar("V")
W = TypeVar("W")


class Folded(Generic[R]):
    """An event stream whose events add up to one result (an invoke's output, a configure's result)."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream

    def add(self, event: StreamEvent) -> None:
        raise NotImplementedError

    def result(self) -> R:
        raise NotImplementedError


def _sync(handle: object) -> SyncTransport:
    return cast(HasSync, handle)._t


def _async(handle: object) -> AsyncTransport:
    return cast(HasAsync, handle)._t


def _named(method: Any, plan: Callable[..., Any]) -> Any:
    method.__doc__ = plan.__doc__
    method.__name__ = plan.__name__.lstrip("_")
    method.__qualname__ = method.__name__
    return method


@overload
def blocking(plan: Callable[Concatenate[S, P], Plan[R]]) -> Callable[Concatenate[S, P], R]: ...
@overload
def blocking(plan: Callable[Concatenate[S, P], Plan[V]], *, then: Callable[[Any, V], W]) -> Callable[Concatenate[S, P], W]: ...
def blocking(plan: Callable[..., Plan[Any]], *, then: Callable[[Any, Any], Any] | None = None) -> Any:
    """The plan as a blocking method; ``then(self, result)`` wraps the result (a view into a handle)."""

    def method(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        result = _sync(self).run(plan(self, *args, **kwargs))
        return then(self, result) if then else result

    return _named(method, plan)


@overload
def awaiting(plan: Callable[Concatenate[A, P], Plan[R]]) -> Callable[Concatenate[A, P], Awaitable[R]]: ...
@overload
def awaiting(
    plan: Callable[Concatenate[A, P], Plan[V]], *, then: Callable[[Any, V], W]
) -> Callable[Concatenate[A, P], Awaitable[W]]: ...
def awaiting(plan: Callable[..., Plan[Any]], *, then: Callable[[Any, Any], Any] | None = None) -> Any:
    """The plan as a coroutine method; ``then`` as for ``blocking``."""

    async def method(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        result = await _async(self).run(plan(self, *args, **kwargs))
        return then(self, result) if then else result

    return _named(method, plan)


class EventIterator:
    """The events of a stream; leaving the loop early (or ``close()``, or ``with``) closes the connection."""

    def __init__(self, events: Iterator[StreamEvent]) -> None:
        self._events = events

    def __iter__(self) -> Iterator[StreamEvent]:
        return self

    def __next__(self) -> StreamEvent:
        return next(self._events)

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close:
            close()

    def __enter__(self) -> EventIterator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncEventIterator:
    """``async for event in …``; ``async with`` (or ``aclose()``) closes the connection when leaving early."""

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


def iterating(make: Callable[Concatenate[S, P], EventStream]) -> Callable[Concatenate[S, P], EventIterator]:
    def method(self: S, /, *args: P.args, **kwargs: P.kwargs) -> EventIterator:
        return EventIterator(_sync(self).events(make(self, *args, **kwargs)))

    return _named(method, make)  # type: ignore[no-any-return]


def aiterating(make: Callable[Concatenate[A, P], EventStream]) -> Callable[Concatenate[A, P], AsyncEventIterator]:
    def method(self: A, /, *args: P.args, **kwargs: P.kwargs) -> AsyncEventIterator:
        return AsyncEventIterator(_async(self).events(make(self, *args, **kwargs)))

    return _named(method, make)  # type: ignore[no-any-return]


def folding(make: Callable[Concatenate[S, P], Folded[R]]) -> Callable[Concatenate[S, P], R]:
    def method(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        fold = make(self, *args, **kwargs)
        for event in _sync(self).events(fold.stream):
            fold.add(event)
        return fold.result()

    return _named(method, make)  # type: ignore[no-any-return]


def afolding(make: Callable[Concatenate[A, P], Folded[R]]) -> Callable[Concatenate[A, P], Awaitable[R]]:
    async def method(self: A, /, *args: P.args, **kwargs: P.kwargs) -> R:
        fold = make(self, *args, **kwargs)
        async for event in _async(self).events(fold.stream):
            fold.add(event)
        return fold.result()

    return _named(method, make)  # type: ignore[no-any-return]
