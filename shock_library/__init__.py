"""Shock models: one module per shock family, a registry, compound shocks."""
