"""``vidsr serve``: the local web app (FastAPI + a worker process + SQLite).

Layout, one job per module::

    config.py    ServeConfig (what ``vidsr serve`` was started with), job kinds and states
    store.py     the SQLite (WAL) store of videos and jobs: nothing is kept only in memory
    security.py  Host/Origin/token checks (ASGI middleware), safe names, --allow-dir paths
    uploads.py   streamed uploads with size and free-space limits checked before writing
    frames.py    probe summary, thumbnails, before/after pictures (PyAV and Pillow, no torch)
    settings.py  the web form's settings -> UpscaleOptions, presets
    catalog.py   the model catalog, read in a child process (the server never imports torch)
    worker.py    the worker process: takes queued jobs, runs previews and resumable jobs
    supervisor.py starts workers, notices a dead one and fails its job with one line
    app.py       the FastAPI application (routes), built from a ServeConfig
    server.py    ``vidsr serve``: prints the address, runs uvicorn

Needs the ``web`` extra: ``pip install -e '.[web]'``.
"""

from __future__ import annotations
