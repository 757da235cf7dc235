"""``vidsr serve --open`` opens the page in the user's browser (issue 16): the real server, with
``$BROWSER`` (which Python's webbrowser obeys) pointing at a script that writes down the address
it was given."""

from __future__ import annotations

import time

import httpx


def _opener(tmp_path):
    seen = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> {seen}\n')
    script.chmod(0o755)
    return script, seen


def _wait_for(path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return True
        time.sleep(0.1)
    return False


def test_open_opens_the_page_in_the_browser(server_factory, tmp_path, monkeypatch):
    script, seen = _opener(tmp_path)
    monkeypatch.setenv("BROWSER", str(script))
    server = server_factory(tmp_path / "data", "--open")
    assert _wait_for(seen, 15.0)
    assert seen.read_text().splitlines() == [f"{server.url}/"]
    page = httpx.get(seen.read_text().strip(), timeout=5)
    assert page.status_code == 200 and "<html" in page.text.lower()
