"""The landing page as a newcomer sees it, in a real headless browser (issue 16, item 7): Debian's
Chromium driven by Selenium through Debian's chromedriver. `.ci/run` installs both; where they are
absent the test says how to get them and skips."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no headless browser here: `apt-get install chromium chromium-driver` (.ci/run installs them)")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # Headless as root, and no calls home: this machine's network is closed (see the machine notes).
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _text(driver: Any, css: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def test_a_newcomer_sees_credentials_curl_lines_the_store_and_the_journal(
        browser: Any, client: Any, live_url: str) -> None:
    from loginaudit.registry import VENDORS

    client.post("/_loginaudit/seed", json={"events": 120, "seed": 2}).raise_for_status()
    secret = next(t["secret"] for t in client.get("/_loginaudit/tokens?vendor=unleash").json() if t["kind"] == "admin")
    client.get("/api/admin/logins", headers={"Authorization": secret})
    browser.get(live_url + "/")
    assert browser.title == "loginaudit"
    store = _text(browser, "#store")
    assert "120 events" in store and "clock 2026-11-22T12:00:00+00:00 (frozen)" in store
    for vendor in VENDORS:  # every vendor has its section with a base URL and demo credentials shown
        section = _text(browser, f"section#{vendor.name}")
        assert vendor.title in section and live_url in section, vendor.name
    unleash = _text(browser, "section#unleash")
    assert secret in unleash  # the credential as rendered text, not just in the markup
    assert f"curl -H 'Authorization: {secret}' {live_url}/api/admin/logins" in _text(browser, "section#unleash pre")
    assert "GET /api/admin/logins → 200 (unleash)" in _text(browser, "#journal")


def test_every_docs_link_opens_a_swagger_ui_showing_the_vendors_operations(
        browser: Any, client: Any, live_url: str) -> None:
    """Follows each vendor's `docs` link as a person would and waits for Swagger UI to render the spec
    (its JavaScript fetches the document: a wrong link or an unreadable spec shows no operations)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    from loginaudit.registry import VENDORS

    for vendor in VENDORS:
        browser.get(live_url + "/")
        browser.find_element(By.CSS_SELECTOR, f"section#{vendor.name} a").click()
        WebDriverWait(browser, 30).until(seen.presence_of_element_located((By.CSS_SELECTOR, ".opblock-summary-path")))
        shown = {e.text.replace("\u200b", "") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
        documented = {path for path, item in vendor.spec["paths"].items() if "get" in item}
        assert documented & shown, (vendor.name, browser.current_url, sorted(shown)[:5])
