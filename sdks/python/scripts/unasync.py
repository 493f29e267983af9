#!/usr/bin/env python3
"""
Generates the Python SDK's blocking modules from their async source: every module of
``src/agenttier/_async`` but the hand-written ones (``HAND_WRITTEN``) becomes the module of the same name
in ``src/agenttier/_sync``. The async code is the one source; the sync code is derived from it token by
token (Python's ``tokenize``), so the two clients cannot drift apart.

    python3 sdks/python/scripts/unasync.py           # (re)writes the generated modules
    python3 sdks/python/scripts/unasync.py --check   # writes nothing; prints a diff and exits 1 when stale

The rewrite: ``async def`` / ``async with`` / ``async for`` lose ``async``; ``await`` goes;
``Awaitable[X]`` becomes ``X``; names in ``RENAMES`` become their blocking twins, in code and in
docstrings and comments. Anything left that looks asynchronous (an unmapped ``Async…`` name,
``asyncio``) stops the generator with the place named: flavour-specific code belongs in the
hand-written ``_backend.py`` of each package, which the generated modules import by the same name.
"""

from __future__ import annotations

import argparse
import difflib
import io
import re
import sys
import tokenize
from pathlib import Path
from typing import Callable

SDK = Path(__file__).resolve().parents[1]
SOURCE = Path("src/agenttier/_async")
TARGET = Path("src/agenttier/_sync")
#: Modules of ``_async`` that are not sources: each package has its own, written by hand.
HAND_WRITTEN = frozenset({"__init__.py", "_backend.py"})
COMMAND = "python3 sdks/python/scripts/unasync.py"

#: Async name → blocking name. Ours (the public classes keep the blocking names they always had),
#: Python's async protocols, typing's and httpx's async twins.
RENAMES = {
    "AsyncAgentTierClient": "AgentTierClient",
    "AsyncSandbox": "Sandbox",
    "AsyncFiles": "Files",
    "AsyncPortForwards": "PortForwards",
    "AsyncProcesses": "Processes",
    "AsyncAgent": "Agent",
    "AsyncEventIterator": "EventIterator",
    "AsyncTerminal": "Terminal",
    "_async": "_sync",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "StopAsyncIteration": "StopIteration",
    "AsyncIterator": "Iterator",
    "AsyncClient": "Client",
    "AsyncBaseTransport": "BaseTransport",
    "aclose": "close",
    "aread": "read",
    "aiter_bytes": "iter_bytes",
}
#: Names that mean the source does something asyncio-specific the generator cannot translate.
#: (Checked after RENAMES: a mapped name such as ``aiter_bytes`` is translated, an unmapped one stops.)
UNTRANSLATABLE = re.compile(
    r"^(?:Async\w*|asyncio|anyio|trio|aiter|anext|aiter_\w+|asend|athrow|aclosing|asynccontextmanager|__a\w+__)$"
)
_RENAMED = re.compile(r"\b(?:" + "|".join(sorted(RENAMES, key=len, reverse=True)) + r")\b")
#: In docstrings and comments only: "``async def``" and "``await x``" read as blocking prose there; in a
#: string the program uses ("you must await the call") the words stay.
_PROSE = re.compile(r"\basync (?=(?:def|with|for)\b)|\bawait |" + _RENAMED.pattern)


class UnasyncError(Exception):
    """The async source holds something with no mechanical blocking form."""


def header(source: str) -> str:
    return (
        f"# GENERATED from {source} by sdks/python/scripts/unasync.py: do not edit.\n"
        f"# Edit the async source, then regenerate from the repository root: {COMMAND}\n"
    )


def _prose(text: str) -> str:
    return _PROSE.sub(lambda m: RENAMES.get(m.group(0), ""), text)


def _renamed(text: str) -> str:
    return _RENAMED.sub(lambda m: RENAMES[m.group(0)], text)


def _is_fstring(tok: tokenize.TokenInfo) -> bool:
    """An f-string as one STRING token (Python before 3.12)."""
    prefix = re.match(r"[A-Za-z]*", tok.string)
    return tok.type == tokenize.STRING and prefix is not None and "f" in prefix.group(0).lower()


def unasync(source: str, origin: str = "<source>") -> str:
    """The blocking form of the async module ``source`` (``origin`` names it in errors)."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def at(pos: tuple[int, int]) -> int:
        return starts[pos[0] - 1] + pos[1]

    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    code = [t for t in tokens if t.type not in (tokenize.NL, tokenize.COMMENT)]
    edits: list[tuple[int, int, str]] = []

    def where(tok: tokenize.TokenInfo) -> str:
        return f"{origin}:{tok.start[0]}:{tok.start[1] + 1}"

    for i, tok in enumerate(code):
        nxt = code[i + 1] if i + 1 < len(code) else None
        if tok.type == tokenize.NAME and tok.string in ("async", "await"):
            if nxt is None or nxt.start[0] != tok.end[0]:
                raise UnasyncError(f"{where(tok)}: '{tok.string}' must be followed on the same line")
            if tok.string == "async" and nxt.string not in ("def", "with", "for"):
                raise UnasyncError(f"{where(tok)}: 'async' before {nxt.string!r}")
            edits.append((at(tok.start), at(nxt.start), ""))
        elif tok.type == tokenize.NAME and tok.string == "Awaitable":
            edits.extend(_unwrap_awaitable(code, i, at, where))
        elif tok.type == tokenize.NAME and tok.string in RENAMES:
            edits.append((at(tok.start), at(tok.end), RENAMES[tok.string]))
        elif tok.type == tokenize.NAME and UNTRANSLATABLE.match(tok.string):
            raise UnasyncError(
                f"{where(tok)}: {tok.string!r} has no blocking twin here: add it to RENAMES in "
                "scripts/unasync.py, or move the flavour-specific code into _backend.py"
            )
    fstring_start = getattr(tokenize, "FSTRING_START", -1)
    fstring_end = getattr(tokenize, "FSTRING_END", -1)
    depth = 0  # inside an f-string (Python 3.12 splits them into tokens)
    for k, tok in enumerate(tokens):
        depth += (tok.type == fstring_start) - (tok.type == fstring_end)
        # The rewrite of an f-string would differ between Python versions (one STRING token before 3.12,
        # its parts after): refused on every version, so the generated code never depends on which ran.
        if (depth > 0 or _is_fstring(tok)) and (
            _prose(tok.string) != tok.string
            or (tok.type == tokenize.NAME and (tok.string in RENAMES or tok.string in ("async", "await")))
        ):
            raise UnasyncError(f"{where(tok)}: an f-string with something to rewrite; build the text outside it")
        if tok.type in (tokenize.STRING, tokenize.COMMENT):
            prev = next((t for t in reversed(tokens[:k]) if t.type not in (tokenize.NL, tokenize.COMMENT)), None)
            docstring = tok.type == tokenize.STRING and (
                prev is None or prev.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)
            )
            changed = _prose(tok.string) if tok.type == tokenize.COMMENT or docstring else _renamed(tok.string)
            if changed != tok.string:
                if source[at(tok.start) : at(tok.end)] != tok.string:  # e.g. an f-string's "{{" on Python 3.12
                    raise UnasyncError(f"{where(tok)}: cannot rewrite {tok.string!r} in place")
                edits.append((at(tok.start), at(tok.end), changed))

    out = source
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    try:
        compile(out, origin, "exec", dont_inherit=True)
    except SyntaxError as err:
        raise UnasyncError(f"{origin}: the blocking form does not parse ({err})") from err
    return out


def _unwrap_awaitable(
    code: list[tokenize.TokenInfo],
    i: int,
    at: Callable[[tuple[int, int]], int],
    where: Callable[[tokenize.TokenInfo], str],
) -> list[tuple[int, int, str]]:
    """``Awaitable[X]`` → ``X``; in an import list, the name and its comma go."""
    tok = code[i]
    nxt, prev = code[i + 1], code[i - 1]
    if nxt.string == "[":
        depth = 0
        for close in code[i + 1 :]:
            depth += {"[": 1, "]": -1}.get(close.string, 0) if close.type == tokenize.OP else 0
            if depth == 0:
                return [(at(tok.start), at(nxt.end), ""), (at(close.start), at(close.end), "")]
        raise UnasyncError(f"{where(tok)}: 'Awaitable[' is never closed")
    if nxt.string == ",":
        return [(at(tok.start), at(code[i + 2].start), "")]
    if prev.string == ",":
        return [(at(prev.start), at(tok.end), "")]
    raise UnasyncError(f"{where(tok)}: 'Awaitable' outside 'Awaitable[…]' or an import list")


def expected(root: Path) -> dict[Path, str]:
    """Every generated module under ``root`` (the SDK folder) as the generator writes it now."""
    out: dict[Path, str] = {}
    for src in sorted((root / SOURCE).glob("*.py")):
        if src.name in HAND_WRITTEN:
            continue
        origin = (SOURCE / src.name).as_posix()
        out[root / TARGET / src.name] = header(origin) + unasync(src.read_text(encoding="utf-8"), origin)
    return out


def stale(root: Path) -> list[tuple[Path, str, str]]:
    """``(path, committed, generated)`` for each generated module that differs (or should not exist)."""
    want = expected(root)
    found = {p: p.read_text(encoding="utf-8") for p in (root / TARGET).glob("*.py") if p.name not in HAND_WRITTEN}
    return [
        (path, found.get(path, ""), want.get(path, ""))
        for path in sorted(set(want) | set(found))
        if found.get(path) != want.get(path)
    ]


def unified_diff(differ: list[tuple[Path, str, str]], root: Path) -> str:
    """What regenerating would change, as one unified diff (``stale``'s answer)."""
    out: list[str] = []
    for path, committed, generated in differ:
        name = path.relative_to(root).as_posix()
        out += difflib.unified_diff(
            committed.splitlines(keepends=True),
            generated.splitlines(keepends=True),
            f"{name} (in the tree)",
            f"{name} (as generated now)",
        )
    return "".join(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0], prog=COMMAND)
    parser.add_argument("--check", action="store_true", help="write nothing; print a diff and exit 1 when stale")
    parser.add_argument("--root", type=Path, default=SDK, help="the SDK folder (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        differ = stale(args.root)
    except UnasyncError as err:
        print(f"unasync: {err}", file=sys.stderr)
        return 2
    if args.check:
        sys.stdout.write(unified_diff(differ, args.root))
        if differ:
            print(
                f"\n{len(differ)} generated module(s) of the Python SDK are not what their async source gives now.\n"
                f"Edit src/agenttier/_async/*, never _sync/ (except _backend.py), and regenerate: {COMMAND}",
                file=sys.stderr,
            )
            return 1
        return 0
    rc = 0
    for path, committed, generated in differ:
        name = path.relative_to(args.root).as_posix()
        if generated:
            path.write_text(generated, encoding="utf-8")
            print(f"unasync: wrote {name}")
        elif committed.startswith("# GENERATED from "):
            path.unlink()
            print(f"unasync: removed {name} (its async source is gone)")
        else:
            print(f"unasync: {name} has no async source and is not generated: add it to HAND_WRITTEN or move it", file=sys.stderr)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
