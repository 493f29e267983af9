"""
The blocking twins of ``agenttier._async``: every module here but this one and ``_backend.py`` is
generated from the async module of the same name by ``sdks/python/scripts/unasync.py``; edit the async
source and regenerate (``python3 sdks/python/scripts/unasync.py``).
"""
