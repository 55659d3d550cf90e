"""Shock models: typed disturbances with one severity axis and a recovery profile, a
registry (built-ins and the ``shocktwin.shocks`` entry points)."""

from __future__ import annotations

from shocktwin.shock_library.base import Family, Profile, Recovery, Shock, TargetKind
from shocktwin.shock_library.registry import ENTRY_POINT_GROUP, register, shock_type, shock_types

__all__ = ["ENTRY_POINT_GROUP", "Family", "Profile", "Recovery", "Shock", "TargetKind",
           "register", "shock_type", "shock_types"]
