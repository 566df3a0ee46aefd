"""The texts of the files a batch of records brings, extracted before the write touches the database.

`Loader.load` calls `texts_of` first, before any row is written (so on SQLite before the write lock
is taken, and on PostgreSQL before any row lock): a slow PDF never holds up other writers. The
upload route extracts from its spooled bytes the same way before it loads.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from oparl.content import sniff_mime
from oparl.text.extract import MAX_BYTES, Extracted, extract


def _contents(node: Any) -> Iterator[tuple[str, str | None]]:
    """(content path, file name) of every record, top-level or embedded, that gives its bytes by path."""
    if isinstance(node, dict):
        content = node.get("content")
        if isinstance(content, str):
            name = node.get("fileName")
            yield content, name if isinstance(name, str) else None
        for value in node.values():
            if isinstance(value, (dict, list)):
                yield from _contents(value)
    elif isinstance(node, list):
        for item in node:
            yield from _contents(item)


def texts_of(records: list[Any], base_dir: Path | None) -> dict[str, Extracted]:
    """The text of each content path in `records` (paths outside `base_dir` are the loader's to refuse)."""
    if base_dir is None:
        return {}
    root = base_dir.resolve()
    found: dict[str, Extracted] = {}
    for content, file_name in _contents(records):
        source = (root / content).resolve()
        if content in found or not source.is_relative_to(root) or not source.is_file():
            continue
        if source.stat().st_size > MAX_BYTES:
            found[content] = Extracted(None, "limit")
            continue
        data = source.read_bytes()
        found[content] = extract(data, sniff_mime(data, file_name or source.name))
    return found
