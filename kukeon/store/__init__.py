"""The daemon's state: what cannot be observed on the host."""

from kukeon.store.db import Event, Store

__all__ = ["Event", "Store"]
