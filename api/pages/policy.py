"""The pages' own Content-Security-Policy: the API's forbids everything, a page needs its stylesheet.

No script runs on a page (the JSON-LD block is data, which CSP does not govern), forms go to this
server only, nothing frames a page.
"""

from __future__ import annotations

from oparl.catalogue import TYPES

PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# The first path segments of the pages: a type's with pages, and the stylesheet's.
_SEGMENTS = frozenset({*(t.segment for t in TYPES.values() if t.page), "assets"})


def is_page(path: str) -> bool:
    """Whether `path` is a page (or its stylesheet), not the API: `/`, `/paper/7`, `/body/1/paper`."""
    return path == "/" or path.split("/", 2)[1] in _SEGMENTS
