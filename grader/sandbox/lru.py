"""A small in-memory cache bounded by entry count and by bytes, least recently used out first.

The grader keeps a few things between jobs of a class (parsed source files, encoded request
payloads, the folders a child must not see); each is bounded so that a long run or a service
cannot grow without end. It lives in the sandbox because the runner uses it, and the sandbox
imports nothing outside itself (docs/architecture.md); the rest of the grader may import it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable


class LRUCache:
    """At most `max_items` entries and `max_bytes` of their sizes (None: no byte bound); an entry
    whose size is over `max_item_bytes` (default: `max_bytes`) is not kept, so that one huge item
    does not push out everything else. Safe to use from several threads at once."""

    def __init__(self, max_items: int, max_bytes: int | None = None, max_item_bytes: int | None = None) -> None:
        self.max_items, self.max_bytes = max_items, max_bytes
        self.max_item_bytes = max_bytes if max_item_bytes is None else max_item_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()  # key -> (value, size)
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value kept under `key` (now the most recently used), else `default`."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return default
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: Any, size: int = 0) -> bool:
        """Keep `value` under `key` as the most recently used entry (replacing one there), then drop
        the least recently used ones until within the bounds. False when it is too large to keep."""
        if self.max_item_bytes is not None and size > self.max_item_bytes:
            return False
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, size)
            self._bytes += size
            while len(self._entries) > self.max_items or (self.max_bytes is not None and self._bytes > self.max_bytes):
                self._bytes -= self._entries.popitem(last=False)[1][1]
            return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes_held(self) -> int:
        """The sum of the kept entries' sizes."""
        return self._bytes

    def keys(self) -> list[Hashable]:
        """The kept keys, least recently used first (the next to go first)."""
        with self._lock:
            return list(self._entries)

    def sizes(self) -> dict[Hashable, int]:
        """Each kept key's size as given to `put`."""
        with self._lock:
            return {key: size for key, (_, size) in self._entries.items()}
