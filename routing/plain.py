"""dataclasses.asdict without its cost: the same plain dicts, lists and values, built without a deep
copy of every string and number (asdict copies each leaf with copy.deepcopy; routing stores a
classification's candidates and evidence and its routing for every report)."""
from __future__ import annotations

import copy
import dataclasses

_ATOMS = (str, int, float, bool, type(None))
_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def plain(obj):
    """What dataclasses.asdict(obj) gives (for a dataclass instance; the same recursion for the rest)."""
    if isinstance(obj, _ATOMS):
        return obj
    cls = type(obj)
    if dataclasses.is_dataclass(cls):
        return {name: plain(getattr(obj, name)) for name in _field_names(cls)}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):     # a named tuple
        return cls(*[plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return cls(plain(v) for v in obj)
    if isinstance(obj, dict):
        return cls((plain(k), plain(v)) for k, v in obj.items())
    return copy.deepcopy(obj)
