"""``vidsr serve``: build the config, print the address (and the token), run uvicorn."""

from __future__ import annotations

import threading
import webbrowser
from pathlib import Path

from vidsr.config import parse_size
from vidsr.errors import InvalidOptionError, VidsrError
from vidsr.web.config import ServeConfig, new_token


def default_data_dir() -> Path:
    """platformdirs' user data dir for vidsr (``~/.local/share/vidsr/web`` on Linux)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("vidsr")) / "web"


def build_config(
    host: str = "127.0.0.1",
    port: int = 8765,
    data_dir: str | None = None,
    workers: int = 1,
    max_upload: str = "20G",
    allow_dirs: list[str] | None = None,
) -> ServeConfig:
    """The server's config from the command line's values (a token unless on 127.0.0.1)."""
    if not 0 < port < 65536:
        raise InvalidOptionError(f"--port must be between 1 and 65535, got {port}")
    config = ServeConfig(
        data_dir=Path(data_dir).expanduser().resolve() if data_dir else default_data_dir(),
        host=host,
        port=port,
        workers=workers,
        max_upload=parse_size(max_upload),
        allow_dirs=tuple(Path(d).expanduser().resolve() for d in allow_dirs or ()),
    )
    if not config.local:
        from dataclasses import replace

        config = replace(config, token=new_token())
    return config


def check_port(host: str, port: int) -> None:
    """A one-line error now, rather than uvicorn's after the address was printed."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as err:
            why = err.strerror or err
            raise VidsrError(f"cannot listen on {host}:{port} ({why}): pass --port") from None


def address(config: ServeConfig) -> str:
    """What to open in a browser (with the token for a non-local server)."""
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::") else config.host
    host = f"[{host}]" if ":" in host else host
    url = f"http://{host}:{config.port}/"
    return f"{url}?token={config.token}" if config.token else url


def serve(config: ServeConfig, open_browser: bool = False) -> None:
    """Run the server until Ctrl-C (workers stop; running jobs go back to the queue)."""
    import uvicorn

    from vidsr.web.app import create_app

    check_port(config.host, config.port)
    app = create_app(config)
    url = address(config)
    print(f"vidsr serve: {url}  (data in {config.data_dir}; Ctrl-C stops)", flush=True)
    if config.token:
        print("vidsr serve: this address holds the access token; it is printed once", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, (url,)).start()
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning")


def add_parser(sub) -> None:
    """The ``vidsr serve`` subcommand's arguments (cli.py calls this)."""
    p = sub.add_parser("serve", help="the local web app: drop a video, preview, queue, download")
    p.add_argument("--host", default="127.0.0.1", help="other hosts than 127.0.0.1 need a token")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--open", action="store_true", help="open the page in the browser")
    p.add_argument("--data-dir", default=None, help="queue, uploads and outputs (default: "
                   "the user data folder)")  # fmt: skip
    p.add_argument("--workers", type=int, default=1, help="jobs run at once (worker processes)")
    p.add_argument("--max-upload", default="20G", help="largest upload accepted (413 above)")
    p.add_argument("--allow-dir", action="append", default=[], metavar="DIR",
                   help="a folder whose files may be used in place (repeatable)")  # fmt: skip


def run_command(args) -> int:
    """``vidsr serve`` from parsed arguments; a one-line error without the web extra."""

    try:
        import fastapi  # noqa: F401
        import sse_starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise VidsrError(
            f"vidsr serve needs the web extra ({err.name} is missing): pip install -e '.[web]'"
        ) from None
    config = build_config(args.host, args.port, args.data_dir, args.workers, args.max_upload,
                          args.allow_dir)  # fmt: skip
    serve(config, open_browser=args.open)
    return 0
