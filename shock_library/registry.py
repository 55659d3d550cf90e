"""The shock registry: built-in shock types plus those installed through the entry-point
group ``shocktwin.shocks`` (each entry point names a Shock subclass)."""

from __future__ import annotations

from functools import cache
from importlib import metadata

from shocktwin.shock_library.base import Shock

__all__ = ["ENTRY_POINT_GROUP", "register", "shock_type", "shock_types"]

ENTRY_POINT_GROUP = "shocktwin.shocks"
_BUILTIN: dict[str, type[Shock]] = {}


def register(cls: type[Shock]) -> type[Shock]:
    """Class decorator adding a built-in shock type under its ``type`` default."""
    key = cls.model_fields["type"].default
    if not isinstance(key, str) or not key:
        raise TypeError(f"{cls.__name__} needs a default for its type field")
    if key in _BUILTIN:
        raise TypeError(f"shock type {key!r} registered twice")
    _BUILTIN[key] = cls
    return cls


@cache
def shock_types() -> dict[str, type[Shock]]:
    """Every known shock type by name: built-ins first, then installed plug-ins."""
    import shocktwin.shock_library.shocks  # noqa: F401  (registers the built-ins)

    types = dict(_BUILTIN)
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Shock)):
            raise TypeError(f"entry point {ep.name!r} is not a Shock subclass")
        types.setdefault(cls.model_fields["type"].default, cls)
    return types


def shock_type(name: str) -> type[Shock]:
    return shock_types()[name]
