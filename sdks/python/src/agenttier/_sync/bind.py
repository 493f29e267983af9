# GENERATED from src/agenttier/_async/bind.py by sdks/python/scripts/unasync.py: do not edit.
# Edit the async source, then regenerate from the repository root: python3 sdks/python/scripts/unasync.py
"""
Turns the core's plans into methods of a handle whose transport is ``self._t``: a plan becomes a
method that runs it, an event stream a method answering an ``EventIterator``, a fold a method
answering the folded result. Each public class is then a list of ``name = run_plan(Core._plan)``
lines, so no call is written twice.
"""

from __future__ import annotations

from typing import Any, Iterator, Callable, Concatenate, ParamSpec, Protocol, TypeVar, cast, overload

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
def run_plan(plan: Callable[Concatenate[S, P], Plan[R]]) -> Callable[Concatenate[S, P], R]: ...
@overload
def run_plan(
    plan: Callable[Concatenate[S, P], Plan[V]], *, then: Callable[[Any, V], W]
) -> Callable[Concatenate[S, P], W]: ...
def run_plan(plan: Callable[..., Plan[Any]], *, then: Callable[[Any, Any], Any] | None = None) -> Any:
    """The plan as a method; ``then(self, result)`` wraps the result (a view into a handle)."""

    def method(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        result = _transport(self).run(plan(self, *args, **kwargs))
        return then(self, result) if then else result

    return named_like(method, plan)


class EventIterator:
    """
    The events of a stream (``for event in …``); leaving the loop early, ``close()`` or leaving
    ``with`` closes the connection.
    """

    def __init__(self, events: Iterator[StreamEvent]) -> None:
        self._events = events

    def __iter__(self) -> Iterator[StreamEvent]:
        return self

    def __next__(self) -> StreamEvent:
        return self._events.__next__()

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close:
            close()

    def __enter__(self) -> EventIterator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_stream(make: Callable[Concatenate[S, P], EventStream]) -> Callable[Concatenate[S, P], EventIterator]:
    def method(self: S, /, *args: P.args, **kwargs: P.kwargs) -> EventIterator:
        return EventIterator(_transport(self).events(make(self, *args, **kwargs)))

    return named_like(method, make)  # type: ignore[no-any-return]


def run_fold(make: Callable[Concatenate[S, P], Folded[R]]) -> Callable[Concatenate[S, P], R]:
    def method(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        fold = make(self, *args, **kwargs)
        for event in _transport(self).events(fold.stream):
            fold.add(event)
        return fold.result()

    return named_like(method, make)  # type: ignore[no-any-return]
