"""Bundled reference scenarios (YAML files beside this module)."""
