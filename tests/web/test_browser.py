"""A real browser (Debian's Chromium, driven by Playwright) on a real server subprocess:
drop a file, wait for the probe, render a preview, drag the slider, run a job to 100%,
download the result and check its frames, timestamps and audio."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.clips import audio_packets, video_times

CHROMIUM = Path("/usr/bin/chromium")
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "demo_320x180.mp4"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update"]  # fmt: skip

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)"
)

DROP = """([b64, name]) => {
  const bin = atob(b64), bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, {type: "video/mp4"}));
  return dt;
}"""


def _drop(page, data: bytes, name: str) -> None:
    """Drop a file onto the drop zone as a user's drag and drop does (a DataTransfer)."""
    transfer = page.evaluate_handle(DROP, [base64.b64encode(data).decode(), name])
    page.dispatch_event("#drop", "dragover", {"dataTransfer": transfer})
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


def test_drop_preview_slide_queue_download(browser, server_factory, tmp_path):
    server = server_factory()
    shots = Path(os.environ.get("VIDSR_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)

    # a file that is not a video: the CLI's one-line message beside it
    _drop(page, b"not a video at all" * 20, "notes.mp4")
    error = page.wait_for_selector("#files li.upload .status.error", timeout=30_000)
    assert "notes.mp4" in error.inner_text() and "not a media file" in error.inner_text()
    # its bar says so too: not the green of a finished upload beside the red message
    bar = page.eval_on_selector(
        "#files li.upload .bar > span", "e => getComputedStyle(e).backgroundColor"
    )
    assert bar == "rgb(176, 0, 32)", bar

    # the sample clip, dropped: probe panel and thumbnails
    _drop(page, SAMPLE.read_bytes(), SAMPLE.name)
    page.wait_for_selector("#video-panel:not([hidden])", timeout=60_000)
    probe = page.inner_text("#probe")
    assert "320×180" in probe and "25.000 fps" in probe
    assert "audio #1: aac" in page.inner_text("#streams")
    page.wait_for_function("document.querySelectorAll('#thumbs img').length === 8")
    page.wait_for_function("[...document.querySelectorAll('#thumbs img')].every(i => i.complete)")
    page.screenshot(path=str(shots / "probe.png"))

    # preview with the default network (the page's default model): 0.4 s from 1.125 s
    page.click("#thumbs img[data-index='3']")
    assert page.input_value("#moment") == "1.125"
    page.fill("#preview-seconds", os.environ.get("VIDSR_PREVIEW_SECONDS", "0.4"))
    page.click("#preview-btn")
    page.wait_for_selector("#compare:not([hidden])", timeout=180_000)
    page.wait_for_function(
        "['#after', '#before'].every(s => document.querySelector(s).naturalWidth === 1280)",
        timeout=60_000,
    )
    first_preview_ms = page.evaluate("window.vidsrFirstPreview")
    assert "fps" in page.inner_text("#preview-status")
    assert "will take about" in page.inner_text("#eta")

    # drag the slider: the revealed part of "before" follows the mouse
    compare = page.query_selector("#compare")
    compare.scroll_into_view_if_needed()
    box = compare.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    clip_half = page.eval_on_selector("#before-wrap", "e => e.style.clipPath")
    image_half = compare.screenshot()
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.15, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    clip_left = page.eval_on_selector("#before-wrap", "e => e.style.clipPath")
    assert clip_half == "inset(0px 50% 0px 0px)"
    assert clip_left.startswith("inset(0px 8") or clip_left.startswith("inset(0px 85")
    assert compare.screenshot() != image_half
    page.screenshot(path=str(shots / "preview.png"), full_page=True)

    # side-by-side playback: both clips play, in step
    page.wait_for_function(
        "['#clip-before', '#clip-after'].every(s => document.querySelector(s).readyState >= 2)",
        timeout=30_000,
    )
    page.click("#play-both")
    page.wait_for_function("document.querySelector('#clip-after').currentTime > 0.3")
    gap = page.evaluate(
        "Math.abs(document.querySelector('#clip-before').currentTime -"
        " document.querySelector('#clip-after').currentTime)"
    )
    assert gap < 0.25
    page.click("#play-both")

    # A/B: the same window with bicubic (A) and lanczos (B), slid against each other
    page.select_option("#model", "bicubic")
    page.select_option("#scale", "2")
    page.check("#ab")
    page.select_option("#ab-model", "lanczos")
    first_after = page.get_attribute("#after", "src")
    page.click("#preview-btn")
    page.wait_for_function(
        "document.querySelector('#label-left').textContent === 'B: lanczos'", timeout=120_000
    )
    assert page.inner_text("#label-right") == "A: bicubic"
    assert page.get_attribute("#after", "src") != first_after
    before_src = page.get_attribute("#before", "src")
    assert before_src.endswith("/frame/after.png") and before_src != page.get_attribute(
        "#after", "src"
    )
    page.wait_for_function("document.querySelector('#before').naturalWidth === 640")
    page.screenshot(path=str(shots / "ab.png"), full_page=True)

    # the whole video as a job (bicubic x2: the network was shown by the preview)
    page.click("#start-job")
    page.wait_for_selector("#queue li[data-state='done']", timeout=180_000)
    assert page.inner_text("#queue li .pct").strip() == "100%"
    page.screenshot(path=str(shots / "queue.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#queue a.download")
    download = info.value
    assert download.suggested_filename == "demo_320x180_x2.mp4"
    out = tmp_path / download.suggested_filename
    download.save_as(out)
    assert video_times(out) == video_times(SAMPLE)  # every frame, every pts
    assert audio_packets(out) == audio_packets(SAMPLE)  # the audio bytes, kept
    import av

    with av.open(str(out)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (640, 360)
    (shots / "timing.json").write_text(json.dumps({"drop_to_first_preview_ms": first_preview_ms}))
    if os.environ.get("VIDSR_SCREENSHOTS"):
        shutil.copy(out, shots / out.name)
