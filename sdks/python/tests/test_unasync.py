"""
The blocking modules in ``src/agenttier/_sync`` are generated from ``src/agenttier/_async`` by
``scripts/unasync.py``: the committed ones must be what the generator gives now, and the generator's
rules and refusals do what its docstring says.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SDK = Path(__file__).resolve().parents[1]
SCRIPT = SDK / "scripts" / "unasync.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


unasync = _generator()


def test_generated_modules_are_current() -> None:
    stale = unasync.stale(SDK)
    assert not stale, (
        f"the generated sync modules are not what their async source gives now: edit _async/, never _sync/, "
        f"and regenerate with `{unasync.COMMAND}`. What that changes:\n{unasync.unified_diff(stale, SDK)[:8000]}"
    )
    generated = sorted(p.name for p in (SDK / "src/agenttier/_sync").glob("*.py") if p.name not in unasync.HAND_WRITTEN)
    assert generated == ["bind.py", "client.py", "sandbox.py", "transport.py"]
    for name in generated:
        assert (SDK / "src/agenttier/_sync" / name).read_text().startswith(
            f"# GENERATED from src/agenttier/_async/{name} by sdks/python/scripts/unasync.py: do not edit.\n"
        )


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "sdk"
    shutil.copytree(SDK / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_check_names_a_hand_edit_and_the_command_that_undoes_it(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    target = root / "src/agenttier/_sync/transport.py"
    target.write_text(target.read_text().replace("sleep(delay)", "sleep(delay * 2)"))
    checked = _run("--check", "--root", str(root))
    assert checked.returncode == 1
    assert "-                sleep(delay * 2)\n+                sleep(delay)\n" in checked.stdout
    assert "src/agenttier/_sync/transport.py (in the tree)" in checked.stdout
    assert unasync.COMMAND in checked.stderr
    assert _run("--root", str(root)).returncode == 0
    assert _run("--check", "--root", str(root)).returncode == 0
    assert target.read_text() == (SDK / "src/agenttier/_sync/transport.py").read_text()


def test_check_notices_a_changed_source_and_a_generated_module_whose_source_is_gone(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    source = root / "src/agenttier/_async/client.py"
    source.write_text(source.read_text().replace("timeout: float = 30.0", "timeout: float = 60.0"))
    (root / "src/agenttier/_async/bind.py").rename(root / "src/agenttier/_async/binding.py")
    checked = _run("--check", "--root", str(root))
    assert checked.returncode == 1
    assert "+        timeout: float = 60.0,\n" in checked.stdout
    assert "src/agenttier/_sync/bind.py (in the tree)" in checked.stdout
    assert _run("--root", str(root)).returncode == 0
    assert not (root / "src/agenttier/_sync/bind.py").exists()
    assert (root / "src/agenttier/_sync/binding.py").exists()


def test_rewrite_rules() -> None:
    source = '''"""``async with AsyncAgentTierClient() as c:``, ``async for e in events``, ``await c.close()``."""
from typing import Any, AsyncIterator, Awaitable, Callable


async def pump(client: AsyncAgentTierClient, make: Callable[[], Awaitable[list[Any]]]) -> AsyncIterator[Any]:
    async with client:
        async for item in await make():  # from AsyncSandbox.files
            yield await item.aread()
    await client.aclose()


class Events:
    def __aiter__(self) -> Events:
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration
'''
    assert unasync.unasync(source) == '''"""``with AgentTierClient() as c:``, ``for e in events``, ``c.close()``."""
from typing import Any, Iterator, Callable


def pump(client: AgentTierClient, make: Callable[[], list[Any]]) -> Iterator[Any]:
    with client:
        for item in make():  # from Sandbox.files
            yield item.read()
    client.close()


class Events:
    def __iter__(self) -> Events:
        return self

    def __next__(self) -> Any:
        raise StopIteration
'''


@pytest.mark.parametrize(
    ("source", "refusal"),
    [
        ("import asyncio\n\n\nasync def f() -> None:\n    await asyncio.sleep(1)\n", "<source>:1:8: 'asyncio' has no blocking twin"),
        ("x: AsyncGenerator[int, None]\n", "<source>:1:4: 'AsyncGenerator' has no blocking twin"),
        ("async def f() -> None:\n    return await (\n        g())\n", None),
        ("async def f() -> None:\n    await \\\n        g()\n", "<source>:2:5: 'await' must be followed on the same line"),
        ("y: Awaitable = 1\n", "<source>:1:4: 'Awaitable' outside"),
        # Async-only APIs that are not in RENAMES: translated silently they break only when called.
        ("async def f(r) -> None:\n    async for l in r.aiter_lines():\n        pass\n", "'aiter_lines' has no blocking twin"),
        ("@asynccontextmanager\nasync def f() -> None:\n    yield\n", "'asynccontextmanager' has no blocking twin"),
        ("async def f(g) -> None:\n    async with aclosing(g):\n        pass\n", "'aclosing' has no blocking twin"),
        ("async def f(g) -> None:\n    await g.asend(1)\n", "'asend' has no blocking twin"),
        # An f-string tokenizes differently before and after Python 3.12: refused whenever it needs a rewrite.
        ("x = f'{AsyncSandbox.__name__} is closed'\n", "an f-string with something to rewrite"),
        ("x = f'call await first {y}'\n", "an f-string with something to rewrite"),
    ],
)
def test_refuses_what_has_no_mechanical_blocking_form(source: str, refusal: str | None) -> None:
    if refusal is None:
        assert unasync.unasync(source) == "def f() -> None:\n    return (\n        g())\n"
        return
    with pytest.raises(unasync.UnasyncError, match=refusal.replace("(", r"\(")):
        unasync.unasync(source)



def test_program_strings_keep_their_words_docstrings_and_comments_read_as_blocking() -> None:
    source = (
        '"""Call ``await s.start()`` first."""\n'
        "\n\n"
        "async def f() -> None:\n"
        '    raise ValueError("you must await the call; AsyncSandbox is closed")  # await nothing here\n'
    )
    assert unasync.unasync(source) == (
        '"""Call ``s.start()`` first."""\n'
        "\n\n"
        "def f() -> None:\n"
        '    raise ValueError("you must await the call; Sandbox is closed")  # nothing here\n'
    )
