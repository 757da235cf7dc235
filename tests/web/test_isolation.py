"""A hostile upload that crashes or hangs FFmpeg fails that file only (issue 16): the probe and
thumbnails run in a child process with a timeout, never in the server's thread pool."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.web.conftest import upload, web_client
from vidsr.web.isolated import inspect_video

CRASH, HANG = b"CRASH", b"HANG"


def hostile_inspector(path: str, pictures: Path) -> dict:
    """Stands for FFmpeg on a hostile file: a file starting with CRASH aborts the process (as a
    segfault would), one starting with HANG never returns; any other file is read as usual."""
    head = Path(path).read_bytes()[:5]
    if head.startswith(CRASH):
        os.abort()
    if head.startswith(HANG):
        time.sleep(3600)
    return inspect_video(path, pictures)


def test_a_crashing_or_hanging_probe_fails_that_file_and_the_server_goes_on(tmp_path, web_clip):
    data = tmp_path / "d"
    with web_client(data, {"inspector": hostile_inspector, "inspect_timeout": 3.0}) as client:
        started = time.monotonic()
        r = client.post("/api/uploads?name=evil.mp4", content=CRASH + bytes(1000))
        assert r.status_code == 422
        message = r.json()["detail"]
        assert message == (
            "reading evil.mp4 crashed FFmpeg (killed by SIGABRT): not a video vidsr can read safely"
        )
        r = client.post("/api/uploads?name=slow.mkv", content=HANG + bytes(1000))
        assert r.status_code == 422
        assert r.json()["detail"] == (
            "reading slow.mkv took longer than 3 s: stopped (not a video vidsr can read)"
        )
        assert time.monotonic() - started < 30
        assert client.get("/api/info").status_code == 200
        good = upload(client, web_clip)
        assert good.status_code == 201 and good.json()["probe"]["video"]["frames"] == 40
        assert client.get(f"/api/videos/{good.json()['id']}").json()["thumbnails"] == 8
        assert [v["name"] for v in client.get("/api/videos").json()] == [web_clip.name]
        assert len(list((data / "uploads").iterdir())) == 1  # the refused files are gone
        assert len(list((data / "pictures").iterdir())) == 1
