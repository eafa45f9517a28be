"""The one walk over nested values (lists, tuples, dicts of leaves): used in the child for its
inputs, and in the trusted process for references, comparisons and JSON output."""
from __future__ import annotations

from typing import Any, Callable


def map_leaves(value: Any, leaf: Callable[[Any, str], Any], path: str = "$",
               key: Callable[[Any], Any] = lambda k: k) -> Any:
    """`value` rebuilt with every leaf (anything but a list, tuple or dict) replaced by
    `leaf(x, path)`, where path reads like `$.a[1]`; dict keys go through `key`."""
    if isinstance(value, dict):
        return {key(k): map_leaves(v, leaf, f"{path}.{k}", key) for k, v in value.items()}
    if isinstance(value, list):
        return [map_leaves(v, leaf, f"{path}[{i}]", key) for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return tuple(map_leaves(v, leaf, f"{path}[{i}]", key) for i, v in enumerate(value))
    return leaf(value, path)
