"""Shared fixtures: generated clips, the shared real-data folder, a private weights cache."""

from __future__ import annotations

import pytest

from tests.clips import SHARED_DATA, ClipSpec, make_clip


@pytest.fixture(scope="session")
def shared_data():
    """``../shared/data`` beside the repository; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (only CI and developers have it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def clip_factory(tmp_path_factory):
    """``clip_factory(name, **ClipSpec fields)`` -> path of a generated clip, made once."""
    made = {}

    def make(name: str, **fields):
        key = (name, repr(sorted(fields.items())))
        if key not in made:
            folder = tmp_path_factory.mktemp("clips")
            made[key] = make_clip(folder / name, ClipSpec(**fields))
        return made[key]

    return make


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Converted weights go to a per-run cache, never the user's, unless VIDSR_CACHE_DIR is set."""
    import os

    if "VIDSR_CACHE_DIR" not in os.environ:
        os.environ["VIDSR_CACHE_DIR"] = str(tmp_path_factory.mktemp("vidsr-cache"))
    yield
