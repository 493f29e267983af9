"""The async client against the same real router: the walkthrough of seed 003 §9, awaited."""

from __future__ import annotations

import asyncio

import pytest

from agenttier import AsyncAgentTierClient, NotFoundError


def test_async_walkthrough(api_url: str, namespace: str) -> None:
    async def main() -> None:
        async with AsyncAgentTierClient(api_url=api_url) as client:
            assert (await client.health())["status"] == "ok"
            sandbox = await client.create_sandbox(name="async-demo", template="minimal-shell", namespace=namespace)
            try:
                await sandbox.wait_until_running(timeout=120)
                result = await sandbox.exec("uname -s")
                assert (result.stdout, result.exit_code) == ("Linux\n", 0)
                await sandbox.files.write("/workspace/a.txt", "async")
                assert await sandbox.files.read("/workspace/a.txt") == b"async"
                assert "a.txt" in [e.name for e in await sandbox.files.list()]
                await sandbox.port_forwards.create(name="web", port=8000)
                assert [f.name for f in await sandbox.port_forwards.list()] == ["web"]
                await sandbox.port_forwards.delete("web")
                # Several calls in flight on one client.
                outs = await asyncio.gather(*(sandbox.exec(["echo", str(i)]) for i in range(5)))
                assert [o.stdout for o in outs] == [f"{i}\n" for i in range(5)]
                with pytest.raises(NotFoundError):
                    await client.get_sandbox("nope", namespace=namespace)
            finally:
                await sandbox.delete()

    asyncio.run(main())
