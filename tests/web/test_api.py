"""The API end to end with a real worker process: upload, probe, preview, job, pause, cancel."""

from __future__ import annotations

import io
import json
import os
import signal
import time

import av
import pytest
from PIL import Image

from tests.clips import audio_packets, video_size
from tests.jobs.conftest import assert_same_frames
from tests.web.conftest import FAST, upload, wait_job, web_client
from vidsr.cli import main as cli_main


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """One server with one worker for the module (the worker starts once)."""
    with web_client(tmp_path_factory.mktemp("web"), workers=1) as c:
        yield c


@pytest.fixture(scope="module")
def cli_output(tmp_path_factory, web_clip):
    """What ``vidsr upscale`` makes of the clip with the test settings (a job of 0.4 s segments)."""
    out = tmp_path_factory.mktemp("cli") / "web_x2.mp4"
    code = cli_main([
        "upscale", str(web_clip), "-o", str(out), "--model", "bicubic", "--scale", "2",
        "--preset", "ultrafast", "--crf", "20", "--segment-seconds", "0.4", "-q",
    ])  # fmt: skip
    assert code == 0
    return out


def test_upload_probe_and_thumbnails(client, web_clip):
    r = upload(client, web_clip, "holiday clip.mp4")
    assert r.status_code == 201
    video = client.get(f"/api/videos/{r.json()['id']}").json()
    assert video["name"] == "holiday clip.mp4"
    v = video["probe"]["video"]
    assert (v["width"], v["height"], v["fps"], v["frames"], v["bit_depth"]) == (64, 48, 25, 40, 8)
    assert video["probe"]["streams"][0]["kind"] == "audio"
    assert video["probe"]["streams"][0]["action"] == "copy"
    assert video["thumbnails"] == 8
    thumb = client.get(f"/api/videos/{video['id']}/thumbs/3")
    assert thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (160, 120)
    assert client.get(f"/api/videos/{video['id']}/thumbs/8").status_code == 404


def test_preview_slider_pictures_and_eta(client, web_clip):
    video = upload(client, web_clip).json()
    r = client.post(
        "/api/previews",
        json={"video_id": video["id"], "start": 0.4, "duration": 0.6, "settings": FAST},
    )
    assert r.status_code == 201
    job = wait_job(client, r.json()["id"])
    assert job["state"] == "done", job["error"]
    assert job["report"]["frames"] == 15  # 0.6 s at 25 fps
    assert job["report"]["fps"] > 0
    assert job["report"]["full_video_eta_seconds"] == pytest.approx(
        40 / job["report"]["fps"], abs=0.1
    )
    pictures = {}
    for which in ("before", "after", "compare"):
        r = client.get(f"/api/jobs/{job['id']}/frame/{which}.png")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        pictures[which] = Image.open(io.BytesIO(r.content)).convert("RGB")
    assert pictures["before"].size == pictures["after"].size == (128, 96)
    assert pictures["compare"].size == (256, 96)
    assert "_before_after.png" in r.headers["content-disposition"]
    # "before" is the input frame at the same moment, scaled up without smoothing: 2x2 blocks
    before = pictures["before"].tobytes()
    assert (
        before
        == pictures["before"]
        .resize((64, 48), Image.NEAREST)
        .resize((128, 96), Image.NEAREST)
        .tobytes()
    )
    with av.open(client.app.state.store.job(job["id"]).output) as c:
        assert c.streams.video[0].frames == 15
    # the clips of the side-by-side playback: the input's window at its size, and the output
    for which, size in (("before", (64, 48)), ("after", (128, 96))):
        r = client.get(f"/api/jobs/{job['id']}/clip/{which}")
        assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
        with av.open(io.BytesIO(r.content)) as c:
            frames = list(c.decode(video=0))
        assert len(frames) == 15 and (frames[0].width, frames[0].height) == size


def test_bad_settings_are_one_line_422(client, web_clip):
    video = upload(client, web_clip).json()
    for settings, words in (
        ({"model": "/etc/passwd"}, "unknown model"),
        ({"model": "bicubic", "crf": 99}, "--crf"),
        ({"container": "exe"}, "container"),
    ):
        r = client.post("/api/jobs", json={"video_id": video["id"], "settings": settings})
        assert r.status_code == 422 and words in r.json()["detail"], r.text
    r = client.post("/api/previews", json={"video_id": video["id"], "start": 99})
    assert r.status_code == 422 and "past the end" in r.json()["detail"]


def test_job_output_equals_vidsr_upscale(client, web_clip, cli_output):
    video = upload(client, web_clip, "holiday.mp4").json()
    settings = {**FAST, "segment_seconds": 0.4}
    job = client.post("/api/jobs", json={"video_id": video["id"], "settings": settings}).json()
    events = []
    with client.stream("GET", f"/api/jobs/{job['id']}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    assert events[-1]["state"] == "done", events[-1]["error"]
    assert events[-1]["frames_done"] == events[-1]["frames_total"] == 40
    assert events[-1]["segments_done"] == events[-1]["segments_total"] == 4
    r = client.get(f"/api/jobs/{job['id']}/output")
    assert r.status_code == 200
    assert 'filename="holiday_x2.mp4"' in r.headers["content-disposition"]
    out = client.app.state.config.data_dir / "download.mp4"
    out.write_bytes(r.content)
    assert_same_frames(out, cli_output)
    assert audio_packets(out) == audio_packets(web_clip)
    assert video_size(out) == (128, 96)
    report = client.get(f"/api/jobs/{job['id']}/report").json()
    assert report["result"]["frames"] == 40 and report["settings"]["model"] == "bicubic"
    assert report["result"]["kept"] == ["audio #1 (aac): copy"]


def _job_folder(client, job_id):
    from vidsr.jobs import job_folder

    return job_folder(client.app.state.store.job(job_id).output)


def test_pause_keeps_segments_and_resume_finishes(client, long_clip, tmp_path):
    video = upload(client, long_clip).json()
    settings = {**FAST, "segment_seconds": 0.4}
    job = client.post("/api/jobs", json={"video_id": video["id"], "settings": settings}).json()
    wait_job(client, job["id"], until=lambda j: j["segments_done"] >= 2 or j["state"] == "done")
    assert client.post(f"/api/jobs/{job['id']}/pause").status_code == 200
    paused = wait_job(client, job["id"], ("paused", "done"))
    assert paused["state"] == "paused", "the job finished before it could be paused"
    kept = sorted(p.name for p in _job_folder(client, job["id"]).glob("seg-*.mp4"))
    assert len(kept) >= 2 and len(kept) < paused["segments_total"]
    time.sleep(1)
    assert client.get(f"/api/jobs/{job['id']}").json()["state"] == "paused"  # it stays paused
    assert client.post(f"/api/jobs/{job['id']}/resume").status_code == 200
    done = wait_job(client, job["id"])
    assert done["state"] == "done", done["error"]
    assert done["report"]["segments_reused"] == len(kept)
    assert done["frames_done"] == 100
    whole = tmp_path / "whole.mp4"
    assert cli_main([
        "upscale", str(long_clip), "-o", str(whole), "--model", "bicubic", "--scale", "2",
        "--preset", "ultrafast", "--crf", "20", "--segment-seconds", "0.4", "-q",
    ]) == 0  # fmt: skip
    assert_same_frames(done_output(client, done["id"]), whole)


def done_output(client, job_id):
    from pathlib import Path

    return Path(client.app.state.store.job(job_id).output)


def test_cancel_and_delete(client, long_clip):
    video = upload(client, long_clip).json()
    settings = {**FAST, "segment_seconds": 0.4}
    job = client.post("/api/jobs", json={"video_id": video["id"], "settings": settings}).json()
    wait_job(client, job["id"], until=lambda j: j["segments_done"] >= 1 or j["state"] == "done")
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
    cancelled = wait_job(client, job["id"])
    assert cancelled["state"] == "cancelled"
    assert not done_output(client, job["id"]).exists()
    assert not _job_folder(client, job["id"]).exists()
    assert client.post(f"/api/jobs/{job['id']}/resume").status_code == 409
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 200
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404


def test_a_worker_crash_fails_its_job_and_the_server_goes_on(client, long_clip, web_clip):
    video = upload(client, long_clip).json()
    settings = {**FAST, "segment_seconds": 0.4}
    job = client.post("/api/jobs", json={"video_id": video["id"], "settings": settings}).json()
    wait_job(client, job["id"], until=lambda j: j["frames_done"] > 0 or j["state"] == "done")
    os.kill(client.app.state.supervisor.procs[0].pid, signal.SIGKILL)
    failed = wait_job(client, job["id"])
    assert failed["state"] == "failed"
    assert failed["error"] == "the worker process died (killed by SIGKILL)"
    small = upload(client, web_clip).json()
    preview = client.post(
        "/api/previews", json={"video_id": small["id"], "duration": 0.2, "settings": FAST}
    ).json()
    assert wait_job(client, preview["id"])["state"] == "done"  # a new worker took over
    client.post(f"/api/jobs/{job['id']}/resume")
    assert wait_job(client, job["id"])["state"] == "done"


def test_two_workers_run_two_jobs_at_once(tmp_path, web_clip):
    with web_client(tmp_path / "d", workers=2) as c:
        video = upload(c, web_clip).json()
        body = {"video_id": video["id"], "duration": 1.0, "settings": FAST}
        ids = [c.post("/api/previews", json=body).json()["id"] for _ in range(2)]
        jobs = [wait_job(c, i) for i in ids]
        assert [j["state"] for j in jobs] == ["done", "done"]
        records = [c.app.state.store.job(i) for i in ids]
        assert {r.worker for r in records} == {0, 1}
        assert records[1].started < records[0].finished  # they overlapped
