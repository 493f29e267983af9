"""
The hand-written source of both clients' I/O shells: ``AsyncAgentTierClient``, ``AsyncSandbox`` and
their namespaces, the asyncio transport and the bindings of the core's plans. The blocking twins in
``agenttier._sync`` are generated from these modules by ``sdks/python/scripts/unasync.py`` (every
module here but this one and ``_backend.py``, which hold what is not derived mechanically).
"""
