"""The model catalog as the page shows it, read without torch in the server.

``vidsr.models`` imports torch (about 600 MB resident); the server needs only names, scales and
descriptions, so it reads them once from a short-lived ``python -m vidsr.web.catalog`` child
(or in-process where torch is loaded anyway, as in a worker or a test run).
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from typing import Any

from vidsr.errors import VidsrError


def catalog_rows() -> list[dict[str, Any]]:
    """Every built-in model: name, description, scale, Set5 score, default (imports torch)."""
    from vidsr.config import DEFAULT_MODEL
    from vidsr.models.catalog import list_models

    rows = []
    for spec in list_models():
        set5 = spec.scores.get("Set5", {})
        rows.append(
            {
                "name": spec.name,
                "description": spec.description,
                "scale": spec.scale,
                "classical": spec.classical,
                "set5_psnr": set5.get("psnr"),
                "default": spec.name == DEFAULT_MODEL,
            }
        )
    return rows


@functools.lru_cache(maxsize=1)
def load_catalog() -> tuple[dict[str, Any], ...]:
    """The catalog rows, read once per process (in a child process unless torch is loaded)."""
    if "torch" in sys.modules:
        return tuple(catalog_rows())
    done = subprocess.run(
        [sys.executable, "-m", "vidsr.web.catalog"], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise VidsrError(f"cannot read the model catalog: {last}")
    return tuple(json.loads(done.stdout))


if __name__ == "__main__":
    print(json.dumps(catalog_rows()))
