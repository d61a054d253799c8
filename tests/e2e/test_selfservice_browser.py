"""A customer opens the link in our message in a real browser (Debian's chromium, driven by
Playwright), reads what the click will do, presses the button, and sees what we did; the
store holds the refund. The app runs under uvicorn on a free loopback port, as
``ordercare serve`` runs it.

Chromium is installed by ``scripts/setup``; when it is missing the test fails, unless
ORDERCARE_SKIP_BROWSER=1 says so out loud.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from ordercare import services
from ordercare.notify.links import Links, found_in
from ordercare.web.app import create_app
from tests.e2e.cli import replay
from tests.e2e.test_self_service import shop, stalled
from tests.support import web


def _chromium() -> str:
    if os.environ.get("ORDERCARE_SKIP_BROWSER") == "1":
        pytest.skip("ORDERCARE_SKIP_BROWSER=1: browser tests skipped on request")
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is missing: scripts/setup installs Debian's chromium")
    return found


def _page(pw):  # type: ignore[no-untyped-def]
    """A page in Debian's chromium, headless."""
    browser = pw.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--headless=new"])
    return browser, browser.new_page()


@pytest.fixture
def served(sqlite_url: str, tmp_path, monkeypatch) -> Iterator[tuple[str, object]]:
    """The self-service app on a real port; our messages link to it."""
    port = web.free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("ORDERCARE_PUBLIC_URL", base)
    replay(sqlite_url, stalled(shop(), "o-1", "c-bob"), tmp_path, "--until", "2026-06-05T12:00:00+02:00")
    store = services.open_store(sqlite_url)
    with web.served(create_app(store, Links.from_env()), port):
        yield base, store
    store.dispose()


def test_a_customer_chooses_a_replacement_in_a_browser(served):
    from playwright.sync_api import sync_playwright
    base, store = served
    [case] = services.list_cases(store)
    [first] = services.list_messages(store, case["id"])
    urls = [u for u in first["text"].split() if u.startswith(base + "/choice/")]
    assert len(urls) == 3 and [c for _, c, _ in found_in(first["text"])] == ["wait", "refund", "replacement"]
    replacement = next(u for u in urls if "/replacement?" in u)

    with sync_playwright() as pw:
        browser, page = _page(pw)
        page.goto(replacement)
        assert "Send me a replacement" in page.inner_text("body")
        assert not [a for a in services.list_cases(store)[0]["actions"] if a["type"] == "customer_choice"]
        page.click("button[type=submit]")
        page.wait_for_load_state()
        shown = page.inner_text("body")
        browser.close()

    assert "Done. Here is what we did" in shown and "We are sending you a new" in shown
    [case] = services.list_cases(store)
    assert [a["line_ids"] for a in case["actions"] if a["type"] == "replace"] == [["l1", "l2"]]
    assert case["status"] == "resolved"


def test_an_agent_sends_a_new_address_from_the_console_in_a_browser(sqlite_url, tmp_path):
    """The agents' console in a real browser: log in with the desk's token, open the case,
    choose "new address", fill it in, press the button; the case, the order and the customer's
    answer say so."""
    from playwright.sync_api import sync_playwright
    replay(sqlite_url, stalled(shop(), "o-1", "c-bob"), tmp_path, "--until", "2026-06-05T12:00:00+02:00")
    store = services.open_store(sqlite_url)
    [case] = services.list_cases(store)
    with web.served(create_app(store, Links.from_env(), desk_token="t0ken")) as base, sync_playwright() as pw:
        browser, page = _page(pw)
        page.goto(f"{base}/desk/login?t=t0ken")
        assert "Open cases" in page.inner_text("body")
        page.click(f"text={case['id']}")
        page.fill("form[action$='/act'] input[name=agent]", "lea")
        page.select_option("select[name=action]", "update_address")
        page.fill("input[name=line1]", "3 rue des Lilas")
        page.fill("input[name=postcode]", "69003")
        page.fill("input[name=city]", "Lyon")
        page.click("form[action$='/act'] button[type=submit]")
        page.wait_for_load_state()
        shown = page.inner_text("body")
        browser.close()
    assert "New address for every parcel on its way: done" in shown and "lea:update_address" in shown
    [after] = services.list_cases(store)
    assert [a["shipment_ids"] for a in after["actions"] if a["type"] == "update_address"] == [["sh-o-1"]]
    told = [m for m in services.list_messages(store, case["id"]) if m["kind"] == "reply"]
    assert "Your parcel now goes to 3 rue des Lilas, 69003 Lyon" in told[-1]["text"]
    store.dispose()
