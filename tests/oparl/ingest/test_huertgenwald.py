"""A complete recorded crawl of a real SD.NET OParl 1.0 endpoint, replayed, harvested and served as 1.1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from models import utcnow
from models.db import make_sessionmaker
from oparl.content import ContentStore
from oparl.ingest.client import Politeness, SourceClient
from oparl.ingest.harvest import Harvester, Options
from oparl.urls import UrlBuilder
from tests.conftest import fresh_database
from tests.servers import free_port, running

SHARED = Path(__file__).resolve().parents[4] / "shared"
CRAWL = SHARED / "realworld" / "huertgenwald"
PREFIX = "https://sdnetrim.kdvz-frechen.de/rim4220/webservice/oparl/v1.0/"
ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(not CRAWL.is_dir(), reason=f"no recorded crawl at {CRAWL}")


def replay(request: httpx.Request) -> httpx.Response:
    """The recording (its file naming: ../shared/realworld/README.md); file bytes were not recorded,
    so the replay stands in a small PDF that names the file."""
    url = str(request.url)
    if not url.startswith(PREFIX):
        return httpx.Response(404)
    rest = url.removeprefix(PREFIX).removesuffix("?page=1")
    recorded = CRAWL / f"{rest}.json"
    if recorded.is_file():
        return httpx.Response(200, content=recorded.read_bytes(), headers={"content-type": "application/json"})
    if "/files/" in rest:
        return httpx.Response(200, content=b"%PDF-1.4\n% " + url.encode() + b"\n%%EOF\n")
    return httpx.Response(404, json={"error": "not recorded"})


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_every_object_is_imported_and_served_as_valid_oparl_1_1(tmp_path: Path, engine_name: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = SourceClient(Politeness(rate=0), transport=httpx.MockTransport(replay))
    with fresh_database(engine_name, tmp_path, "mirror") as engine:
        harvester = Harvester(make_sessionmaker(engine), client, urls=UrlBuilder(base),
                              store=ContentStore(), clock=utcnow,
                              tz=ZoneInfo("Europe/Berlin"), options=Options(files=True))  # fmt: skip
        summary = harvester.run(PREFIX + "system")
        # The counts of the recording (../shared/realworld/README.md, "Counts").
        assert dict(summary.created) == {
            "System": 1, "Body": 1, "Organization": 22, "Person": 49, "Meeting": 346, "Paper": 2097,
            "Membership": 533, "Consultation": 2228, "AgendaItem": 5106, "File": 6947, "Location": 5}  # fmt: skip
        assert summary.quirks["tombstone_without_type"] == 21 + 18
        assert summary.quirks["ags_without_leading_zero"] == 1
        assert len(summary.missing) == 35  # the Person locations that only ever answered HEAD
        assert summary.failures == []

        env = {k: v for k, v in os.environ.items() if not k.startswith("OPARL_")}
        env |= {"OPARL_DATABASE_URL": engine.url.render_as_string(hide_password=False),
                "OPARL_DATA_DIR": str(tmp_path / "data"), "OPARL_PUBLIC_BASE_URL": base}  # fmt: skip
        with running(["serve", "--port", str(port)], env, port):
            check = subprocess.run([sys.executable, str(SHARED / "tools" / "oparl_check.py"),
                                    f"{base}/oparl/v1.1/system", "--timeout", "60"],
                                   capture_output=True, text=True, timeout=900)  # fmt: skip
    assert check.stdout.strip().splitlines()[-1].endswith(" passed, 0 failed"), check.stdout[-3000:]
