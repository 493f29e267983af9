"""
The blocking client inside a running event loop, as in a Jupyter cell: it must neither start nor borrow
a loop (sync-over-async fails there with "cannot be called from a running event loop").
"""

from __future__ import annotations

import asyncio

from agenttier import AgentTierClient


def test_blocking_client_inside_a_running_event_loop(api_url: str, namespace: str) -> None:
    async def notebook_cell() -> list[str]:
        asyncio.get_running_loop()  # raises unless this really runs inside a loop
        with AgentTierClient(api_url=api_url) as client:
            sandbox = client.create_sandbox(name="in-loop", template="minimal-shell", namespace=namespace)
            try:
                sandbox.wait_until_running(timeout=120, poll_interval=0.2)  # the plan's sleeps
                assert sandbox.exec(["echo", "hi"]).stdout == "hi\n"
                sandbox.files.write("/workspace/cell.txt", b"cell")
                assert sandbox.files.read("/workspace/cell.txt") == b"cell"
                with sandbox.exec_stream(["echo", "streamed"]) as events:
                    return [e.event for e in events]
            finally:
                sandbox.delete()

    kinds = asyncio.run(notebook_cell())
    assert kinds[0] == "start" and kinds[-1] == "exit" and "stdout" in kinds
