"""The query language of `q`: words, "quoted phrases" and prefix*; nothing else has a meaning.

Every word goes through the analysis (oparl.search.analysis) and only its terms reach an engine,
as quoted lexemes the engine's own syntax cannot misread: an FTS5 or tsquery operator, a quote or
a parenthesis in `q` is a separator like a space. In titles a word whose term has at least
`PREFIX_FROM` letters matches as a prefix, since German builds compounds by appending:
"Sozialplan" finds "Sozialplanungsmodell". In document text a word matches its own term (its
inflections, by the stemmer); there `word*` asks for a prefix (of at least MIN_PREFIX letters),
and makes a short word one in titles too. Numbers match whole. A clause's terms must all be found
(AND); a phrase's in a row.

Why not prefixes in document text by default: without a prefix index both engines read every
posting of every term a prefix covers before they return the first row (FTS5 merges their
doclists, GIN a partial match), and a common word's postings in the text of every file made a page
ten times slower (bench/RESULTS.md, issue 15); a whole term's postings are read in row order only as
far as the page needs. SQLite's prefix indexes (oparl.search.fts5) make an asked-for word* cheap
there; GIN has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oparl.errors import BadRequest
from oparl.search.analysis import reference_key, term, words

MAX_QUERY = 500  # characters; a longer `q` is refused
MAX_CLAUSES = 12  # words and phrases
MAX_PHRASE = 12  # words in one phrase
PREFIX_FROM = 4
# A shorter word* would read nearly every row's postings (45 ms for a 2-letter prefix on the 100k
# set) and find nearly everything; SQLite's prefix indexes start at this length.
MIN_PREFIX = 3
# The longest title prefix the engines index as such (SQLite's FTS5 prefix index, PostgreSQL's
# index of title prefixes: migrations a1b2c3d40010 and a1b2c3d40011); a longer one is looked up by
# its first TITLE_PREFIX_MAX letters and checked on the row.
TITLE_PREFIX_MAX = 12
_PART = re.compile(r'"([^"]*)"?|([^\s"]+)')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Clause:
    terms: tuple[str, ...]  # one word's term, or a phrase's terms in order
    prefix: bool  # the last term matches as a prefix in titles
    starred: bool = False  # ... and in document text (the word ended with *)


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    reference: str | None  # the whole `q` as a reference key: an exact hit ranks first

    @property
    def terms(self) -> frozenset[str]:
        return frozenset(t for clause in self.clauses for t in clause.terms)


def parse(q: str) -> Query:
    """`q` as clauses; refuses (400) what cannot be a search, never passes syntax to an engine."""
    if _CONTROL.search(q):
        raise BadRequest("Der Parameter q darf keine Steuerzeichen enthalten.")
    if len(q) > MAX_QUERY:
        raise BadRequest(f"Der Parameter q ist zu lang: höchstens {MAX_QUERY} Zeichen, nicht {len(q)}.")
    clauses: list[Clause] = []
    for match in _PART.finditer(q):
        phrase, bare = match.groups()
        clauses.extend(_clauses(phrase, quoted=True) if phrase is not None else _clauses(bare, quoted=False))
    if not clauses:
        raise BadRequest("Der Parameter q enthält kein Wort, nach dem gesucht werden kann.")
    if len(clauses) > MAX_CLAUSES:
        raise BadRequest(f"Der Parameter q hat zu viele Wörter: höchstens {MAX_CLAUSES}.")
    return Query(tuple(dict.fromkeys(clauses)), reference_key(q))


def _clauses(text: str, *, quoted: bool) -> list[Clause]:
    found = [term(word) for _s, _e, word in words(text)]
    if not found:
        return []
    if quoted:
        return [Clause(tuple(found[:MAX_PHRASE]), prefix=False)]
    # A bare part such as "VO/2023/11779" or "Sozial-Plan*" holds several words: each its own clause.
    starred = text.endswith("*")
    last = len(found) - 1
    if starred and len(found[last]) < MIN_PREFIX:
        raise BadRequest(f"Ein Präfix (Wort*) braucht mindestens {MIN_PREFIX} Buchstaben: {text[:100]!r}.")
    return [Clause((t,), _prefix(t, starred and i == last), starred and i == last) for i, t in enumerate(found)]


def _prefix(found: str, starred: bool) -> bool:
    return not found.isdigit() and (starred or len(found) >= PREFIX_FROM)
