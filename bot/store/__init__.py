"""Persistence: the :class:`Store` protocol and its SQLAlchemy implementation."""

from bot.store.base import Store
from bot.store.sql import SQLStore, open_store

__all__ = ["SQLStore", "Store", "open_store"]
