"""Take the page's screenshots in docs/img/ (docs/page.md shows them): the lecture view, the compare view and
the gate view, at 1280 × 800 in headless Chromium, from a real `rnnkit serve` on the models you give.

    rnnkit experiment examples --quick --out runs/examples
    rnnkit experiment cloze --quick --out runs/cloze
    rnnkit train sentiment --out runs/sentiment-lstm
    python docs/page_screenshots.py --examples runs/examples runs/cloze --gates-model runs/sentiment-lstm

``--gates-model``: a sentiment model directory for the gate view (served under its folder name); the lecture
and compare views run on the --examples folders.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

IMG = Path(__file__).parent / "img"
GATES_TEXT = "A joyous, moving film, though the ending is a little dull."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server stopped: see its output above")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if json.loads(response.read())["status"] == "ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server did not start within 120 s")


def browser() -> webdriver.Chrome:
    options = Options()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,800", "--force-device-scale-factor=1", "--hide-scrollbars"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    return driver


def shoot(driver: webdriver.Chrome, url: str, name: str, scroll_to: str | None = None, whole: bool = False) -> Path:
    """Open ``url``, wait until the page has run, save the 1280 × 800 window (``whole``: the whole page)."""
    driver.get(url)
    WebDriverWait(driver, 120).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
                                     in ("done", "error", "idle"))
    if scroll_to:
        driver.execute_script("document.querySelector(arguments[0]).scrollIntoView()", scroll_to)
    height = driver.execute_script("return document.documentElement.scrollHeight") if whole else 800
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": int(height), "deviceScaleFactor": 1, "mobile": False})
    path = IMG / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    picture = Image.open(path).convert("RGB")
    if whole:  # a long page: 256 colours keep it under 200 KB
        picture = picture.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    picture.save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=Path, nargs="+", required=True, help="folders of `rnnkit experiment "
                        "examples` / `cloze` (as `rnnkit serve --examples`)")
    parser.add_argument("--gates-model", type=Path, required=True, help="a sentiment model for the gate view")
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "rnnkit", "serve", str(args.gates_model), "--examples",
                                *map(str, args.examples), "--port", str(port), "--threads", "1"])
    try:
        wait_for(url, process)
        lecture = json.loads(urllib.request.urlopen(url + "/api/lecture", timeout=30).read())["cards"]
        food = next(c for c in lecture if c["id"] == "food")
        driver = browser()
        try:
            shoot(driver, url + "/", "page-lecture")
            shoot(driver, url + "/", "page-lecture-all", whole=True)
            compare = {"page": "compare", "a": food["model"], "b": food["baseline"], "text": "\n".join(food["inputs"])}
            shoot(driver, f"{url}/?{urllib.parse.urlencode(compare)}", "page-compare")
            gates = {"page": "explore", "model": args.gates_model.resolve().name, "text": GATES_TEXT}
            shoot(driver, f"{url}/?{urllib.parse.urlencode(gates)}", "page-gates", scroll_to="#gates-panel")
        finally:
            driver.quit()
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
