"""
The sandbox handles, where they have always been imported from: ``Sandbox`` (blocking, generated in
``_sync/sandbox.py``) and ``AsyncSandbox`` (``_async/sandbox.py``, the source), with their namespaces.
"""

from ._async.sandbox import AsyncAgent, AsyncFiles, AsyncPortForwards, AsyncProcesses, AsyncSandbox
from ._sync.sandbox import Agent, Files, PortForwards, Processes, Sandbox

__all__ = [
    "Agent",
    "AsyncAgent",
    "AsyncFiles",
    "AsyncPortForwards",
    "AsyncProcesses",
    "AsyncSandbox",
    "Files",
    "PortForwards",
    "Processes",
    "Sandbox",
]
