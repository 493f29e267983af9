"""
The clients, where they have always been imported from: ``AgentTierClient`` (blocking, generated in
``_sync/client.py``) and ``AsyncAgentTierClient`` (``_async/client.py``, the source), over one core.
"""

from ._async.client import AsyncAgentTierClient
from ._client_core import ClientCore
from ._sync.client import AgentTierClient

__all__ = ["AgentTierClient", "AsyncAgentTierClient", "ClientCore"]
