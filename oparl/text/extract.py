"""The plain text of a file's bytes, bounded in time and memory, never an exception.

PDF goes through pypdf in a child process (forkserver: pypdf loaded once, each file a fresh fork)
under an address-space limit and a deadline, so a PDF built to explode or to loop costs a child,
not the server. Plain text, Markdown (its text is its markup) and HTML (stdlib html.parser, script
and style left out) are decoded in process. `state` says what came of it and is stored as
File.text_state: extracted, empty, encrypted, broken, limit (over time, memory or size), unsupported.
"""

from __future__ import annotations

import html.parser
import multiprocessing
import resource
from dataclasses import dataclass
from multiprocessing.connection import Connection

MAX_BYTES = 64 * 1024 * 1024  # larger files are not read for text
MAX_TEXT = 1_000_000  # characters kept
SECONDS = 20.0
MEMORY = 768 * 1024 * 1024  # the child's address space
TEXT_TYPES = {"text/plain", "text/markdown", "text/x-markdown", "text/csv"}
HTML_TYPES = {"text/html", "application/xhtml+xml"}


@dataclass(frozen=True)
class Extracted:
    text: str | None
    state: str


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _done(text: str) -> Extracted:
    text = text.replace("\x00", "").strip()[:MAX_TEXT]
    return Extracted(text, "extracted") if text else Extracted(None, "empty")


class _HtmlText(html.parser.HTMLParser):
    SKIP = frozenset({"script", "style", "head", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.skipping += tag in self.SKIP

    def handle_endtag(self, tag: str) -> None:
        self.skipping -= tag in self.SKIP and self.skipping > 0

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _html(data: bytes) -> str:
    parser = _HtmlText()
    parser.feed(_decode(data))
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def _pdf_child(data: bytes, out: Connection) -> None:
    """Runs in the child: limits itself, then reads the PDF; sends (text, state)."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    try:
        import io

        import pypdf

        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            out.send((None, "encrypted"))
            return
        parts, size = [], 0
        for page in reader.pages:
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text)
            if size > MAX_TEXT:
                break
        out.send(("\n".join(parts), "extracted"))
    except MemoryError:
        out.send((None, "limit"))
    except Exception as exc:  # a broken PDF raises anything; the child reports it instead
        out.send((None, "encrypted" if "decrypt" in str(exc).lower() else "broken"))


def _pdf(data: bytes) -> Extracted:
    context = multiprocessing.get_context("forkserver")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_pdf_child, args=(data, send), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(SECONDS):
            return Extracted(None, "limit")
        text, state = receive.recv()
    except EOFError:  # the child died (out of memory, killed)
        return Extracted(None, "limit")
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    return _done(text) if state == "extracted" else Extracted(None, state)


def extract(data: bytes, mime_type: str | None) -> Extracted:
    """The text of `data` as `mime_type` (as the content store sniffed it)."""
    media = (mime_type or "").split(";")[0].strip().lower()
    if len(data) > MAX_BYTES:
        return Extracted(None, "limit")
    if media == "application/pdf" or data.startswith(b"%PDF-"):
        # Without a single object there is no text to find, and no child to start (a harvest's
        # placeholder bytes, a truncated download).
        return _pdf(data) if b"obj" in data else Extracted(None, "broken")
    if media in HTML_TYPES:
        return _done(_html(data))
    if media in TEXT_TYPES or media.startswith("text/"):
        return _done(_decode(data))
    return Extracted(None, "unsupported")
