"""Weights on disk: reading user ``.pth`` files, and the cache of converted ncnn weights.

Converted state_dicts are cached in ``platformdirs.user_cache_dir("vidsr")/weights`` (or
``$VIDSR_CACHE_DIR/weights``) as ``NAME.pth`` with a sidecar ``NAME.pth.json`` holding the sha256
of the ``.pth`` and the size/mtime of the source files. A cache entry that is stale, corrupt or
unreadable is rebuilt, never trusted; every write goes to a temp file first and then
``os.replace``, so a crash never leaves a half-written entry under the final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from vidsr.errors import ModelWeightsError

log = logging.getLogger(__name__)

CACHE_ENV = "VIDSR_CACHE_DIR"
# Bump when the converter's output changes, so old cache entries are rebuilt.
CONVERTER_VERSION = 1


def cache_dir() -> Path:
    """Folder for converted weights (not created here)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override) / "weights"
    import platformdirs

    return Path(platformdirs.user_cache_dir("vidsr")) / "weights"


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def canonicalize_state_dict(obj: Any) -> dict[str, torch.Tensor]:
    """Unwrap ``params_ema`` / ``params`` / ``state_dict`` / bare dicts and strip ``module.``."""
    if not isinstance(obj, Mapping):
        raise ModelWeightsError(f"weights file holds a {type(obj).__name__}, not a state_dict")
    for key in ("params_ema", "params", "state_dict", "model"):
        inner = obj.get(key)
        if isinstance(inner, Mapping) and inner:
            obj = inner
            break
    state: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            continue
        name = str(key)
        while name.startswith("module."):
            name = name[len("module.") :]
        state[name] = value
    if not state:
        raise ModelWeightsError("weights file holds no tensors")
    return state


def load_pth(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a ``.pth`` safely (``weights_only=True``, on the CPU) and canonicalise it."""
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelWeightsError(f"weights file not found: {path}") from exc
    except pickle.UnpicklingError as exc:  # code or objects other than tensors in the pickle
        found = re.search(r"unsupported GLOBAL (\S+)", str(exc))
        what = f" ({found.group(1)})" if found else ""
        raise ModelWeightsError(
            f"refused weights {path}: the file holds code or objects{what}, not only tensors, "
            "and vidsr never runs code from a weights file"
        ) from exc
    except Exception as exc:  # torch raises many types for a broken file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelWeightsError(f"cannot load weights {path}: {first}") from exc
    return canonicalize_state_dict(obj)


def load_verified_pth(path: str | Path, sha256: str | None) -> dict[str, torch.Tensor]:
    """Load a ``.pth`` after checking its sha256 (when given)."""
    if not Path(path).is_file():
        raise ModelWeightsError(f"weights file not found: {path}")
    if sha256 and sha256_file(path) != sha256.lower():
        raise ModelWeightsError(f"weights file {path} does not match its sha256 (corrupt?)")
    return load_pth(path)


def _source_stamp(sources: list[Path]) -> list[dict[str, Any]]:
    stamps = []
    for src in sources:
        st = src.stat()
        stamps.append({"path": str(src), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return stamps


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _read_cache(pth: Path, meta: Path, stamp: list[dict[str, Any]]) -> dict | None:
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        if not isinstance(info, dict):
            raise ValueError("metadata is not a JSON object")
        if info.get("converter_version") != CONVERTER_VERSION or info.get("sources") != stamp:
            log.info("cached weights %s are stale; converting again", pth)
            return None
        if sha256_file(pth) != info.get("sha256"):
            log.warning("cached weights %s fail their checksum; converting again", pth)
            return None
        return load_pth(pth)
    except (OSError, ValueError, ModelWeightsError) as exc:
        log.warning("cannot use cached weights %s (%s); converting again", pth, exc)
        return None


def cached_state_dict(
    name: str, sources: list[Path], convert: Callable[[], dict[str, torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """Return ``convert()``'s result, cached under ``name`` and keyed on ``sources``' size/mtime.

    If the cache folder is not writable the converted weights are still returned (with a logged
    warning); the cache is an optimisation, never a requirement.
    """
    folder = cache_dir()
    pth, meta = folder / f"{name}.pth", folder / f"{name}.pth.json"
    stamp = _source_stamp(sources)
    if pth.is_file() and meta.is_file():
        state = _read_cache(pth, meta, stamp)
        if state is not None:
            return state
    state = convert()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(pth, lambda tmp: torch.save(state, tmp))
        info = {
            "converter_version": CONVERTER_VERSION,
            "sha256": sha256_file(pth),
            "sources": stamp,
        }
        _atomic_write(meta, lambda tmp: tmp.write_text(json.dumps(info, indent=1), "utf-8"))
    except (OSError, RuntimeError) as exc:  # torch.save reports write failures as RuntimeError
        log.warning("cannot cache converted weights in %s: %s", folder, exc)
    return state
