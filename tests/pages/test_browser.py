"""The pages in a real browser: Debian's Chromium driven by Playwright, axe-core on every page type.

Nothing downloads a browser: the tests use the Chromium of Debian's package (`apt-get install
chromium`, as .ci/run does; or the one OPARL_CHROMIUM names) and skip, saying so, without one.
They serve the Lübeck demo (`oparl-server demo`) on a free port. With OPARL_SCREENSHOTS set to a
folder, the axe test saves a screenshot of each page type there (docs/pages/ holds them).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LUEBECK

CHROMIUM = Path(os.environ.get("OPARL_CHROMIUM", "/usr/bin/chromium"))
# WCAG 2.1 levels A and AA, as axe-core tags its rules.
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (Debian) to run the browser tests",
                allow_module_level=True)  # fmt: skip
sync_api = pytest.importorskip("playwright.sync_api")
axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo on SQLite, on a free port of this host."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = tmp_path_factory.mktemp("demo")
    command = [str(Path(sys.executable).parent / "oparl-server"), "demo", "--port", str(port)]
    log = (data / "server.log").open("w")
    process = subprocess.Popen(command, env={**os.environ, "OPARL_DATA_DIR": str(data)}, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/oparl/v1.1/system", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail(f"the demo did not start: {(data / 'server.log').read_text()[-2000:]}")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, locale="de-DE", viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def test_from_the_start_page_to_an_anlage_of_vo_2023_11779(server: str, page: Any) -> None:
    expect = sync_api.expect
    page.goto(f"{server}/")
    page.get_by_role("link", name="Hansestadt Lübeck").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hansestadt Lübeck")
    page.get_by_role("link", name="VO/2023/11779: Strategisches Sozialplanungsmodell Kurzkonzept").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "VO/2023/11779 Strategisches Sozialplanungsmodell Kurzkonzept"
    )
    steps = page.locator("ol.timeline > li")
    expect(steps).to_have_count(10)
    expect(steps.nth(3)).to_contain_text("Do., 23.02.2023")
    expect(steps.nth(3)).to_contain_text("zur Entscheidung")
    # Along the Beratungsfolge to the Bürgerschaft's meeting.
    steps.nth(3).get_by_role("link", name="Sitzung der Bürgerschaft der Hansestadt Lübeck").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sitzung der Bürgerschaft der Hansestadt Lübeck")
    agenda = page.locator("ol.agenda > li")
    expect(agenda).to_have_count(1)
    expect(agenda.first).to_contain_text("öffentlich")
    expect(page.get_by_role("link", name="In den eigenen Kalender übernehmen (iCalendar)")).to_be_visible()
    # Back to the paper from its agenda item, and an Anlage downloaded.
    agenda.first.get_by_role("link", name="VO/2023/11779: Strategisches Sozialplanungsmodell Kurzkonzept").click()
    expect(page).to_have_title("VO/2023/11779 – Ratsinformation")
    with page.expect_download() as pending:
        page.get_by_role(
            "link", name=re.compile(r"^Herunterladen.*Kurzkonzzept Strategisches Sozialplanungsmodell$")
        ).click()
    download = pending.value
    assert download.suggested_filename == "VO-2023-11779-Anlage-1.txt"
    assert Path(download.path()).read_bytes() == (LUEBECK / "files" / "VO-2023-11779-Anlage-1.txt").read_bytes()


def test_every_link_is_reached_by_keyboard(server: str, page: Any) -> None:
    page.goto(f"{server}/paper/1")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Zum Inhalt springen"
    links = page.eval_on_selector_all("a[href]", "all => all.map(a => a.href)")
    reached = []
    for _ in range(len(links) - 1):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.href"))
    assert reached == links[1:]
    # The skip link moves the focus to the main content.
    page.goto(f"{server}/paper/1")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "inhalt"


PAGE_TYPES = {
    "start": "/",
    "body": "/body/1",
    "paper": "/paper/1",
    "meeting": "/meeting/4",
    "organization": "/organization/2",
    "person": "/person/1",
    "list": "/body/1/paper?limit=3",
    "search": "/body/1/search?q=Sozialbericht",
    "not-found": "/paper/999999",
}


@pytest.mark.parametrize("name", PAGE_TYPES)
def test_axe_finds_no_wcag_a_or_aa_violation(server: str, page: Any, name: str) -> None:
    response = page.goto(server + PAGE_TYPES[name])
    assert response.status == (404 if name == "not-found" else 200)
    assert page.evaluate("document.documentElement.lang") == "de"
    options = {"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]}
    results = axe_playwright.Axe().run(page, options=options)
    assert results.violations_count == 0, results.generate_report()
    # One h1, and every page in header, main and footer landmarks.
    assert page.locator("h1").count() == 1
    assert [page.locator(tag).count() for tag in ("header", "main", "footer")] == [1, 1, 1]
    folder = os.environ.get("OPARL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_pages_print_without_navigation(server: str, page: Any) -> None:
    page.emulate_media(media="print")
    page.goto(f"{server}/paper/1")
    assert page.locator("nav.crumbs").is_hidden()
    assert page.locator("header.site").is_hidden()
    assert page.locator("main").is_visible()
    assert re.search(r"Beratungsfolge", page.locator("main").inner_text())


def test_axe_reports_what_it_should(page: Any) -> None:
    """The check above can fail: on a page without a language and an image without text, it does."""
    page.set_content(
        '<!DOCTYPE html><html><head><title>x</title></head><body><main><img src="x.png"></main></body></html>'
    )
    options = {"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]}
    found = {v["id"] for v in axe_playwright.Axe().run(page, options=options).response["violations"]}
    assert found == {"html-has-lang", "image-alt"}
