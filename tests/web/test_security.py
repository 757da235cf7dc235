"""The security rules of ``vidsr serve``: Host/Origin, token, names, paths, limits, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.web.conftest import upload, web_client
from vidsr.errors import VidsrError
from vidsr.media.probe import probe


def test_foreign_host_is_refused(tmp_path):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example."""
    with web_client(tmp_path / "d") as client:
        assert client.get("/api/info").status_code == 200
        r = client.get("/api/info", headers={"host": "evil.example:8765"})
        assert r.status_code == 403
        assert "Host" in r.json()["detail"]
        assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200


def test_foreign_origin_is_refused(tmp_path, web_clip):
    with web_client(tmp_path / "d") as client:
        evil = {"origin": "http://evil.example"}
        assert client.get("/api/jobs", headers=evil).status_code == 403
        r = client.post("/api/uploads?name=a.mp4", content=web_clip.read_bytes(), headers=evil)
        assert r.status_code == 403
        assert not any((tmp_path / "d" / "uploads").iterdir())
        cross = {"sec-fetch-site": "cross-site"}
        assert client.post("/api/jobs", json={"video_id": "x"}, headers=cross).status_code == 403
        same = {"origin": "http://127.0.0.1:8765", "sec-fetch-site": "same-origin"}
        assert client.post("/api/jobs", json={"video_id": "x"}, headers=same).status_code == 404


def test_other_hosts_need_the_token(tmp_path):
    """Bound to 0.0.0.0: every call needs the token (header, bearer, or the page's cookie)."""
    with web_client(tmp_path / "d", host="0.0.0.0", token="s3cret-token") as client:
        assert client.get("/api/info").status_code == 401
        assert client.get("/").status_code == 401
        assert client.get("/api/info", headers={"x-vidsr-token": "wrong"}).status_code == 401
        assert client.get("/api/info", headers={"x-vidsr-token": "s3cret-token"}).status_code == 200
        bearer = {"authorization": "Bearer s3cret-token"}
        assert client.get("/api/info", headers=bearer).status_code == 200
        r = client.get("/?token=s3cret-token", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert client.get("/api/info").status_code == 200  # the cookie now travels
        client.cookies.clear()
        assert client.get("/?token=nope", follow_redirects=False).status_code == 401
        assert client.get("/api/info", headers={"host": "evil.example"}).status_code == 403


def test_state_changes_are_never_gets(tmp_path):
    with web_client(tmp_path / "d") as client:
        for action in ("pause", "resume", "cancel"):
            assert client.get(f"/api/jobs/abc/{action}").status_code == 405
        assert client.get("/api/uploads").status_code == 405
        schema = client.get("/openapi.json").json()
        for path, methods in schema["paths"].items():
            if "get" in methods:
                assert not path.endswith(("/pause", "/resume", "/cancel")), path


def test_upload_name_is_never_a_path(tmp_path, web_clip):
    with web_client(tmp_path / "d") as client:
        r = upload(client, web_clip, name='../../../escape%0a".mp4')
        assert r.status_code == 201, r.text
        video = r.json()
        assert "/" not in video["name"] and "\n" not in video["name"]
        assert not (tmp_path / "escape.mp4").exists()
        files = [p.name for p in (tmp_path / "d" / "uploads").iterdir()]
        assert files == [f"{video['id']}.mp4"]


def test_download_name_is_sanitized():
    from vidsr.web.security import content_disposition

    header = content_disposition('we"ird\r\nname/../été.mp4')
    assert "\r" not in header and "\n" not in header
    assert header.startswith('attachment; filename="')
    assert header.count('"') == 2
    assert "filename*=UTF-8''" in header and "%C3%A9t%C3%A9.mp4" in header


def test_oversize_upload_is_refused_before_writing(tmp_path, web_clip):
    with web_client(tmp_path / "d", max_upload=1000) as client:
        r = upload(client, web_clip)
        assert r.status_code == 413 and "--max-upload" in r.json()["detail"]

        def chunks():  # no Content-Length: counted as it streams
            for _ in range(10):
                yield b"x" * 500

        r = client.post("/api/uploads?name=a.mp4", content=chunks())
        assert r.status_code == 413
        assert list((tmp_path / "d" / "uploads").iterdir()) == []


def test_upload_without_room_is_507(tmp_path, web_clip):
    with web_client(tmp_path / "d", disk_reserve=2**62) as client:
        r = upload(client, web_clip)
        assert r.status_code == 507 and "free disk" in r.json()["detail"]
        assert list((tmp_path / "d" / "uploads").iterdir()) == []


def test_allow_dir_refuses_escapes(tmp_path, web_clip):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    inside = allowed / "clip.mp4"
    inside.write_bytes(web_clip.read_bytes())
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(web_clip.read_bytes())
    os.symlink(secret, allowed / "link.mp4")
    with web_client(tmp_path / "d", allow_dirs=(allowed,)) as client:
        listed = [f["name"] for f in client.get("/api/local").json()]
        assert listed == ["clip.mp4"]
        for path in (str(allowed / ".." / "secret.mp4"), str(allowed / "link.mp4"), "/etc/passwd",
                     str(secret)):  # fmt: skip
            r = client.post("/api/local", json={"path": path})
            assert r.status_code == 403, path
        r = client.post("/api/local", json={"path": str(inside)})
        assert r.status_code == 201 and r.json()["name"] == "clip.mp4"
        assert inside.exists()  # read in place, not moved
    with web_client(tmp_path / "d2") as client:
        assert client.post("/api/local", json={"path": str(inside)}).status_code == 403


def _audio_only(path: Path) -> Path:
    """A real M4A file with one AAC stream and no video."""
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=48000)
        stream.layout = "stereo"
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((2, 1024), np.float32), format="fltp", layout="stereo"
            )
            frame.sample_rate, frame.pts = 48000, i * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _cli_message(path: Path) -> str:
    with pytest.raises(VidsrError) as err:
        probe(str(path))
    return str(err.value).replace(str(path), path.name)


def test_not_a_video_gets_the_cli_message(tmp_path, web_clip, clip_factory):
    junk = tmp_path / "notes.mp4"
    junk.write_bytes(b"this is not a video\n" * 50)
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(web_clip.read_bytes()[:3000])
    audio_only = _audio_only(tmp_path / "song.m4a")
    with web_client(tmp_path / "d") as client:
        for path in (junk, truncated, audio_only):
            r = upload(client, path)
            assert r.status_code == 422, path
            message = r.json()["detail"]
            assert "\n" not in message and path.name in message
            assert message == _cli_message(path)
            assert str(tmp_path) not in message
        assert list((tmp_path / "d" / "uploads").iterdir()) == []
        assert client.get("/api/videos").json() == []


def test_a_flood_of_tiny_uploads(tmp_path, web_clip):
    with web_client(tmp_path / "d") as client:
        codes = [
            client.post(f"/api/uploads?name=f{i}.mp4", content=b"%d" % i).status_code
            for i in range(100)
        ]
        assert set(codes) == {422}
        assert client.get("/api/info").status_code == 200
        assert upload(client, web_clip).status_code == 201
        assert len(list((tmp_path / "d" / "uploads").iterdir())) == 1


def test_a_port_in_use_is_one_line_before_the_address_is_printed():
    import socket

    from vidsr.web.server import check_port

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(VidsrError, match=f"127.0.0.1:{port}.*--port"):
            check_port("127.0.0.1", port)
