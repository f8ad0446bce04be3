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
from rnnkit.data.speech import EspeakMissingError, espeak_binary
from rnnkit.experiments.cloze_data import LECTURE
from rnnkit.experiments.examples import FOOD, FOX, FRENCH, NOTHING
from rnnkit.experiments.examples import speech as speak_fox
from rnnkit.experiments.examples_data import quick_speech_corpus

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
# axe-core (npm), installed by .ci/run into .cache/axe-core (`npm install --prefix .cache/axe-core axe-core@PIN`)
AXE = Path(os.environ.get("RNNKIT_AXE", Path(__file__).parents[1] / ".cache" / "axe-core" / "node_modules" /
                          "axe-core" / "axe.min.js"))
SCREENSHOT = Path(__file__).parents[1] / "docs" / "img" / "page.png"
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="headless Chromium is not installed: apt-get install chromium chromium-driver "
                                       "(as .ci/run does)")


def _speaks() -> bool:
    """espeak-ng is installed (.ci/run installs it; CI fails without it): the fox card can be tested."""
    try:
        espeak_binary()
    except EspeakMissingError:
        if os.environ.get("CI"):
            raise
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _transcribe(url: str, model: str, wav: bytes) -> str:
    boundary = "rnnkit-page-test"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"fox.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode() + wav + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{url}/api/transcribe?model={model}", body,
                                     {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["text"]


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def server(reviews_csv, tmp_path_factory):
    """A tiny LSTM sentiment model, a bag of words and a translator in an `experiment examples`-shaped folder
    (served with --examples, as a teacher would), and a tiny word-level LM, served by `python -m rnnkit serve`
    in its own process."""
    examples = tmp_path_factory.mktemp("page") / "examples"
    model = examples / "sentiment"
    common = ["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
              "--min-freq", "1", "--no-progress"]
    assert main([*common, "--model", "recurrent", "--cell", "lstm", "--embed-dim", "16", "--hidden-size", "24",
                 "--epochs", "3", "--out", str(model)]) == 0
    assert main([*common, "--model", "bow", "--epochs", "3", "--out", str(examples / "bow")]) == 0
    assert main(["train", "translate", "--data", str(Path(__file__).parent / "fixtures" / "translation" / "fra.txt"),
                 "--epochs", "1", "--no-progress", "--embed-dim", "8", "--hidden-size", "8", "--src-bpe", "300",
                 "--tgt-bpe", "300", "--batch-size", "8", "--beam", "2", "--out", str(examples / "translate")]) == 0
    recorded = {"experiment": "examples", "models": {"sentiment": "sentiment", "bow": "bow", "translate": "translate"}}
    if _speaks():  # a tiny recognizer and the fox sentence it never heard, as `experiment examples --quick` makes them
        corpus = quick_speech_corpus(examples, 8, 2, 2)
        assert main(["train", "speech-ctc", "--data", str(corpus), "--epochs", "1", "--hidden-size", "8", "--layers",
                     "1", "--batch-size", "8", "--no-progress", "--out", str(examples / "speech")]) == 0
        recorded["speech"] = {"wav": str(Path(speak_fox(examples / "speech", examples / "fox")["wav"]))}
        recorded["models"]["speech"] = "speech"
    (examples / "results.json").write_text(json.dumps(recorded), encoding="utf-8")  # as `experiment examples` does
    lm = examples.parent / "wiki-lm"
    assert main(["train", "lm", "--data", str(Path(__file__).parent / "fixtures" / "lm" / "wikitext-2"), "--embed-dim",
                 "8", "--hidden-size", "8", "--bptt", "8", "--batch-size", "4", "--epochs", "1", "--min-freq", "1",
                 "--no-progress", "--out", str(lm)]) == 0
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log_path = examples.parent / "server.log"  # a file, not a pipe: a full pipe would block the server
    log = open(log_path, "w")  # noqa: SIM115 - closed after the server stops
    process = subprocess.Popen([sys.executable, "-m", "rnnkit", "serve", str(lm), "--examples", str(examples),
                                "--port", str(port), "--threads", "1"], env=env, stdout=log, stderr=subprocess.STDOUT)
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
                 "--window-size=1280,800", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_window_size(1280, 800)  # a laptop screen: the gate view must fit it without inner scrolling
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
    # by default every column holds one cell per key unit (8 of 24) of each LSTM gate shown (f, i, o) and of h
    first = browser.find_elements(By.CSS_SELECTOR, "#gates-svg g.column")[0]
    assert len(first.find_elements(By.CSS_SELECTOR, "rect.cell")) == 4 * 8
    assert browser.find_element(By.ID, "legend-gates").is_displayed()
    points = browser.find_element(By.CSS_SELECTOR, "#norm-svg polyline").get_attribute("points").split()
    assert len(points) == len(tokens)  # the hidden-state trajectory: one point per token
    if os.environ.get("RNNKIT_SCREENSHOT"):
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",  # the whole page, not the window's part
                                {"width": 1280, "height": int(height), "deviceScaleFactor": 1, "mobile": False})
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOT))
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


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


# ------------------------------------------------------------------ the lecture view, compare, gates, LM panels

def _card(driver, card_id: str):
    return driver.find_element(By.ID, f"card-{card_id}")


def _labels_and_probs(box) -> tuple[str, dict[str, float]]:
    label = box.find_element(By.CLASS_NAME, "predicted-label").text
    bars = box.find_elements(By.CSS_SELECTOR, ".bar")
    probs = {}
    for b in bars:
        probs[b.find_element(By.CLASS_NAME, "bar-name").text] = float(b.find_element(By.CLASS_NAME, "bar-value").text)
    return label, probs


def test_the_landing_page_runs_the_lecture_examples_next_to_their_baselines(server, browser):
    url, name = server
    browser.get(url + "/")
    _wait_done(browser)
    cards = browser.find_elements(By.CLASS_NAME, "card")
    states = {c.get_attribute("id"): c.get_attribute("data-state") for c in cards}
    # served: the sentiment pair, a translator and a recognizer (--examples) and a language model
    fox = "done" if _speaks() else "missing"
    assert states == {"card-nothing": "done", "card-food": "done", "card-france": "done", "card-french": "done",
                      "card-fox": fox}
    if fox == "missing":
        assert "rnnkit experiment examples" in _card(browser, "fox").find_element(By.CLASS_NAME, "missing").text
    else:  # the spoken sentence, playable, and what the recognizer heard in it (the same as over the API)
        card = _card(browser, "fox")
        assert card.find_element(By.TAG_NAME, "audio").get_attribute("src").endswith("/api/lecture/audio/fox")
        wav = urllib.request.urlopen(url + "/api/lecture/audio/fox", timeout=10).read()
        assert wav[:4] == b"RIFF" and FOX in card.text
        heard = card.find_element(By.CLASS_NAME, "transcript").text
        assert heard == (_transcribe(url, "speech", wav) or "(nothing)")
    french = _card(browser, "french")
    result = _post(url + "/api/translate", {"model": "translate", "texts": [FRENCH], "beam": 5, "attention": True})
    result = result["results"][0]
    assert french.find_element(By.CLASS_NAME, "translated").text == result["translation"]
    cells = french.find_elements(By.CSS_SELECTOR, "svg.attention-svg rect.att")
    assert len(cells) == len(result["target_tokens"]) * len(result["source_tokens"])  # the attention matrix
    for card_id, texts in (("nothing", [NOTHING]), ("food", list(FOOD))):
        card = _card(browser, card_id)
        assert [e.text for e in card.find_elements(By.CLASS_NAME, "pair-input")] == texts
        assert len(card.find_elements(By.CSS_SELECTOR, ".look li")) >= 2  # what to look at
        boxes = card.find_elements(By.CLASS_NAME, "prediction")
        assert len(boxes) == 2 * len(texts)  # the model and its baseline for every input, in rows
        for model, column in (("sentiment", 0), ("bow", 1)):
            expected = _post(url + "/api/predict", {"model": model, "inputs": texts})["results"]
            for i, result in enumerate(expected):
                label, probs = _labels_and_probs(boxes[2 * i + column])
                assert label == result["label"]
                assert probs == {k: float(f"{v:.3g}") for k, v in result["probs"].items()}
    # the lecture's point, on the page: a bag of words gives the food pair the same probabilities
    food = _card(browser, "food").find_elements(By.CLASS_NAME, "prediction")
    assert _labels_and_probs(food[1]) == _labels_and_probs(food[3])


def test_the_france_card_ranks_next_words_against_the_previous_word_model(server, browser):
    url, _ = server
    browser.get(url + "/?page=lecture")
    _wait_done(browser)
    card = _card(browser, "france")
    columns = card.find_elements(By.CSS_SELECTOR, ".pair-2 .pair-cell")
    prompt = LECTURE["text"]
    lm = _post(url + "/api/next_tokens", {"model": "wiki-lm", "prompt": prompt, "k": 10})["tokens"]
    previous = _post(url + "/api/previous_word", {"model": "wiki-lm", "prompt": prompt, "k": 10})["tokens"]
    for column, tokens in zip(columns, (lm, previous), strict=True):
        rows = column.find_elements(By.CSS_SELECTOR, ".bar")
        assert [r.get_attribute("data-token") for r in rows] == [t["token"] for t in tokens]
        shown = [float(r.find_element(By.CLASS_NAME, "bar-value").text) for r in rows]
        assert shown == pytest.approx([t["prob"] for t in tokens], rel=5e-3)  # 3 significant digits
        widths = [r.find_element(By.CLASS_NAME, "bar-fill").size["width"] for r in rows]
        assert widths[0] > 100 and all(w >= 2 for w in widths)  # scaled to the most probable: every bar shows
    # the previous-word model sees one word: any text ending in "fluent" gets the same ranking
    other = _post(url + "/api/previous_word", {"model": "wiki-lm", "prompt": "the network is fluent", "k": 10})
    assert other["tokens"] == previous


def test_compare_shows_two_models_side_by_side_from_the_url(server, browser):
    url, name = server
    query = urllib.parse.urlencode({"page": "compare", "a": name, "b": "bow", "text": "\n".join(FOOD)})
    browser.get(f"{url}/?{query}")
    _wait_done(browser)
    left, right = (browser.find_element(By.ID, f"compare-col-{k}") for k in (0, 1))
    assert left.get_attribute("data-model") == name and right.get_attribute("data-model") == "bow"
    for column, model in ((left, name), (right, "bow")):
        expected = _post(url + "/api/predict", {"model": model, "inputs": list(FOOD)})["results"]
        labels = [e.text for e in column.find_elements(By.CLASS_NAME, "predicted-label")]
        assert labels == [r["label"] for r in expected]
    assert left.find_elements(By.CSS_SELECTOR, "svg.gates-svg g.column")  # the LSTM's gates on the first input
    assert "no gates" in right.text  # a bag of words has none
    assert _left_of(left, right)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(browser.current_url).query)
    assert query["a"] == [name] and query["b"] == ["bow"] and query["text"] == ["\n".join(FOOD)]


def _left_of(a, b) -> bool:
    return a.location["x"] + a.size["width"] <= b.location["x"] and abs(a.location["y"] - b.location["y"]) < 5


def test_gates_show_the_same_key_units_in_every_block_and_fit_a_laptop_screen(server, browser):
    url, name = server
    words = "the acting is great but the plot is dull and the ending drags on far too long for a story"
    assert len(words.split()) == 20
    expected = _post(url + "/api/trace", {"model": name, "text": words})
    key = expected["layers"][-1]["key_units"]
    assert len(key) == 8
    browser.get(f"{url}/?{urllib.parse.urlencode({'model': name, 'text': words})}")
    _wait_done(browser)
    first = browser.find_elements(By.CSS_SELECTOR, "#gates-svg g.column")[0]
    for gate in ("f", "i", "o", "h"):  # the same units, in rank order, in every block
        cells = first.find_elements(By.CSS_SELECTOR, f"rect.cell[data-gate='{gate}']")
        assert [int(c.get_attribute("data-unit")) for c in cells] == key
    tip = first.find_element(By.CSS_SELECTOR, "rect.cell title").get_attribute("textContent")
    assert "token “the”" in tip and f"unit {key[0]}" in tip and "=" in tip  # hover: token, unit, value
    why = browser.find_element(By.ID, "unit-why").text
    assert "ranked first" in why and "variance over the tokens" in why
    assert browser.find_element(By.ID, "unit-title").text.startswith(f"hidden state h, unit {key[0]}")
    for panel in ("gates", "norm"):  # no scrolling inside a panel at 1280 × 800 for 20 tokens
        sizes = browser.execute_script(
            "const e = document.getElementById(arguments[0]);"
            "return [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight];", panel)
        assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], (panel, sizes)
    headers = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#gates-svg text.token")]
    assert headers == words.split()  # whole words: no header is cut
    Select(browser.find_element(By.ID, "view")).select_by_value("all")
    first = browser.find_elements(By.CSS_SELECTOR, "#gates-svg g.column")[0]
    assert len(first.find_elements(By.CSS_SELECTOR, "rect.cell")) == 4 * 24  # "show all"
    assert "view=all" in browser.current_url


def test_language_model_panels_show_real_probabilities_and_visible_tokens(server, browser):
    url, _ = server
    prompt = "The network"
    browser.get(f"{url}/?{urllib.parse.urlencode({'model': 'wiki-lm', 'text': prompt})}")
    _wait_done(browser)
    expected = _post(url + "/api/next_tokens", {"model": "wiki-lm", "prompt": prompt, "k": 10})["tokens"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#next .bar")
    shown = [float(r.find_element(By.CLASS_NAME, "bar-value").text) for r in rows]
    for value, token in zip(shown, expected, strict=True):
        assert value == pytest.approx(token["prob"], rel=5e-3)  # 3 significant digits, never rounded to 0.001
    names = [r.find_element(By.CLASS_NAME, "bar-name").text for r in rows]
    assert all(n.strip() for n in names) and "<eos>" not in names  # a line break shows as ↵
    assert ("↵" in names) == any(t["token"] == "<eos>" for t in expected)
    chips = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#generated .gen-token")]
    assert chips and all(c.strip() for c in chips)  # no blank chip: line breaks ↵, spaces ·


@pytest.mark.parametrize("query", [{}, {"page": "explore", "model": "sentiment", "text": NOTHING},
                                   {"page": "explore", "model": "wiki-lm", "text": "The network"},
                                   {"page": "compare", "a": "sentiment", "b": "bow", "text": FOOD[0]}])
def test_axe_core_finds_no_serious_or_critical_accessibility_violation(server, browser, query):
    if not AXE.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core is not installed at {AXE}: .ci/run installs it with npm")
        pytest.skip("axe-core is not installed: npm install --prefix .cache/axe-core axe-core (as .ci/run does)")
    url, _ = server
    browser.get(f"{url}/?{urllib.parse.urlencode(query)}")
    _wait_done(browser)
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    result = browser.execute_async_script("const done = arguments[arguments.length - 1];"
                                          "axe.run(document).then((r) => done({violations: r.violations, "
                                          "passes: r.passes.map((p) => p.id)})).catch((e) => done(String(e)));")
    assert isinstance(result, dict), result
    assert {"color-contrast", "document-title", "html-has-lang"} <= set(result["passes"])  # the checks did run
    bad = [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, bad


def test_the_lecture_endpoints_refuse_bad_requests_in_one_line(server):
    url, name = server
    cases = [({"model": "nope", "prompt": "fluent"}, 404, "no model named"),
             ({"model": name, "prompt": "fluent"}, 400, "a sentiment model"),
             ({"model": "wiki-lm", "prompt": "  "}, 400, "at least one word"),
             ({"model": "wiki-lm", "prompt": "fluent", "k": 0}, 422, "field 'k'"),
             ({"model": "wiki-lm", "prompt": "fluent", "k": "5"}, 422, "")]
    for body, status, words in cases:
        with pytest.raises(urllib.error.HTTPError) as caught:
            _post(url + "/api/previous_word", body)
        error = json.loads(caught.value.read())["error"]
        assert caught.value.code == status and words in error and "\n" not in error, (body, error)
