"""The speed benchmark (issue 4) and the proofs it rests on: batched and overlapped output is
bit-identical to the sequential path at the same precision."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from vidsr import Pipeline, UpscaleOptions, bench
from vidsr.media.probe import probe
from vidsr.models import load_model
from vidsr.models.precision import cpu_supports_bf16
from vidsr.pipeline import temporal_stage

ROOT = Path(__file__).resolve().parents[1]
FAST = {"preset": "ultrafast", "device": "cpu"}


@pytest.fixture
def one_thread():
    """Tiny frames on a shared 2-core machine: one torch thread keeps the timings sane."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny(clip_factory):
    return clip_factory("bench.mp4", width=32, height=24, frames=8)


def planes_of(path: Path) -> list[np.ndarray]:
    """Every decoded frame of the first video stream, as its raw planar array."""
    with av.open(str(path)) as c:
        return [f.to_ndarray() for f in c.decode(c.streams.video[0])]


def test_result_has_documented_keys_and_sane_values(tiny, one_thread):
    r = bench.run_bench(str(tiny), UpscaleOptions.of(**FAST), frames=8, repeat=2)

    assert set(bench.RESULT_KEYS) <= set(r)
    assert r["frames"] == 8
    assert r["whole_s"] > 0 and r["model_s"] > 0
    assert r["fps"] == pytest.approx(8 / r["whole_s"])
    assert r["model_fps"] == pytest.approx(8 / r["model_s"])
    assert 0 < r["efficiency"] <= 1.5
    assert r["efficiency"] == pytest.approx(r["model_s"] / r["whole_s"])
    assert 1 < r["peak_rss_mb"] < 256 * 1024
    # the default run of a network includes the temporal stage (--temporal auto)
    assert set(r["stages"]) == {"decode", "color", "model", "temporal", "encode"}
    for stage in r["stages"].values():
        assert stage["s"] > 0 and stage["cpu_s"] >= 0 and stage["peak_rss_mb"] > 1
    assert r["input_size"] == [32, 24] and r["output_size"] == [128, 96]
    assert r["model_gflops"] > 0
    assert r["baseline"] is None
    assert bench.format_table(r).count("\n") > 8


def test_frames_limit_the_window(clip_factory, one_thread):
    src = clip_factory("bench12.mp4", width=32, height=24, frames=12)
    r = bench.run_bench(str(src), UpscaleOptions.of(model="bicubic", **FAST), frames=5)
    assert r["frames"] == 5
    assert r["model_gflop_per_frame"] == 0  # no network


def test_temporal_stage_is_timed_when_on(tiny, one_thread):
    options = UpscaleOptions.of(model="bicubic", temporal="medium", **FAST)
    r = bench.run_bench(str(tiny), options, frames=8)
    assert r["frames"] == 8  # frames held back by the stage all come out
    assert list(r["stages"]) == ["decode", "color", "model", "temporal", "encode"]
    assert r["stages"]["temporal"]["s"] > 0
    # the whole pipeline is timed without the stage too: the share of its time the stage costs
    assert r["whole_without_temporal_s"] > 0
    assert r["temporal_share"] == pytest.approx(1 - r["whole_without_temporal_s"] / r["whole_s"])
    assert "temporal stage share" in bench.format_table(r)
    off = bench.run_bench(str(tiny), UpscaleOptions.of(model="bicubic", **FAST), frames=4)
    assert "temporal_share" not in off and "temporal stage share" not in bench.format_table(off)


def test_flops_of_animevideov3_match_its_conv_shapes():
    # SRVGGNetCompact (num_feat 64, num_conv 16, x4): conv 3->64, 16 convs 64->64, conv 64->48,
    # all 3x3 at the input resolution; 2 FLOPs per multiply-add.
    up = load_model("realesr-animevideov3", device="cpu", precision="fp32")
    h, w = 24, 32
    expected = 2 * 9 * h * w * (3 * 64 + 16 * 64 * 64 + 64 * 48)
    assert bench.model_flops(up, h, w) == expected


def test_json_cli_prints_one_object(tiny):
    cmd = [sys.executable, str(ROOT / "scripts" / "bench.py"), str(tiny), "--frames", "4"]
    cmd += ["--model", "bicubic", "--preset", "ultrafast", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    r = json.loads(done.stdout)
    for key in ("whole_s", "model_s", "fps", "efficiency", "peak_rss_mb"):
        assert isinstance(r[key], float) and r[key] > 0
    assert r["frames"] == 4


def test_baseline_is_skipped_with_a_reason_without_imageio_ffmpeg(tiny, monkeypatch, one_thread):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import now raises ImportError
    reason = bench.baseline_unavailable()
    assert reason is not None and "imageio_ffmpeg" in reason and "bench" in reason
    r = bench.run_bench(str(tiny), UpscaleOptions.of(model="bicubic", **FAST), baseline=True)
    assert r["baseline"] == {"skipped": reason}


@pytest.mark.skipif(bench.baseline_unavailable() is not None, reason="no imageio-ffmpeg")
def test_baseline_runs_the_same_frames(tiny, one_thread):
    r = bench.run_bench(str(tiny), UpscaleOptions.of(**FAST), frames=6, baseline=True)
    base = r["baseline"]
    assert base["frames"] == r["frames"] == 6
    assert base["precision"] == "float32"
    assert base["whole_s"] > 0 and base["fps"] == pytest.approx(6 / base["whole_s"])
    assert r["speedup_vs_baseline"] == pytest.approx(r["fps"] / base["fps"])


PRECISIONS = ["fp32"] + (["bf16"] if cpu_supports_bf16() else [])


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("batch", [1, 4])
def test_overlapped_pipeline_is_bit_identical_to_the_sequential_stages(
    clip_factory, tmp_path, precision, batch
):
    """Threads and queues change nothing: the pipeline's frames equal a plain loop's.

    9 frames: with batch 4 the batches are 4, 4 and 1. FFV1 is lossless, so equal frames mean
    equal model output after conversion. (Between batch sizes oneDNN picks other fp32 kernels,
    about 4e-7 apart, which can flip a rounding: each batch size is compared with itself.)
    """
    src = clip_factory("bitexact.mp4", width=32, height=24, frames=9)
    up = load_model("realesr-animevideov3", device="cpu", precision=precision)
    options = UpscaleOptions.of(codec="ffv1", batch_size=batch, device="cpu", precision=precision)
    out = tmp_path / "pipeline.mkv"
    Pipeline(options, upscaler=up).run(str(src), str(out))
    sequential = tmp_path / "sequential.mkv"
    # the same stages as the pipeline runs by default, the temporal stabiliser included
    stage = temporal_stage(options, up)
    assert stage is not None
    staged = bench.run_stages(probe(str(src)), up, options, str(sequential), stage)
    assert staged["frames"] == 9
    got, want = planes_of(out), planes_of(sequential)
    assert len(got) == len(want) == 9
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        assert np.array_equal(a, b), f"frame {i} differs"


def test_importing_the_bench_module_loads_neither_torch_nor_pyav():
    # ``vidsr bench``'s arguments come from vidsr.bench.add_arguments, called whenever the
    # ``vidsr`` parser is built: that must stay cheap for every other command.
    code = "import sys, vidsr.bench; print('torch' in sys.modules, 'av' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_reuse_is_reported_with_its_saving_only_when_something_was_reused(
    tiny, tmp_path, one_thread
):
    """The default reuse (exact repeats) is measured against ``--reuse off``: a clip on twos
    skips half its frames and the report gives the saving; a clip with no repeat says nothing
    was reused instead of a ratio that would be the runs' spread."""
    from tests.reuse.conftest import still_and_moving, write_still_and_moving

    options = UpscaleOptions.of(model="vidsr-bi-x2", precision="fp32", temporal="off", **FAST)
    twos = write_still_and_moving(
        tmp_path / "twos.mp4", 8, picture=lambda i: still_and_moving(i // 2)
    )
    r = bench.run_bench(str(twos), options, frames=8)
    assert r["reuse"]["frames_skipped"] == 4 and r["reuse"]["pixel_fraction"] == 0.5
    assert r["whole_without_reuse_s"] > 0 and r["reuse_model_saved"] is not None
    # the FLOP rate counts the frames the network ran on, not the skipped ones
    rate = r["model_gflop_per_frame"] * 4 / r["stages"]["model"]["s"]
    assert r["model_gflops"] == pytest.approx(rate)
    line = next(x for x in bench.format_table(r).splitlines() if x.startswith("reuse"))
    assert "4 of 8 frames skipped" in line and "whole" in line and "x" in line
    none = bench.run_bench(str(tiny), options, frames=8)
    assert none["reuse"]["frames_skipped"] == 0 and none["reuse"]["pixel_fraction"] == 1.0
    line = next(x for x in bench.format_table(none).splitlines() if x.startswith("reuse"))
    assert "nothing reused" in line and "whole" not in line
