"""The converted-weights cache (round trip, stale and corrupt entries) and safe .pth loading."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle

import pytest
import torch

from vidsr.errors import ModelWeightsError
from vidsr.models.weights import cache_dir, cached_state_dict, load_pth, load_verified_pth


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDSR_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "weights"


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "net.bin"
    path.write_bytes(b"pretend ncnn weights")
    return path


class Converter:
    """Counts conversions; returns a fixed state_dict."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, torch.Tensor]:
        self.calls += 1
        return {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(2)}


def _same(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_cache_dir_follows_env(cache):
    assert cache_dir() == cache


def test_round_trip_converts_once(cache, source):
    convert = Converter()
    first = cached_state_dict("m", [source], convert)
    second = cached_state_dict("m", [source], convert)
    assert convert.calls == 1
    assert _same(first, second)
    assert sorted(p.name for p in cache.iterdir()) == ["m.pth", "m.pth.json"]  # no temp files


def test_stale_source_triggers_reconversion(cache, source):
    convert = Converter()
    cached_state_dict("m", [source], convert)
    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    cached_state_dict("m", [source], convert)
    assert convert.calls == 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda pth, meta: pth.write_bytes(b"not a pickle at all"),
        lambda pth, meta: pth.write_bytes(pth.read_bytes()[:-20]),
        lambda pth, meta: meta.write_text("{broken json"),
        lambda pth, meta: pth.unlink(),
        lambda pth, meta: meta.write_text("[1, 2]"),
    ],
    ids=["garbage", "truncated", "bad-meta", "missing", "meta-not-object"],
)
def test_corrupt_cache_is_rebuilt_not_fatal(cache, source, damage, caplog):
    convert = Converter()
    expected = cached_state_dict("m", [source], convert)
    damage(cache / "m.pth", cache / "m.pth.json")
    with caplog.at_level(logging.WARNING):
        again = cached_state_dict("m", [source], convert)
    assert convert.calls == 2
    assert _same(expected, again)
    assert cached_state_dict("m", [source], convert) is not None
    assert convert.calls == 2  # the rebuilt entry is good again


def test_checksum_mismatch_with_loadable_file_is_rebuilt(cache, source):
    convert = Converter()
    cached_state_dict("m", [source], convert)
    torch.save({"w": torch.zeros(2, 3), "b": torch.zeros(2)}, cache / "m.pth")  # valid, wrong
    again = cached_state_dict("m", [source], convert)
    assert convert.calls == 2
    assert torch.equal(again["b"], torch.ones(2))


def test_unwritable_cache_still_returns_weights(tmp_path, monkeypatch, source):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("VIDSR_CACHE_DIR", str(blocker))
    assert _same(cached_state_dict("m", [source], Converter()), Converter()())


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_load_pth_refuses_arbitrary_pickles(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as fh:
        pickle.dump({"params": _Evil()}, fh, protocol=2)
    with pytest.raises(ModelWeightsError):
        load_pth(path)


def test_load_pth_unwraps_and_strips(tmp_path):
    path = tmp_path / "m.pth"
    torch.save({"params_ema": {"module.conv.weight": torch.ones(1)}, "iter": 3}, path)
    assert list(load_pth(path)) == ["conv.weight"]


def test_load_verified_pth_checks_sha256(tmp_path):
    path = tmp_path / "m.pth"
    torch.save({"w": torch.ones(1)}, path)
    good = hashlib.sha256(path.read_bytes()).hexdigest()
    assert list(load_verified_pth(path, good)) == ["w"]
    with pytest.raises(ModelWeightsError, match="sha256"):
        load_verified_pth(path, "0" * 64)
    with pytest.raises(ModelWeightsError, match="not found"):
        load_verified_pth(tmp_path / "absent.pth", good)
