"""Storage: URIs, the store backends and the store's layout (no Ray, no engines)."""

from raymaker.storage.store import Store, open_store, store_for_settings
from raymaker.storage.uri import clean_key, join, parse_root

__all__ = ["Store", "clean_key", "join", "open_store", "parse_root", "store_for_settings"]
