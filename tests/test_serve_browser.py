"""`rnnkit serve` in headless Chromium with the network blocked: /docs and /redoc render the API from files the
server ships (no CDN), and the page works behind an API key (opened once as /?key=KEY). Issue 24, finding 6;
issue 26 (the key)."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("fastapi", reason="the serve extra: pip install 'rnnkit[serve]'")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from serving import Server  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="headless Chromium is not installed: apt-get install chromium chromium-driver "
                                       "(as .ci/run does)")
KEY = "correct-horse-battery-staple"
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"  # every other name fails to resolve


@pytest.fixture(scope="module")
def server(serve_models, tmp_path_factory):
    srv = Server([serve_models["sentiment"]], tmp_path_factory.mktemp("log") / "serve.log",
                 env={"RNNKIT_API_KEY": KEY})
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser():
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1000", OFFLINE):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_the_network_is_blocked(browser):
    """The CDN FastAPI's own /docs loads Swagger UI from cannot be reached from this browser."""
    with pytest.raises(WebDriverException, match="ERR_NAME_NOT_RESOLVED"):
        browser.get("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js")


def test_docs_show_the_operations_offline(server, browser):
    browser.get(server.url + "/docs")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
    paths = {e.text.replace("\u200b", "") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/api/predict", "/api/trace", "/api/translate", "/api/generate", "/api/transcribe"} <= paths


def test_redoc_shows_the_operations_offline(server, browser):
    browser.get(server.url + "/redoc")
    WebDriverWait(browser, 30).until(lambda d: "/api/predict" in d.page_source)
    titles = {e.text for e in browser.find_elements(By.CSS_SELECTOR, "h2")}
    assert "Predict" in titles and "Translate" in titles


def test_the_page_works_behind_the_key(server, browser):
    browser.get(server.url + "/")
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "error").is_displayed())
    assert "API key" in browser.find_element(By.ID, "error").text  # without the key the page says what it needs
    browser.get(f"{server.url}/?key={KEY}")  # once: the key becomes a cookie, and the page loads at /
    assert browser.current_url == server.url + "/"
    browser.get(f"{server.url}/?page=explore")  # the explorer lists the served models (from /api/models)
    WebDriverWait(browser, 30).until(
        lambda d: [o.text for o in d.find_elements(By.CSS_SELECTOR, "#model option")])
    assert [o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "#model option")] == ["reviews"]
    assert not browser.find_element(By.ID, "error").is_displayed()
