"""Reports rendered from results: HTML, JSON, Markdown, JUnit.

The only package that imports plotly.
"""
