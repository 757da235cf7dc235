"""Fixtures of the web app's tests: an in-process client, a server subprocess, job waiting."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install -e '.[web]')")

from fastapi.testclient import TestClient

from vidsr.web.app import create_app
from vidsr.web.config import ServeConfig

BASE = "http://127.0.0.1:8765"
FAST = {"model": "bicubic", "scale": 2, "preset": "ultrafast", "crf": 20}
"""Settings of every test job: a weightless model and the fastest encoder preset."""
FINAL = ("done", "failed", "cancelled")


@contextlib.contextmanager
def web_client(data_dir: Path, app: dict | None = None, **config) -> TestClient:
    """A TestClient on a fresh app (its lifespan starts ``workers`` worker processes);
    ``app`` holds create_app's other arguments (an inspector, say)."""
    cfg = ServeConfig(data_dir=data_dir, **{"workers": 0, **config})
    with TestClient(create_app(cfg, **(app or {})), base_url=BASE) as client:
        yield client


def wait_job(client, job_id: str, states=FINAL, timeout: float = 90.0, until=None) -> dict:
    """Poll a job until its state is in ``states`` (or ``until(job)`` holds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if until(job) if until else job["state"] in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not get there in {timeout} s: {job}")


def upload(client, path: Path, name: str | None = None):
    """POST a file's bytes as an upload."""
    return client.post(f"/api/uploads?name={name or path.name}", content=path.read_bytes())


@pytest.fixture(scope="session")
def web_clip(clip_factory):
    """40 frames at 25 fps with AAC audio and a keyframe every 12 frames (4 segments of 0.4 s)."""
    return clip_factory("web.mp4", frames=40, extra={"g": "12", "keyint_min": "12"})


@pytest.fixture(scope="session")
def long_clip(clip_factory):
    """100 frames of 128x96 with audio, a keyframe every 10 frames: 10 segments of 0.4 s."""
    return clip_factory(
        "web_long.mp4", frames=100, width=128, height=96, extra={"g": "10", "keyint_min": "10"}
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``vidsr serve`` as a subprocess on a free port (stopped by the fixture, bounded waits)."""

    def __init__(self, data_dir: Path, *args: str):
        self.data_dir, self.args = data_dir, args
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        import httpx

        log = open(self.data_dir.parent / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vidsr.cli", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir), *self.args],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the server exited at start"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/info", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        raise AssertionError("the server did not answer in time")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server_factory(tmp_path):
    """``server_factory(data_dir, *args)`` -> a started ServerProcess, stopped at the end."""
    started: list[ServerProcess] = []

    def make(data_dir: Path | None = None, *args: str) -> ServerProcess:
        server = ServerProcess(data_dir or tmp_path / "data", *args).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
