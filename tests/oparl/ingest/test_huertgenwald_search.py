"""The recorded Hürtgenwald crawl, harvested, then searched: a word taken from the papers' names finds
every paper whose name holds a form of it, computed from the data: a word whose stem begins with the
word's stem (Snowball German, case, ß and accents aside), so inflections and compounds count
("Bebauungsplanes", "Bebauungsplanverfahren"), a word merely spelt alike does not ("anderen" is no
form of "Änderung", though both begin "ander" once the umlaut is gone)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import Stemmer
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.settings import Settings
from models import Paper, utcnow
from models.db import make_sessionmaker
from oparl.content import ContentStore
from oparl.ingest.client import Politeness, SourceClient
from oparl.ingest.harvest import Harvester, Options
from oparl.urls import UrlBuilder
from tests.conftest import fresh_database
from tests.oparl.ingest.test_huertgenwald import CRAWL, PREFIX, replay

BASE = "http://mirror.example.org"
pytestmark = pytest.mark.skipif(not CRAWL.is_dir(), reason=f"no recorded crawl at {CRAWL}")


def folded(text: str) -> str:
    """Lower case, ß as ss, accents off: how a person would say two spellings are one word."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


WORD = re.compile(r"[^\W_]+")
STEMMER = Stemmer.Stemmer("german")  # the stemmer itself: what the server does with stems is tested


def stem(word: str) -> str:
    return folded(STEMMER.stemWord(word.lower()))


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_a_word_from_paper_names_finds_every_paper_named_with_a_form_of_it(tmp_path: Path, engine_name: str) -> None:
    client = SourceClient(Politeness(rate=0), transport=httpx.MockTransport(replay))
    with fresh_database(engine_name, tmp_path, "mirror") as engine:
        harvester = Harvester(make_sessionmaker(engine), client, urls=UrlBuilder(BASE), store=ContentStore(),
                              clock=utcnow, tz=ZoneInfo("Europe/Berlin"), options=Options(files=False))  # fmt: skip
        assert harvester.run(PREFIX + "system").failures == []
        with make_sessionmaker(engine)() as session:
            live = select(Paper.id, Paper.name).where(Paper.deleted.is_(False))
            named = {row.id: row.name for row in session.execute(live)}
        url = engine.url.render_as_string(hide_password=False)
        app = create_app(Settings(database_url=url, public_base_url=BASE, data_dir=tmp_path / "data"))
        with TestClient(app) as web:
            body = web.get("/oparl/v1.1/body").json()["data"][0]
            search = body["oparl-server:search"].removeprefix(BASE)
            # The five commonest long words of the names, and two rarer ones picked by a fixed rule.
            counts = Counter(w for n in named.values() if n for w in set(re.findall(r"[^\W\d_]{8,}", n)))
            common = [w for w, _ in counts.most_common(5)]
            rare = [w for w, c in sorted(counts.items()) if c == 3][:2]
            assert len(common + rare) == 7
            for word in common + rare:
                prefix = stem(word)
                expected = {
                    i for i, n in named.items() if n and any(stem(w).startswith(prefix) for w in WORD.findall(n))
                }
                assert len(expected) >= 3
                found = hits(web, search, word)
                assert found == expected, (word, [named[i] for i in expected ^ found])


def hits(web: TestClient, search: str, q: str) -> set[int]:
    found: list[int] = []
    page = web.get(search, params={"q": q, "type": "Paper", "limit": "100"}).json()
    while True:
        found += [int(hit["id"].rsplit("/", 1)[1]) for hit in page["data"]]
        if "next" not in page["links"]:
            break
        page = web.get(page["links"]["next"].removeprefix(BASE)).json()
    assert len(found) == len(set(found))
    return set(found)
