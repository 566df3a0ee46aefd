"""Where the demo's Lübeck records are: a module of its own, so that the routes' OpenAPI examples
(api/examples.py) find them without importing the commands (and their generator) into workers."""

from __future__ import annotations

from pathlib import Path


def demo_fixtures() -> Path:
    """The Lübeck records: package data of an installed wheel (fixtures/ mapped to api/fixtures,
    see pyproject.toml), or fixtures/ of a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "fixtures" / "luebeck"
    return installed if installed.is_dir() else here.parent / "fixtures" / "luebeck"
