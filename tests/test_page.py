"""The web page of `rnnkit serve` in a real browser: headless Chromium (Debian `chromium` + `chromium-driver`,
installed by .ci/run) driven by Selenium against the real server on a free port, with a tiny trained model.

RNNKIT_SCREENSHOT=1 also saves the page to docs/img/page.png (the README's picture)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from rnnkit.cli import main

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOT = Path(__file__).parents[1] / "docs" / "img" / "page.png"
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="headless Chromium is not installed: apt-get install chromium chromium-driver "
                                       "(as .ci/run does)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def server(reviews_csv, tmp_path_factory):
    """A tiny LSTM sentiment model, served by `python -m rnnkit serve` in its own process."""
    model = tmp_path_factory.mktemp("page") / "reviews-lstm"
    assert main(["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
                 "--model", "lstm", "--embed-dim", "16", "--hidden-size", "24", "--epochs", "3", "--min-freq", "1",
                 "--no-progress", "--out", str(model)]) == 0
    lm = model.parent / "wiki-lm"
    assert main(["train", "lm", "--data", str(Path(__file__).parent / "fixtures" / "lm" / "wikitext-2"), "--embed-dim",
                 "8", "--hidden-size", "8", "--bptt", "8", "--batch-size", "4", "--epochs", "1", "--min-freq", "1",
                 "--no-progress", "--out", str(lm)]) == 0
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log_path = model.parent / "server.log"  # a file, not a pipe: a full pipe would block the server
    log = open(log_path, "w")  # noqa: SIM115 - closed after the server stops
    process = subprocess.Popen([sys.executable, "-m", "rnnkit", "serve", str(model), str(lm), "--port", str(port),
                                "--threads", "1"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if json.loads(response.read())["status"] == "ok":
                    break
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            log.close()
            pytest.fail(f"the server did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    yield url, model.name
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@pytest.fixture(scope="module")
def browser():
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1000", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _wait_done(driver) -> None:
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
                                    in ("done", "error", "idle"))
    error = driver.find_element(By.ID, "error")
    assert not error.is_displayed(), f"the page shows an error: {error.text}"


def _columns(driver) -> list[str]:
    """The token of every column of the gates heatmap, left to right."""
    columns = driver.find_elements(By.CSS_SELECTOR, "#gates-svg g.column")
    return [c.get_attribute("data-token") for c in columns]


def test_page_from_a_link_shows_the_prediction_and_one_heatmap_column_per_token(server, browser):
    url, name = server
    text = "A joyous, moving film with a dull ending"
    expected = _post(url + "/api/trace", {"model": name, "text": text})
    browser.get(f"{url}/?{urllib.parse.urlencode({'model': name, 'text': text})}")
    _wait_done(browser)
    assert browser.find_element(By.ID, "predicted-label").text == expected["prediction"]["label"]
    assert expected["prediction"]["label"] in ("negative", "positive")
    tokens = expected["tokens"]
    assert tokens == ["a", "joyous", ",", "moving", "film", "with", "a", "dull", "ending"]
    assert _columns(browser) == tokens
    # every column holds one cell per unit of each LSTM gate shown (f, i, o) and of h: 4 × 24
    first = browser.find_elements(By.CSS_SELECTOR, "#gates-svg g.column")[0]
    assert len(first.find_elements(By.CSS_SELECTOR, "rect.cell")) == 4 * 24
    assert browser.find_element(By.ID, "legend-gates").is_displayed()
    points = browser.find_element(By.CSS_SELECTOR, "#norm-svg polyline").get_attribute("points").split()
    assert len(points) == len(tokens)  # the hidden-state trajectory: one point per token
    if os.environ.get("RNNKIT_SCREENSHOT"):
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",  # the whole page, not the window's part
                                {"width": 1280, "height": int(height), "deviceScaleFactor": 1, "mobile": False})
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOT))


def test_typing_a_sentence_updates_the_page_and_its_url(server, browser):
    url, name = server
    browser.get(f"{url}/?model={name}")
    _wait_done(browser)
    box = browser.find_element(By.ID, "text")
    box.clear()
    box.send_keys("dull and lifeless")
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, 30).until(lambda d: len(_columns(d)) == 3)
    _wait_done(browser)
    assert _columns(browser) == ["dull", "and", "lifeless"]
    query = urllib.parse.parse_qs(urllib.parse.urlparse(browser.current_url).query)
    assert query["model"] == [name] and query["text"] == ["dull and lifeless"]
    Select(browser.find_element(By.ID, "view")).select_by_value("summary")
    first = browser.find_elements(By.CSS_SELECTOR, "#gates-svg g.column")[0]
    assert len(first.find_elements(By.CSS_SELECTOR, "rect.cell")) == 4
    assert "view=summary" in browser.current_url  # summary: one row per gate (f, i, o, h), one column per token


def test_a_link_to_an_unknown_model_says_so(server, browser):
    url, _ = server
    browser.get(f"{url}/?model=nope&text=hi")
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "error").is_displayed())
    assert "no model named" in browser.find_element(By.ID, "error").text


def test_a_language_model_streams_its_text_with_probabilities_and_shows_the_next_words(server, browser):
    url, _ = server
    browser.get(f"{url}/?model=wiki-lm&text=The%20network")
    _wait_done(browser)
    assert _columns(browser) == ["the", "network"]  # the prompt's gates
    assert len(browser.find_elements(By.CSS_SELECTOR, "#next .bar")) == 10
    generated = browser.find_elements(By.CSS_SELECTOR, "#generated .gen")
    assert len(generated) == 40 and browser.find_element(By.ID, "generated").get_attribute("data-done") == "true"
    probs = [float(g.find_element(By.CLASS_NAME, "gen-prob").text) for g in generated]
    assert all(0 <= p <= 1 for p in probs)
