"""shocktwin: how much disruption can a manufacturing quality system take?

The namespace root. Its own modules are the foundation every layer stands on (errors, units,
safe file reading and atomic writing); the layers themselves are its sub-packages:
``shocktwin.twin``, ``shocktwin.shock_library``, ``shocktwin.rules_engine``,
``shocktwin.scenarios``, ``shocktwin.edge_replay``, ``shocktwin.reports`` and
``shocktwin.cli``. Importing this package imports nothing else.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
