"""What a harvest run reports (`Summary`) and how it is configured (`Options`)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Summary:
    mode: str = "full"
    pages: int = 0
    objects: int = 0
    created: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    quirks: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    # URLs the fetch policy did not allow (oparl/ingest/guard.py): never fetched, or not kept.
    refused: list[str] = field(default_factory=list)
    usable: bool = True

    def lines(self) -> list[str]:
        lines = [f"mode: {self.mode}; {self.pages} pages, {self.objects} objects"]
        for type_name in sorted(set(self.created) | set(self.changed) | set(self.deleted)):
            lines.append(
                f"  {type_name}: {self.created[type_name]} created, {self.changed[type_name]} changed, "
                f"{self.deleted[type_name]} deleted"
            )
        lines += [f"  quirk {name}: {count}" for name, count in sorted(self.quirks.items())]
        lines += [f"  missing (reported, not invented): {url}" for url in self.missing[:50]]
        lines += [f"  refused: {url}" for url in self.refused[:50]]
        if len(self.refused) > 50:
            lines.append(f"  … and {len(self.refused) - 50} more refused")
        lines += [f"  failed: {failure}" for failure in self.failures[:50]]
        if len(self.failures) > 50:
            lines.append(f"  … and {len(self.failures) - 50} more failures")
        return lines


@dataclass
class Options:
    files: bool = False  # download file contents
    full: bool = False  # ignore modified_since and compare everything
    overlap: dt.timedelta = dt.timedelta(hours=1)
    # Pages are stored together, in one transaction, until they hold `batch` objects or the first of
    # them waited `batch_seconds`: a fast source fills batches (fewer, larger writes), a slow one has
    # every page stored as it arrives, so an interruption loses little.
    batch: int = 1000
    batch_seconds: float = 5.0
    # Hosts besides the System URL's whose lists and objects may be walked (files may come from any
    # public host).
    allow_hosts: frozenset[str] = frozenset()
    # Use a source's kommParl snapshot and feed where it offers them (False: always walk the lists).
    kommparl: bool = True
