"""The web page in a real browser: Debian's headless Chromium driven by Selenium.

The page is used as a person would: files chosen in its file inputs, a click on the start
button, the result played in the page and downloaded through its link. The downloaded file
is then checked like any output of the CLI.

``ANIMATE_SCREENSHOTS=docs`` saves the README's screenshots there while the tests run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from animatecli.media import probe_streams, probe_video

from .serve_testutil import EXAMPLES, ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
JOB_SECONDS = 180  # the bundled model on 125 frames, on a busy 2-core machine
SCREENSHOTS = os.environ.get("ANIMATE_SCREENSHOTS")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="the browser test needs Debian's chromium and chromium-driver "
    "(apt-get install chromium chromium-driver; .ci/run installs them)",
)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(
    tmp_path_factory: pytest.TempPathFactory, downloads: Path
) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # No name resolves but the server's address: the page must work with no network.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--window-size=1100,1400",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    # The system driver, named explicitly: Selenium Manager (which downloads drivers) is
    # never consulted.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def open_page(browser: webdriver.Chrome, server: ServerProcess) -> float:
    """Load the page until its forms are filled; the navigation's load time, seconds."""
    browser.get(server.url + "/")
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return document.body.dataset.ready") == "true"
    )
    timing = browser.execute_script(
        "const [n] = performance.getEntriesByType('navigation'); return n.loadEventEnd;"
    )
    return float(timing) / 1000


def wait_for(
    browser: webdriver.Chrome, find: Callable[[], Any], seconds: float = JOB_SECONDS
) -> Any:
    return WebDriverWait(browser, seconds, poll_frequency=0.2).until(lambda _: find())


def visible_error(browser: webdriver.Chrome, panel: str) -> str | None:
    error = browser.find_element(By.CSS_SELECTOR, f"#{panel}-job .error")
    return error.text if error.is_displayed() and error.text else None


def playable_videos(browser: webdriver.Chrome, panel: str) -> list[WebElement]:
    """The panel's result videos, once the browser has decoded their first frame; fails
    the test as soon as the page shows an error instead."""

    def ready() -> list[WebElement]:
        error = visible_error(browser, panel)
        if error:
            pytest.fail(f"the page shows {error!r}")
        videos = browser.find_elements(By.CSS_SELECTOR, f"#{panel}-job .output video")
        decoded = browser.execute_script(
            "return arguments[0].every(v => v.readyState >= 2 && v.duration > 0)", videos
        )
        return videos if videos and decoded else []

    return wait_for(browser, ready)


def download(browser: webdriver.Chrome, link: WebElement, folder: Path) -> Path:
    """Click a download link; the file once Chromium has finished writing it."""
    target = folder / link.get_attribute("download")
    link.click()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if target.exists() and not list(folder.glob("*.crdownload")):
            return target
        time.sleep(0.2)
    raise AssertionError(f"{target.name} was not downloaded")


def requested_urls(browser: webdriver.Chrome) -> list[str]:
    """Every URL the page asked for since the last call (Chrome's performance log)."""
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def screenshot(browser: webdriver.Chrome, name: str) -> None:
    if SCREENSHOTS:
        browser.save_screenshot(str(Path(SCREENSHOTS) / name))


def test_page_animates_the_examples_and_the_download_matches_the_cli(
    browser: webdriver.Chrome, server: ServerProcess, downloads: Path
) -> None:
    load_seconds = open_page(browser, server)
    print(f"page load: {load_seconds * 1000:.0f} ms")
    browser.find_element(By.ID, "source").send_keys(str(EXAMPLES / "source.png"))
    browser.find_element(By.ID, "driving").send_keys(str(EXAMPLES / "driving.mp4"))
    browser.find_element(By.ID, "animate-start").click()

    # Live progress: frames out of the driving video's 125, with a rate and time left.
    status = browser.find_element(By.CSS_SELECTOR, "#animate-job .status")
    progress = wait_for(browser, lambda: " / 125 frames" in status.text and status.text, 120)
    assert progress.split(":")[0] in ("finding the best frame", "animating"), progress
    screenshot(browser, "serve-progress.png")
    videos = playable_videos(browser, "animate")
    assert len(videos) == 1
    # The result plays in the page, with a sound track the browser decoded.
    played = browser.execute_async_script(
        """const [video, done] = arguments;
        video.muted = true;
        video.play().then(() => setTimeout(() => done({
            time: video.currentTime,
            audio: video.webkitAudioDecodedByteCount,
        }), 1500), (e) => done({error: String(e)}));""",
        videos[0],
    )
    assert played.get("time", 0) > 0.3, played
    assert played["audio"] > 0, played
    screenshot(browser, "serve-result.png")

    link = browser.find_element(By.CSS_SELECTOR, "#animate-job .output a")
    assert link.get_attribute("download") == "source__driving.mp4"
    saved = download(browser, link, downloads)
    driving, result = probe_video(EXAMPLES / "driving.mp4"), probe_video(saved)
    streams = {s.kind: s for s in probe_streams(saved)}
    driving_streams = {s.kind: s for s in probe_streams(EXAMPLES / "driving.mp4")}
    assert streams["video"].frames == driving_streams["video"].frames == 125
    assert result.fps == driving.fps == 25
    assert (result.width, result.height) == (128, 128)
    assert result.has_audio and driving.has_audio
    assert abs(streams["audio"].duration - 125 / 25) < 0.05

    # Offline: everything the page asked for came from this server.
    origin = urlparse(server.url).netloc
    urls = requested_urls(browser)
    assert urls, "the performance log recorded no request"
    foreign = [
        u
        for u in urls
        if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).netloc != origin
    ]
    assert not foreign, foreign


def cli_error_line(tmp_path: Path, *args: str) -> str:
    """The one-line error the CLI prints for ``animate ARGS`` run in ``tmp_path``."""
    proc = subprocess.run(
        [sys.executable, "-m", "animatecli", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_a_text_file_as_the_photo_shows_the_clis_one_line_error(
    browser: webdriver.Chrome, server: ServerProcess, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture\n")
    shutil.copy(EXAMPLES / "driving.mp4", tmp_path / "driving.mp4")
    expected = cli_error_line(tmp_path, "notes.txt", "driving.mp4", "-o", "out.mp4")
    assert expected == "error: notes.txt is not a readable image file"

    open_page(browser, server)
    browser.find_element(By.ID, "source").send_keys(str(notes))
    browser.find_element(By.ID, "driving").send_keys(str(tmp_path / "driving.mp4"))
    browser.find_element(By.ID, "animate-start").click()
    shown = wait_for(browser, lambda: visible_error(browser, "animate"), 120)
    assert shown == expected
    screenshot(browser, "serve-error.png")
    assert browser.find_element(By.ID, "animate-start").is_enabled()


def test_face_clips_are_listed_playable_and_downloadable(
    browser: webdriver.Chrome, server: ServerProcess, downloads: Path
) -> None:
    open_page(browser, server)
    browser.find_element(By.CSS_SELECTOR, ".tab[data-tab=crop]").click()
    # The bundled example, picked from the page's list instead of uploaded.
    browser.find_element(By.CSS_SELECTOR, "#crop-form select.examples").send_keys("driving.mp4")
    browser.find_element(By.ID, "crop-start").click()
    videos = playable_videos(browser, "crop")
    assert len(videos) == 1
    browser.execute_script("arguments[0].currentTime = 2", videos[0])  # a frame to show
    label = browser.find_element(By.CSS_SELECTOR, "#crop-job .output p").text
    assert label.startswith("face 1: frames 0–124")
    screenshot(browser, "serve-crop.png")
    link = browser.find_element(By.CSS_SELECTOR, "#crop-job .output a")
    assert link.get_attribute("download") == "driving_face1_000000-000124.mp4"
    saved = download(browser, link, downloads)
    clip = probe_video(saved)
    assert (clip.width, clip.height) == (256, 256)
    assert clip.fps == 25 and clip.has_audio
    assert {s.kind: s for s in probe_streams(saved)}["video"].frames == 125
