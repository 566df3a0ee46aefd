"""The harvester as an SSRF target: it fetches public addresses only, checks every redirect, caps
what it takes, and walks lists on the source's host only.

No test sends traffic beyond loopback: private and link-local URLs are answered by an httpx
MockTransport (never reached, as the tests show) or resolved by a mocked resolver to a second
loopback address that the policy does not allow."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpcore
import httpx
import pytest
from alembic import command
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api import cli
from models import File, FileContent
from models.db import alembic_config, make_engine, make_sessionmaker
from oparl.content import ContentStore
from oparl.ingest.client import Politeness, Refused, SourceClient
from oparl.ingest.guard import LOOPBACK, Blocked, Policy, check_address, check_url, parse_networks
from oparl.ingest.harvest import Harvester, Options, Summary
from oparl.ingest.transport import GuardedBackend
from oparl.urls import UrlBuilder
from tests.conftest import FakeClock

SCHEMA = "https://schema.oparl.org/1.1/"
PDF = b"%PDF-1.4\n% a council paper\n%%EOF\n"
MODIFIED = "2024-05-01T10:00:00+02:00"


# -- addresses and URLs ------------------------------------------------------------------------------

REFUSED = [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.8.9.10", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.2.1", "198.18.0.1",
    "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "ff02::1", "ff0e::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::a00:1",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
]  # fmt: skip
PUBLIC = ["8.8.8.8", "141.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(Blocked, match="is not a public address"):
        check_address(address, ())


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    check_address(address, ())


def test_an_allowed_network_passes_also_in_its_ipv4_mapped_form() -> None:
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        check_address(address, LOOPBACK)
    check_address("10.20.1.2", parse_networks("10.20.0.0/16"))
    with pytest.raises(Blocked):
        check_address("10.21.1.2", parse_networks("10.20.0.0/16"))
    assert parse_networks(" 127.0.0.0/8, ::1/128 ,") == LOOPBACK
    assert parse_networks("192.168.1.5") == parse_networks("192.168.1.5/32")
    with pytest.raises(ValueError, match="not a network"):
        parse_networks("127.0.0.0/8,intranet")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://ris.example.test/", "scheme 'gopher'"),
        ("ftp://ris.example.test/a.pdf", "scheme 'ftp'"),
        ("http:///nohost", "no host"),
        ("http://10.1.2.3/a.pdf", "10.1.2.3 is not a public address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is not a public address"),
        ("http://127.0.0.1:6379/", "127.0.0.1 is not a public address"),
        ("http://[::1]:8080/", "::1 is not a public address"),
        ("http://[::ffff:127.0.0.1]/", "is not a public address"),
        ("http://[::ffff:a9fe:a9fe]/", "is not a public address"),
        ("https://[fe80::1%25eth0]/", "is not a public address"),
    ],
)
def test_urls_are_checked_before_they_are_asked(url: str, reason: str) -> None:
    with pytest.raises(Blocked, match=reason.replace("[", r"\[").replace(".", r"\.")):
        check_url(url, ())


def test_list_urls_must_be_on_the_sources_hosts() -> None:
    hosts = frozenset({"ris.example.test"})
    check_url("https://RIS.example.test:8443/oparl/papers?page=2", (), hosts)
    with pytest.raises(Blocked, match="host elsewhere.example.test is not the source's"):
        check_url("https://elsewhere.example.test/oparl/papers?page=2", (), hosts)


# -- where the connection is made -------------------------------------------------------------------


class Inner(httpcore.NetworkBackend):
    """Records the addresses a guarded backend would connect to, and connects to none."""

    def __init__(self) -> None:
        self.connected: list[str] = []

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        self.connected.append(host)
        return httpcore.NetworkStream()


@pytest.mark.parametrize(
    "addresses",
    [["10.0.0.7"], ["169.254.169.254"], ["::1"], ["::ffff:127.0.0.1"], ["fd00::5"], ["93.184.215.14", "10.0.0.7"]],
)
def test_a_name_resolving_to_a_non_public_address_is_not_connected(addresses: list[str]) -> None:
    inner = Inner()
    backend = GuardedBackend((), resolver=lambda host, port: addresses, inner=inner)
    with pytest.raises(Blocked, match="intranet.example.test resolves to .* is not a public address"):
        backend.connect_tcp("intranet.example.test", 80)
    assert inner.connected == []


def test_the_connection_goes_to_the_address_checked() -> None:
    """Resolved once: a second answer of the name (DNS rebinding) is never asked for."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])
    inner = Inner()
    backend = GuardedBackend((), resolver=lambda host, port: next(answers), inner=inner)
    backend.connect_tcp("ris.example.test", 443)
    assert inner.connected == ["93.184.215.14"]


# -- the client, behind a MockTransport -----------------------------------------------------------


def recording(answer: Callable[[httpx.Request], httpx.Response]) -> tuple[httpx.MockTransport, list[str]]:
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return answer(request)

    return httpx.MockTransport(handle), asked


def test_a_redirect_to_a_private_address_is_refused_and_not_asked(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "ris.example.test":
            return httpx.Response(302, headers={"Location": "http://10.0.0.7/intern.pdf"})
        return httpx.Response(200, content=b"secret")

    transport, asked = recording(answer)
    client = SourceClient(Politeness(rate=0), transport=transport)
    with pytest.raises(Refused, match="redirected to http://10.0.0.7/intern.pdf: 10.0.0.7 is not a public address"):
        client.download("https://ris.example.test/files/1.pdf", tmp_path / "1.pdf")
    assert asked == ["https://ris.example.test/files/1.pdf"]
    assert not (tmp_path / "1.pdf").exists()


def test_redirects_are_followed_by_hand_up_to_a_limit() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        hop = int(request.url.params.get("hop", "0"))
        if hop < 3:
            return httpx.Response(301, headers={"Location": f"/oparl/system?hop={hop + 1}"})
        return httpx.Response(200, json={"hops": hop})

    transport, asked = recording(answer)
    client = SourceClient(Politeness(rate=0), transport=transport)
    assert client.json("https://ris.example.test/oparl/system") == {"hops": 3}
    assert len(asked) == 4
    tight = SourceClient(Politeness(rate=0), policy=Policy(redirects=2), transport=transport)
    with pytest.raises(Exception, match="more than 2 redirects"):
        tight.json("https://ris.example.test/oparl/system")


def test_a_list_redirect_off_the_sources_host_is_refused() -> None:
    transport, asked = recording(lambda r: httpx.Response(302, headers={"Location": "https://other.example.test/x"}))
    client = SourceClient(Politeness(rate=0), transport=transport)
    with pytest.raises(Refused, match="redirected to https://other.example.test/x: host other.example.test"):
        client.json("https://ris.example.test/oparl/papers", hosts=frozenset({"ris.example.test"}))
    assert asked == ["https://ris.example.test/oparl/papers"]


def test_a_download_stops_at_the_cap_without_reading_on(tmp_path: Path) -> None:
    """A body with no declared length, streamed: reading stops at the first chunk past the cap."""
    pulled = [0]

    def endless() -> Iterator[bytes]:
        while True:
            pulled[0] += 1
            yield b"x" * 1024

    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=endless()))
    client = SourceClient(Politeness(rate=0), policy=Policy(max_file_bytes=10 * 1024), transport=transport)
    with pytest.raises(Refused, match="larger than the cap of 10240 bytes"):
        client.download("https://ris.example.test/files/huge.pdf", tmp_path / "huge.pdf")
    assert pulled[0] == 11
    assert not (tmp_path / "huge.pdf").exists()


def test_a_declared_length_over_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    read = [False]

    def body() -> Iterator[bytes]:
        read[0] = True
        yield b"{}"

    headers = {"Content-Length": str(65 * 1024 * 1024)}
    transport = httpx.MockTransport(lambda r: httpx.Response(200, headers=headers, content=body()))
    client = SourceClient(Politeness(rate=0), transport=transport)
    with pytest.raises(Refused, match=r"larger than the cap of 67108864 bytes \(68157440 declared\)"):
        client.json("https://ris.example.test/oparl/papers")
    assert read == [False]


def test_a_body_that_takes_too_long_is_given_up(tmp_path: Path) -> None:
    def slow() -> Iterator[bytes]:
        while True:
            yield b"x"
            clock[0] += 1.0

    clock = [0.0]
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=slow()))
    client = SourceClient(Politeness(rate=0), policy=Policy(max_seconds=5), transport=transport,
                          clock=lambda: clock[0])  # fmt: skip
    with pytest.raises(Refused, match="took longer than 5 s"):
        client.download("https://ris.example.test/files/slow.pdf", tmp_path / "slow.pdf")
    assert clock[0] == 6
    assert not (tmp_path / "slow.pdf").exists()


# -- a whole harvest ------------------------------------------------------------------------------------


def source(root: str, files: Sequence[str], *, next_url: str | None = None) -> dict[str, Any]:
    """A System with one Body and a Paper list of one page; each Paper has a main file at `files[i]`."""
    papers = [
        {"id": f"{root}/paper/{i}", "type": f"{SCHEMA}Paper", "name": f"Vorlage {i}", "modified": MODIFIED,
         "mainFile": {"id": f"{root}/file/{i}", "type": f"{SCHEMA}File", "name": f"Datei {i}", "accessUrl": url,
                      "modified": MODIFIED}}
        for i, url in enumerate(files)
    ]  # fmt: skip
    return {
        f"{root}/system": {"id": f"{root}/system", "type": f"{SCHEMA}System", "oparlVersion": SCHEMA,
                           "body": f"{root}/bodies"},
        f"{root}/bodies": {"data": [{"id": f"{root}/body/1", "type": f"{SCHEMA}Body", "system": f"{root}/system",
                                     "name": "Rat", "paper": f"{root}/papers",
                                     "modified": "2024-05-01T10:00:00+02:00"}], "links": {}},
        f"{root}/papers": {"data": papers, "links": {"next": next_url} if next_url else {}},
    }  # fmt: skip


def answering(answers: dict[str, Any], extra: Callable[[httpx.Request], httpx.Response | None] | None = None) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        if extra is not None and (response := extra(request)) is not None:
            return response
        url = str(request.url)
        if url in answers:
            return httpx.Response(200, json=answers[url])
        if "/files/" in url:
            return httpx.Response(200, content=PDF)
        return httpx.Response(404)

    return answer


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("migrated") / "mirror.sqlite3"
    command.upgrade(alembic_config(f"sqlite:///{path}"), "head")
    return path


@pytest.fixture
def mirror(migrated: Path, tmp_path: Path) -> Iterator[Engine]:
    """An empty migrated SQLite database (a copy: migrating takes seconds)."""
    shutil.copy(migrated, tmp_path / "mirror.sqlite3")
    engine = make_engine(url=f"sqlite:///{tmp_path / 'mirror.sqlite3'}")
    yield engine
    engine.dispose()


def run(engine: Engine, client: SourceClient, system: str, clock: FakeClock, tmp_path: Path, **options: Any) -> Summary:
    harvester = Harvester(make_sessionmaker(engine), client, urls=UrlBuilder("https://mirror.example.org"),
                          store=ContentStore(), clock=clock, tz=ZoneInfo("Europe/Berlin"),
                          options=Options(files=True, kommparl=False, **options))  # fmt: skip
    try:
        return harvester.run(system)
    finally:
        client.close()


def stored(engine: Engine) -> dict[str, bool]:
    with Session(engine) as session:
        return {str(key): bool(flag) for key, flag in session.execute(select(File.key, File.stored))}


ROOT = "https://ris.example.test/oparl"


def test_an_access_url_on_loopback_is_not_fetched_unless_loopback_is_allowed(
    mirror: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    answers = source(ROOT, [f"{ROOT}/files/0.pdf", "http://127.0.0.1:6379/files/1.pdf", "http://[::1]/files/2"])
    transport, asked = recording(answering(answers))
    summary = run(mirror, SourceClient(Politeness(rate=0), transport=transport), f"{ROOT}/system", clock, tmp_path)
    assert stored(mirror) == {f"{ROOT}/file/0": True, f"{ROOT}/file/1": False, f"{ROOT}/file/2": False}
    assert [url for url in asked if "ris.example.test" not in url] == []
    assert summary.refused == [
        f"file {ROOT}/file/1: http://127.0.0.1:6379/files/1.pdf: 127.0.0.1 is not a public address",
        f"file {ROOT}/file/2: http://[::1]/files/2: ::1 is not a public address",
    ]
    assert summary.failures == []
    assert "  refused: file https://ris.example.test/oparl/file/1: http://127.0.0.1:6379/files/1.pdf: " \
           "127.0.0.1 is not a public address" in summary.lines()  # fmt: skip
    # Allowed: fetched (a second run, as an operator would after allowing it).
    clock.advance(60)
    client = SourceClient(Politeness(rate=0), policy=Policy(networks=LOOPBACK), transport=transport)
    summary = run(mirror, client, f"{ROOT}/system", clock, tmp_path)
    assert (summary.refused, stored(mirror)) == ([], dict.fromkeys(stored(mirror), True))
    assert "http://127.0.0.1:6379/files/1.pdf" in asked


def test_private_and_metadata_access_urls_and_redirects_to_them_are_refused(
    mirror: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    files = [f"{ROOT}/files/0.pdf", "http://10.0.0.7/intern.pdf", "http://169.254.169.254/latest/meta-data/iam",
             "http://[::ffff:169.254.169.254]/latest", f"{ROOT}/files/moved.pdf", "https://cdn.example.test/files/5.pdf",
             "file:///etc/passwd", "http://[::1/x.pdf"]  # fmt: skip

    def moved(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("moved.pdf"):
            return httpx.Response(302, headers={"Location": "http://192.168.0.1/router.cfg"})
        return None

    transport, asked = recording(answering(source(ROOT, files), moved))
    summary = run(mirror, SourceClient(Politeness(rate=0), transport=transport), f"{ROOT}/system", clock, tmp_path)
    # Files may come from another public host (cdn.example.test); nothing else left the source.
    assert {key.rsplit("/", 1)[1] for key, flag in stored(mirror).items() if flag} == {"0", "5"}
    assert sorted({httpx.URL(url).host for url in asked}) == ["cdn.example.test", "ris.example.test"]
    assert sorted(line.split(": ", 1)[1] for line in summary.refused) == [
        "file:///etc/passwd: scheme 'file' (only http and https)",
        "http://10.0.0.7/intern.pdf: 10.0.0.7 is not a public address",
        "http://169.254.169.254/latest/meta-data/iam: 169.254.169.254 is not a public address",
        "http://[::1/x.pdf: not a URL",
        "http://[::ffff:169.254.169.254]/latest: ::ffff:169.254.169.254 is not a public address",
        f"{ROOT}/files/moved.pdf: redirected to http://192.168.0.1/router.cfg: 192.168.0.1 is not a public address",
    ]


def test_a_file_over_the_cap_is_not_stored_and_the_harvest_goes_on(
    mirror: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    def big(request: httpx.Request) -> httpx.Response | None:
        return httpx.Response(200, content=b"%PDF" + b"x" * 5000) if request.url.path.endswith("big.pdf") else None

    answers = source(ROOT, [f"{ROOT}/files/0.pdf", f"{ROOT}/files/big.pdf", f"{ROOT}/files/2.pdf"])
    transport = recording(answering(answers, big))[0]
    client = SourceClient(Politeness(rate=0), policy=Policy(max_file_bytes=4096), transport=transport)
    summary = run(mirror, client, f"{ROOT}/system", clock, tmp_path)
    assert stored(mirror) == {f"{ROOT}/file/0": True, f"{ROOT}/file/1": False, f"{ROOT}/file/2": True}
    assert summary.refused == [
        f"file {ROOT}/file/1: {ROOT}/files/big.pdf: larger than the cap of 4096 bytes (5004 declared)"
    ]
    with Session(mirror) as session:  # the others are stored, nothing over the cap
        sizes = list(session.scalars(select(FileContent.size)))
    assert sizes != []
    assert max(sizes) <= 4096


def test_a_next_link_to_another_host_is_not_followed(mirror: Engine, clock: FakeClock, tmp_path: Path) -> None:
    answers = source(ROOT, [], next_url="https://elsewhere.example.test/oparl/papers?page=2")
    answers["https://elsewhere.example.test/oparl/papers?page=2"] = {"data": [], "links": {}}
    transport, asked = recording(answering(answers))
    summary = run(mirror, SourceClient(Politeness(rate=0), transport=transport), f"{ROOT}/system", clock, tmp_path)
    assert [url for url in asked if "elsewhere" in url] == []
    assert summary.refused == ["https://elsewhere.example.test/oparl/papers?page=2: host elsewhere.example.test is "
                               "not the source's (allow it with --allow-host)"]  # fmt: skip
    # Allowed with --allow-host: followed.
    transport, asked = recording(answering(answers))
    summary = run(mirror, SourceClient(Politeness(rate=0), transport=transport), f"{ROOT}/system", clock, tmp_path,
                  allow_hosts=frozenset({"elsewhere.example.test"}))  # fmt: skip
    assert (summary.refused, asked[-1]) == ([], "https://elsewhere.example.test/oparl/papers?page=2")


def test_a_next_link_that_is_no_url_is_refused(mirror: Engine, clock: FakeClock, tmp_path: Path) -> None:
    answers = source(ROOT, [f"{ROOT}/files/0.pdf"], next_url="https://[oparl/papers?page=2")
    summary = run(mirror, SourceClient(Politeness(rate=0), transport=recording(answering(answers))[0]),
                  f"{ROOT}/system", clock, tmp_path)  # fmt: skip
    assert summary.refused == ["https://[oparl/papers?page=2: not a URL"]
    assert stored(mirror) == {f"{ROOT}/file/0": True}


def test_a_refused_list_page_makes_the_run_incomplete(mirror: Engine, clock: FakeClock, tmp_path: Path) -> None:
    """A full run that could not walk a page deletes nothing, as when the page failed."""
    papers = {**source(ROOT, [f"{ROOT}/files/0.pdf", f"{ROOT}/files/1.pdf"])}
    run(mirror, SourceClient(Politeness(rate=0), transport=recording(answering(papers))[0]), f"{ROOT}/system", clock,
        tmp_path)  # fmt: skip
    clock.advance(3600)
    changed = source(ROOT, [f"{ROOT}/files/0.pdf"], next_url="https://elsewhere.example.test/oparl/papers?page=2")
    summary = run(mirror, SourceClient(Politeness(rate=0), transport=recording(answering(changed))[0]),
                  f"{ROOT}/system", clock, tmp_path, full=True)  # fmt: skip
    assert len(summary.refused) == 1
    assert summary.deleted["Paper"] == 0


def test_a_referenced_object_on_another_host_is_reported_not_fetched(
    mirror: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    answers = source(ROOT, [])
    metadata = "http://169.254.169.254/latest/meta-data/paper"
    answers[f"{ROOT}/papers"]["data"] = [
        {"id": f"{ROOT}/paper/1", "type": f"{SCHEMA}Paper", "name": "Vorlage", "relatedPaper": [metadata]}
    ]
    transport, asked = recording(answering(answers))
    summary = run(mirror, SourceClient(Politeness(rate=0), transport=transport), f"{ROOT}/system", clock, tmp_path)
    assert [url for url in asked if "169.254" in url] == []
    assert summary.refused == ["http://169.254.169.254/latest/meta-data/paper: host 169.254.169.254 is not the "
                               "source's (allow it with --allow-host)"]  # fmt: skip


# -- real connections, on loopback -------------------------------------------------------------------


@contextmanager
def serving(address: str, answers: dict[str, tuple[int, dict[str, str], bytes]]) -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on `address` answering `answers[path]`; yields its port and the paths asked."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            status, headers, body = answers.get(self.path, (404, {}, b""))
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer((address, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], asked
    finally:
        server.shutdown()
        server.server_close()


def test_over_real_connections_names_are_judged_by_the_address_they_resolve_to(
    mirror: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    """The source at a name resolving to 127.0.0.1 (allowed); an intranet host at a name resolving
    to 127.0.0.2 (not allowed) is never connected, directly or through a redirect."""
    import orjson

    secret: dict[str, tuple[int, dict[str, str], bytes]] = {"/secret.pdf": (200, {}, b"secret")}
    with serving("127.0.0.2", secret) as (intranet_port, intranet_asked):
        intranet = f"http://intranet.example.test:{intranet_port}/secret.pdf"
        answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
        with serving("127.0.0.1", answers) as (port, asked):
            root = f"http://ris.example.test:{port}/oparl"
            files = [f"{root}/files/0.pdf", intranet, f"{root}/files/moved.pdf",
                     f"http://files.example.test:{port}/oparl/files/3.pdf"]  # fmt: skip
            for url, value in source(root, files).items():
                answers[url.split(str(port), 1)[1]] = (200, {"Content-Type": "application/json"}, orjson.dumps(value))
            answers["/oparl/files/0.pdf"] = answers["/oparl/files/3.pdf"] = (200, {}, PDF)
            answers["/oparl/files/moved.pdf"] = (302, {"Location": intranet}, b"")
            names = {"ris.example.test": ["127.0.0.1"], "files.example.test": ["127.0.0.1"],
                     "intranet.example.test": ["127.0.0.2"]}  # fmt: skip

            def resolver(host: str, _port: int) -> list[str]:
                if host not in names:
                    raise OSError(f"unknown name {host}")
                return names[host]

            policy = Policy(networks=parse_networks("127.0.0.1/32"))
            client = SourceClient(Politeness(rate=0), policy=policy, resolver=resolver)
            summary = run(mirror, client, f"{root}/system", clock, tmp_path)
    assert intranet_asked == []
    assert "/oparl/files/moved.pdf" in asked
    assert stored(mirror) == {f"{root}/file/0": True, f"{root}/file/1": False, f"{root}/file/2": False,
                              f"{root}/file/3": True}  # fmt: skip
    assert sorted(line.split(": ", 1)[1] for line in summary.refused) == [
        f"{intranet}: intranet.example.test resolves to 127.0.0.2 is not a public address",
        f"{root}/files/moved.pdf: redirected to {intranet}: intranet.example.test resolves to 127.0.0.2 is not a "
        "public address",
    ]
    assert summary.failures == []


def test_the_command_refuses_loopback_until_it_is_allowed(
    migrated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import orjson

    answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
    with serving("127.0.0.1", answers) as (port, asked):
        root = f"http://127.0.0.1:{port}/oparl"
        for url, value in source(root, [f"{root}/files/0.pdf"]).items():
            answers[url.split(str(port), 1)[1]] = (200, {"Content-Type": "application/json"}, orjson.dumps(value))
        answers["/oparl/files/0.pdf"] = (200, {}, PDF)
        monkeypatch.setenv("OPARL_DATABASE_URL", f"sqlite:///{tmp_path / 'mirror.sqlite3'}")
        monkeypatch.setenv("OPARL_DATA_DIR", str(tmp_path / "data"))
        shutil.copy(migrated, tmp_path / "mirror.sqlite3")
        assert cli.main(["harvest", f"{root}/system", "--files", "--rate", "0"]) == 3
        assert asked == []
        assert f"failed: System: {root}/system: 127.0.0.1 is not a public address" in capsys.readouterr().out
        assert cli.main(["harvest", f"{root}/system", "--files", "--rate", "0", "--allow-network", "127.0.0.1"]) == 0
        monkeypatch.setenv("OPARL_HARVEST_ALLOW_NETWORKS", "127.0.0.0/8,::1/128")
        assert cli.main(["harvest", f"{root}/system", "--files", "--rate", "0"]) == 0
    assert "/oparl/files/0.pdf" in asked
    with pytest.raises(SystemExit):
        cli.main(["harvest", f"{root}/system", "--allow-network", "intranet"])
    assert "not a network" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["localhost", "2130706433", "0x7f.0.0.1", "127.1", "017700000001"])
def test_the_default_client_checks_where_it_connects(host: str) -> None:
    """Names and the other spellings of 127.0.0.1 pass the URL check; the system resolver turns them
    into 127.0.0.1, which the guarded transport refuses before connecting."""
    with serving("127.0.0.1", {"/oparl/system": (200, {}, b"{}")}) as (port, asked):
        client = SourceClient(Politeness(rate=0, retries=0))
        with pytest.raises(Refused, match=f"{host} resolves to (127.0.0.1|::1) is not a public address"):
            client.json(f"http://{host}:{port}/oparl/system")
        allowed = SourceClient(Politeness(rate=0, retries=0), policy=Policy(networks=LOOPBACK))
        assert allowed.json(f"http://{host}:{port}/oparl/system") == {}
        client.close()
        allowed.close()
    assert asked == ["/oparl/system"]
