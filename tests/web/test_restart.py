"""kill -9 of the server mid-job: restarted on the same data dir, the job continues and its
output equals an uninterrupted run frame for frame, with the audio bytes kept."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.clips import audio_packets
from tests.jobs.conftest import assert_same_frames
from tests.web.conftest import FAST
from vidsr.cli import main as cli_main


def _workers_of(data: Path) -> list[int]:
    """Pids of live worker processes serving ``data``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
            status = (entry / "status").read_text()
        except OSError:
            continue
        zombie = "State:\tZ" in status
        if b"vidsr.web.worker" in cmd and str(data).encode() in cmd and not zombie:
            pids.append(int(entry.name))
    return pids


def _wait(url: str, job_id: str, until, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/api/jobs/{job_id}", timeout=5).json()
        if until(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never got there: {job}")


def test_kill_9_and_restart_continue_the_job(server_factory, long_clip, tmp_path):
    data = tmp_path / "data"
    server = server_factory(data)
    with open(long_clip, "rb") as body:
        video = httpx.post(f"{server.url}/api/uploads?name=long.mp4", content=body.read()).json()
    settings = {**FAST, "segment_seconds": 0.4}
    job = httpx.post(
        f"{server.url}/api/jobs", json={"video_id": video["id"], "settings": settings}
    ).json()
    seen = _wait(server.url, job["id"], lambda j: j["segments_done"] >= 2 or j["state"] == "done")
    server.kill9()
    assert seen["state"] == "running", "the job ended before the kill"
    deadline = time.monotonic() + 10
    while _workers_of(data) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _workers_of(data), "the worker outlived the server"
    restarted = server_factory(data)
    queue = httpx.get(f"{restarted.url}/api/jobs").json()
    assert [j["id"] for j in queue] == [job["id"]]  # the same queue
    done = _wait(restarted.url, job["id"], lambda j: j["state"] in ("done", "failed"))
    assert done["state"] == "done", done["error"]
    assert done["report"]["segments_reused"] >= 2  # it continued, not started over
    out = tmp_path / "served.mp4"
    out.write_bytes(httpx.get(f"{restarted.url}/api/jobs/{job['id']}/output", timeout=30).content)
    whole = tmp_path / "whole.mp4"
    assert cli_main([
        "upscale", str(long_clip), "-o", str(whole), "--model", "bicubic", "--scale", "2",
        "--preset", "ultrafast", "--crf", "20", "--segment-seconds", "0.4", "-q",
    ]) == 0  # fmt: skip
    assert_same_frames(out, whole)
    assert audio_packets(out) == audio_packets(Path(long_clip))


def test_a_cancelled_upload_leaves_nothing(server_factory, tmp_path):
    """The client goes away mid-body (the page's cancel button aborts the request)."""
    import socket

    data = tmp_path / "data"
    server = server_factory(data)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /api/uploads?name=big.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 50000000\r\n\r\n" + b"\0" * 2_000_000
        )
        deadline = time.monotonic() + 10
        while not list((data / "uploads").glob(".*.part")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list((data / "uploads").glob(".*.part")), "the upload never started streaming"
    deadline = time.monotonic() + 10
    while list((data / "uploads").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list((data / "uploads").iterdir()) == []
    assert httpx.get(f"{server.url}/api/videos").json() == []
