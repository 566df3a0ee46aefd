"""The highlighted snippet of a hit, made only for the hits of the page being served.

Taken from the object as the client is served it (its name, reference, text), so it shows nothing
the object does not. HTML: the text escaped, each word whose term a clause asks for in `<mark>`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from oparl.search.analysis import term, words
from oparl.search.query import Query

# The properties a snippet may come from, best first (a File's text is its document text).
FIELDS = ("name", "reference", "shortName", "familyName", "givenName", "number", "fileName", "resolutionText", "text")
TEXT_FIELDS = frozenset({"resolutionText", "text"})  # document text: words match whole (oparl.search.query)
WIDTH = 160  # characters of context around the first hit
LOOK = 20_000  # characters of a field searched for a hit: a long document's first hit is early enough


def _matches(query: Query, *, title: bool) -> tuple[frozenset[str], tuple[str, ...]]:
    prefixed = [c for c in query.clauses if (c.prefix if title else c.starred)]
    exact = {t for c in query.clauses for t in c.terms} - {c.terms[-1] for c in prefixed}
    return frozenset(exact), tuple(c.terms[-1] for c in prefixed)


def _hits(value: str, exact: frozenset[str], prefixes: tuple[str, ...]) -> list[tuple[int, int]]:
    found = []
    for start, end, word in words(value):
        found_term = term(word)
        if found_term in exact or found_term.startswith(prefixes):
            found.append((start, end))
    return found


def _marked(value: str, spans: Iterable[tuple[int, int]], start: int, stop: int) -> str:
    out, at = [], start
    for s, e in spans:
        if s < start or e > stop:
            continue
        out += [html.escape(value[at:s]), "<mark>", html.escape(value[s:e]), "</mark>"]
        at = e
    out.append(html.escape(value[at:stop]))
    return ("…" if start > 0 else "") + "".join(out) + ("…" if stop < len(value) else "")


def snippet(obj: dict[str, Any], query: Query) -> tuple[str | None, float]:
    """The first field holding a hit, cut around the first hit (None when no served field holds
    one), and how densely that field holds the words: hits per word, in [0, 1)."""
    for name in FIELDS:
        value = obj.get(name)
        if not isinstance(value, str) or not value:
            continue
        value = value[:LOOK]
        spans = _hits(value, *_matches(query, title=name not in TEXT_FIELDS))
        if spans:
            density = len(spans) / (sum(1 for _ in words(value)) + 1)
            first = spans[0][0]
            start = max(0, first - WIDTH // 3)
            stop = min(len(value), start + WIDTH)
            # Whole words at the edges.
            start = value.rfind(" ", 0, start) + 1 if start > 0 else 0
            space = value.find(" ", stop)
            stop = len(value) if space == -1 else space
            return _marked(value, spans, start, stop), density
    return None, 0.0
