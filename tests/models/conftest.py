"""Fixtures for the models tests: a private weights cache, tiny networks, the shared data folder."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from vidsr.models.archs import ArchInfo, build_module, get_arch

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO / ".." / "shared" / "data"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Never touch the user's real cache: every test converts into a session temp folder."""
    folder = tmp_path_factory.mktemp("vidsr-cache")
    old = os.environ.get("VIDSR_CACHE_DIR")
    os.environ["VIDSR_CACHE_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("VIDSR_CACHE_DIR", None)
    else:
        os.environ["VIDSR_CACHE_DIR"] = old


@pytest.fixture(autouse=True)
def _two_threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture
def golden_dir() -> Path:
    """``../shared/data/golden`` beside the repo; skips when it is absent."""
    folder = SHARED_DATA / "golden"
    if not folder.is_dir():
        pytest.skip(f"shared golden data not found at {folder}")
    return folder


def _tiny_network(arch: str, scale: int, seed: int = 0, **params: object) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_module(ArchInfo(get_arch(arch), scale, dict(params))).eval().requires_grad_(False)


@pytest.fixture
def tiny_network() -> Callable[..., torch.nn.Module]:
    """Factory: ``tiny_network(arch, scale, seed=0, **params)`` -> small seeded basicsr module."""
    return _tiny_network
