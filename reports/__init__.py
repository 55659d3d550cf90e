"""Reports rendered from results: HTML, JSON, Markdown, JUnit.

The only package that imports plotly.
"""

from __future__ import annotations

from shocktwin.reports.html import (
    SECTIONS,
    ResultsFolder,
    load_results,
    render_report,
    write_report,
)

__all__ = ["SECTIONS", "ResultsFolder", "load_results", "render_report", "write_report"]
