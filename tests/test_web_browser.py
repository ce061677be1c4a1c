"""The site in a real browser: Debian's headless Chromium driven by Selenium (chromedriver).

Every page kind (archive, digest permalink, search through the form, stats with its charts) in
both languages at a phone width (390x844) and a desktop width (1280x900). A screenshot of each
goes to tests/artifacts/web/ (git-ignored) for a human to look at. The browser is told to stay
off the network (no component updates, sync or safe-browsing calls): it only talks to the
server on 127.0.0.1.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import need
from tests.websupport import XSS_TITLE, LiveSite, chromium_driver

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "web"
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    site = LiveSite(tmp_path_factory.mktemp("webui"))
    site.start()
    yield site
    site.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    need(
        Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(),
        "chromium and chromedriver not installed (Debian: apt-get install chromium "
        "chromium-driver; scripts/test.sh does it)",
    )
    log = tmp_path_factory.mktemp("chromedriver") / "chromedriver.log"
    with chromium_driver(CHROMIUM, CHROMEDRIVER, log) as driver:
        yield driver


def show(driver: webdriver.Chrome, url: str, size: str, shot: str) -> None:
    width, height = SIZES[size]
    # The window size includes no browser chrome in headless mode: the viewport is the size.
    driver.set_window_size(width, height)
    driver.get(url)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{shot}-{size}.png"))


def check_page(driver: webdriver.Chrome, lang: str, size: str) -> None:
    """What every page must do in the browser: its language, the stylesheet applied, no
    horizontal scrolling on a phone, no script and nothing refused by the CSP."""
    assert driver.execute_script("return document.documentElement.lang") == lang
    # The stylesheet loaded (the CSP allows 'self'): main is centred with a max width.
    assert (
        driver.execute_script("return getComputedStyle(document.querySelector('main')).maxWidth")
        != "none"
    )
    if size == "phone":
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"page scrolls sideways by {overflow}px"
    assert driver.execute_script("return document.scripts.length") == 0
    for tag in ("header", "nav", "main", "footer"):
        assert driver.find_elements(By.TAG_NAME, tag), tag
    refused = [e for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]
    assert refused == []


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["id", "en"])
def test_archive_and_digest_permalink(
    live: LiveSite, browser: webdriver.Chrome, lang: str, size: str
) -> None:
    show(browser, f"{live.url}/{lang}/", size, f"archive-{lang}")
    check_page(browser, lang, size)
    first = browser.find_element(By.CSS_SELECTOR, "section.digest h2 a")
    title = {"id": "Ringkasan AI & Seniman — ", "en": "AI & Artists Digest — "}[lang]
    assert first.text.startswith(title)
    entries = browser.find_elements(By.CSS_SELECTOR, "section.digest article.entry")
    assert len(entries) >= 5
    assert browser.find_elements(By.CSS_SELECTOR, "article.entry ul.facts li")
    also = {"id": "Juga diberitakan oleh:", "en": "Also reported by:"}[lang]
    assert any(p.text.startswith(also) for p in browser.find_elements(By.CSS_SELECTOR, "p.also"))

    # Follow the digest's permalink, as a reader would.
    first.click()
    WebDriverWait(browser, 30).until(EC.url_contains("/digest/"))
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    assert browser.current_url == f"{live.url}/digest/{lang}/{live.day}"
    browser.save_screenshot(str(ARTIFACTS / f"digest-{lang}-{size}.png"))
    check_page(browser, lang, size)
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(title)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["id", "en"])
def test_search_through_the_form(
    live: LiveSite, browser: webdriver.Chrome, lang: str, size: str
) -> None:
    show(browser, f"{live.url}/{lang}/", size, f"home-before-search-{lang}")
    box = browser.find_element(By.ID, "q")
    # The search box has a visible label tied to it (accessibility).
    assert browser.find_element(By.CSS_SELECTOR, "label[for=q]").text
    box.send_keys("sora")
    box.submit()
    # Submitting returns before the next page has loaded: wait for it (not a timing check).
    WebDriverWait(browser, 30).until(EC.url_contains("/search?q=sora"))
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    assert browser.current_url.startswith(f"{live.url}/{lang}/search?q=sora")
    browser.save_screenshot(str(ARTIFACTS / f"search-{lang}-{size}.png"))
    check_page(browser, lang, size)
    results = browser.find_elements(By.CSS_SELECTOR, "ol.results > li h2 a")
    assert results
    assert any("Sora" in r.text for r in results)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["id", "en"])
def test_stats_page_draws_its_charts(
    live: LiveSite, browser: webdriver.Chrome, lang: str, size: str
) -> None:
    show(browser, f"{live.url}/{lang}/stats", size, f"stats-{lang}")
    check_page(browser, lang, size)
    images = browser.find_elements(By.CSS_SELECTOR, "section.chart img")
    assert len(images) == 3
    for img in images:
        assert img.get_attribute("alt")
        loaded = browser.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth", img
        )
        assert (loaded or 0) > 100, img.get_attribute("src")
        # Scaled to the column, never wider than the phone's screen.
        assert img.size["width"] <= SIZES[size][0]


def test_xss_in_a_feed_title_shows_as_text(live: LiveSite, browser: webdriver.Chrome) -> None:
    for path in ("/en/", f"/en/story/{live.xss_story_id}", "/en/search?q=onerror"):
        show(browser, live.url + path, "desktop", "xss")
        # No alert opened: the script never ran.
        with pytest.raises(NoAlertPresentException):
            _ = browser.switch_to.alert.text
        assert browser.execute_script("return document.scripts.length") == 0
        assert browser.execute_script("return document.querySelectorAll('img[src=x]').length") == 0
        body = browser.find_element(By.TAG_NAME, "main").text
        assert XSS_TITLE in body, path


def test_csp_header_is_sent_and_enforced(live: LiveSite, browser: webdriver.Chrome) -> None:
    """The browser enforces the policy it receives: an inline script injected into the live
    DOM is refused (and reported in the console), while the page's own stylesheet applies."""
    show(browser, f"{live.url}/en/", "desktop", "csp")
    browser.get_log("browser")  # drop earlier entries
    browser.execute_script(
        "const s = document.createElement('script');"
        "s.textContent = 'document.title = \"pwned\"';"
        "document.body.appendChild(s);"
    )
    assert browser.title != "pwned"
    refused = [e for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert refused
