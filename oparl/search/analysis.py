"""The German analysis both engines index and query with, so one query finds the same on both.

A text becomes terms: words (letters and digits; anything else separates them) lower-cased, reduced
by the Snowball German stemmer (PyStemmer), then folded: diacritics stripped (the stemmer already
turns ä/ö/ü into a/o/u and ß into ss; this catches é, ç and umlauts it left), so "Beschlüsse" and
"beschluss" are one term. The engines get these terms as plain space-separated words and add no
analysis of their own (FTS5's `ascii` tokenizer, PostgreSQL's 'simple' configuration), so
neither engine's stemmer or stop words decide a hit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import Stemmer

# Letters and digits; the underscore is a word character to `re` but a separator to both engines.
_WORD = re.compile(r"[^\W_]+")
# A longer "word" is no word (a hash, a run of base64); PostgreSQL refuses lexemes over 2 kB.
MAX_WORD = 60
# Terms of a document's text that are indexed: PostgreSQL keeps positions up to 16,383 only, and a
# phrase beyond them would match there and not in FTS5; so both index the first ones alone.
MAX_TERMS = 16_000

_STEMMER = Stemmer.Stemmer("german")


def fold(word: str) -> str:
    """Diacritics stripped; and what the compatibility decomposition makes of a few letters besides
    letters and digits (a space from "ͺ", parentheses from "⑴") dropped, so a term stays one token."""
    decomposed = unicodedata.normalize("NFKD", word.replace("ß", "ss"))
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


@lru_cache(maxsize=65_536)
def term(word: str) -> str:
    """The term of one lower-cased word."""
    return fold(_STEMMER.stemWord(word))


def words(text: str) -> Iterator[tuple[int, int, str]]:
    """Each word of `text` as (start, end, lower-cased word), for terms and for snippets."""
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if len(word) <= MAX_WORD:
            yield match.start(), match.end(), word


def terms(text: str | None, limit: int = MAX_TERMS) -> list[str]:
    if not text:
        return []
    found: list[str] = []
    for _start, _end, word in words(text):
        found.append(term(word))
        if len(found) >= limit:
            break
    return found


def reference_key(reference: str | None) -> str | None:
    """A paper's reference as compared with a whole query: case and spaces do not count."""
    if not reference:
        return None
    key = "".join(reference.split()).casefold()
    return key[:200] or None
