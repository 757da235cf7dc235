"""Previews do not pile up in the data dir (issue 16): a new preview removes the ones it
replaces, a deleted job takes its files along, and at start old previews and files no record
names (a server killed mid-way) are removed."""

from __future__ import annotations

from pathlib import Path

from tests.web.conftest import FAST, upload, wait_job, web_client


def _files_of(data: Path, job_id: str) -> list[str]:
    return sorted(
        str(p.relative_to(data))
        for folder in ("outputs", "pictures")
        for p in (data / folder).iterdir()
        if job_id in p.name
    )


def _preview(client, video_id: str, replaces: list[str] | None = None) -> dict:
    body = {"video_id": video_id, "duration": 0.2, "settings": FAST, "replaces": replaces or []}
    job = wait_job(client, client.post("/api/previews", json=body).json()["id"])
    assert job["state"] == "done", job["error"]
    assert client.get(f"/api/jobs/{job['id']}/frame/compare.png").status_code == 200
    return job


def test_previews_are_replaced_deleted_and_cleaned_at_start(tmp_path, web_clip):
    data = tmp_path / "d"
    with web_client(data, workers=1) as client:
        video = upload(client, web_clip).json()["id"]
        a = _preview(client, video)
        assert _files_of(data, a["id"]) == [
            f"outputs/{a['id']}-before.mp4", f"outputs/{a['id']}.mp4",
            f"pictures/{a['id']}-compare-0.100.png",
        ]  # fmt: skip
        full = client.post("/api/jobs", json={"video_id": video, "settings": FAST}).json()
        b = _preview(client, video, replaces=[a["id"], full["id"]])
        assert client.get(f"/api/jobs/{a['id']}").status_code == 404
        assert _files_of(data, a["id"]) == []
        assert wait_job(client, full["id"])["state"] == "done"  # a full job is never replaced
        assert client.delete(f"/api/jobs/{b['id']}").status_code == 200
        assert _files_of(data, b["id"]) == []
        kept = _preview(client, video)
    stray = [
        "outputs/0123456789abcdef.mp4",
        "pictures/fedcba9876543210-after-0.000.png",
        "uploads/.aaaaaaaaaaaaaaaa.part",
        "outputs/.0123456789abcdef-before.mp4.part",
    ]
    for name in stray:
        (data / name).write_bytes(b"left by a killed server")
    (data / "outputs" / ".0123456789abcdef.mp4.vidsr-job").mkdir()
    (data / "outputs" / "notes.txt").write_text("not the server's")

    with web_client(data) as client:  # a recent preview stays; stray files go
        assert client.get(f"/api/jobs/{kept['id']}").json()["state"] == "done"
        assert not any((data / name).exists() for name in stray)
        assert not (data / "outputs" / ".0123456789abcdef.mp4.vidsr-job").exists()
        assert (data / "outputs" / "notes.txt").exists()
        assert len(_files_of(data, kept["id"])) == 3

    with web_client(data, {"preview_keep_seconds": 0}) as client:  # old previews go
        assert client.get(f"/api/jobs/{kept['id']}").status_code == 404
        assert _files_of(data, kept["id"]) == []
        assert [j["id"] for j in client.get("/api/jobs").json()] == [full["id"]]
        assert client.get(f"/api/jobs/{full['id']}/output").status_code == 200
        assert len(list((data / "uploads").iterdir())) == 1
