"""A network that reads neighbouring frames in the pipeline (``pipeline/neighbours.py``): step 0
equals the per-frame model through the whole run, the neighbours are read, frames come out late
but all of them with their timestamps, batching does not change them, and job segments (pre- and
post-roll) give exactly what one run over the whole video gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.clips import audio_packets, video_times
from tests.jobs.conftest import assert_same_frames, decoded_frames
from vidsr.config import JobOptions, UpscaleOptions
from vidsr.jobs import run_job
from vidsr.jobs.job import segment_context
from vidsr.models import load_model
from vidsr.models.archs import ArchInfo, get_arch
from vidsr.models.weights import load_pth
from vidsr.pipeline import NeighbourModel, Pipeline, frame_model
from vidsr.reuse.regions import supports_reuse

REPO = Path(__file__).resolve().parents[1]
BI_X4 = REPO / "vidsr" / "weights" / "vidsr-bi-x4.pth"


def _multi_frame(path: Path, neighbours: int, std: float) -> Path:
    """vidsr-bi-x4's weights with a neighbour convolution of ``neighbours`` frames, drawn from
    N(0, std) (0: the zero start, which is the per-frame network)."""
    state = dict(load_pth(BI_X4))
    feat = state["body.0.weight"].shape[0]
    g = torch.Generator().manual_seed(7)
    state["neighbours.weight"] = torch.randn(feat, 4 * neighbours, 3, 3, generator=g) * std
    torch.save(state, path)
    return path


def _back_projecting(path: Path, std: float) -> Path:
    """BackProjectSRVGG (two neighbours, one back-projection step) on vidsr-bi-x4's weights,
    its fusion's last convolution drawn from N(0, std) (0: the per-frame network)."""
    net = ArchInfo(get_arch("BackProjectSRVGG"), 4, {"iterations": 1}).build()
    net.load_state_dict(load_pth(BI_X4), strict=False)
    with torch.no_grad():
        net.fusion.out.weight.normal_(0, std, generator=torch.Generator().manual_seed(8))
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("multi")
    return {
        "zero": _multi_frame(folder / "zero.pth", 2, 0.0),
        "read": _multi_frame(folder / "read.pth", 2, 0.05),
        "four": _multi_frame(folder / "four.pth", 4, 0.05),
        "bp_zero": _back_projecting(folder / "bp_zero.pth", 0.0),
        "bp_read": _back_projecting(folder / "bp_read.pth", 0.01),
    }


@pytest.fixture(scope="module")
def moving(clip_factory) -> Path:
    """25 frames of fine texture moving sub-pixel, keyframes every 6, with audio."""
    return clip_factory(
        "moving.mp4", frames=25, pattern="texture", extra={"g": "6", "keyint_min": "6"}
    )


def _options(model: str, **flat) -> UpscaleOptions:
    return UpscaleOptions.of(
        model=model, temporal="off", preset="ultrafast", crf=12, batch_size=3, **flat
    )


@pytest.mark.parametrize("name", ["zero", "bp_zero"])
def test_step_zero_run_equals_the_per_frame_model(weights, moving, tmp_path, name) -> None:
    per_frame, zero = tmp_path / "per_frame.mp4", tmp_path / "zero.mp4"
    Pipeline(_options("vidsr-bi-x4")).run(str(moving), str(per_frame))
    stats = Pipeline(_options(str(weights[name]))).run(str(moving), str(zero))
    assert stats.frames_encoded == 25 and stats.model_lag == 1
    assert_same_frames(zero, per_frame)


@pytest.mark.parametrize("name", ["read", "bp_read"])
def test_neighbours_are_read_and_every_frame_comes_out(weights, moving, tmp_path, name) -> None:
    per_frame, read = tmp_path / "per_frame.mp4", tmp_path / "read.mp4"
    Pipeline(_options("vidsr-bi-x4")).run(str(moving), str(per_frame))
    Pipeline(_options(str(weights[name]))).run(str(moving), str(read))
    assert video_times(read) == video_times(moving)
    assert audio_packets(read) == audio_packets(moving)
    a, b = decoded_frames(read), decoded_frames(per_frame)
    assert len(a) == len(b) == 25
    differ = [not np.array_equal(x, y) for (_, x), (_, y) in zip(a, b, strict=True)]
    assert all(differ), "a frame came out as the per-frame network makes it"


@pytest.mark.parametrize("name", ["read", "four", "bp_read"])
def test_lag_and_batching_do_not_change_frames(weights, name) -> None:
    upscaler = load_model(str(weights[name]), device="cpu", precision="fp32")
    lr = torch.rand(7, 3, 24, 32, generator=torch.Generator().manual_seed(3))
    lane = frame_model(upscaler)
    assert isinstance(lane, NeighbourModel) and lane.lag == len(lane.offsets) // 2
    outs = []
    for batch in (1, 3, 7):
        model = NeighbourModel(upscaler)
        parts, inputs = [], []
        for i in range(0, 7, batch):
            x, y = model.process(lr[i : i + batch])
            assert len(x) == len(y) == max(0, min(7, i + batch) - lane.lag - sum(map(len, parts)))
            parts.append(y), inputs.append(x)
        x, y = model.flush()
        parts.append(y), inputs.append(x)
        assert torch.equal(torch.cat([p for p in inputs if len(p)]), lr)
        outs.append(torch.cat([p for p in parts if len(p)]))
    assert outs[0].shape == (7, 3, 96, 128)
    # the same inputs for every frame, however batched; the network itself differs by about
    # 1e-6 between batch sizes (oneDNN picks other kernels per shape), as a per-frame one does
    assert (outs[0] - outs[1]).abs().max() < 1e-5 and (outs[0] - outs[2]).abs().max() < 1e-5


@pytest.mark.parametrize("name", ["read", "four", "bp_read"])
def test_job_segments_equal_one_run(weights, moving, tmp_path, name) -> None:
    # lossless (CRF 0, MKV) so that frames compare exactly; batch 1: the network sees the same
    # batches in a segment as in one run (see above)
    options = _options(str(weights[name])).changed(crf=0, batch_size=1)
    job = JobOptions(segment_seconds=0.24)  # keyframes every 6 frames: 4+ segments
    pre, post = segment_context(job, options)
    assert pre > 0 and post > 0, "a network reading neighbours needs frames around a segment"
    bare = tmp_path / "bare.mkv"
    run_job(str(moving), str(bare), options, JobOptions(0.24, preroll=0, postroll=0))
    one, segmented, two = tmp_path / "one.mkv", tmp_path / "seg.mkv", tmp_path / "two.mkv"
    Pipeline(options).run(str(moving), str(one))
    result = run_job(str(moving), str(segmented), options, job)
    assert result.encoded >= 4
    assert_same_frames(segmented, one)
    with pytest.raises(AssertionError):  # without the context the borders differ: it can fail
        assert_same_frames(bare, one)
    run_job(str(moving), str(two), options, JobOptions(segment_seconds=0.24, workers=2))
    assert_same_frames(two, one)


def test_reuse_is_off_for_a_network_reading_neighbours(weights) -> None:
    upscaler = load_model(str(weights["read"]), device="cpu", precision="fp32")
    assert not supports_reuse(upscaler)
    assert isinstance(frame_model(upscaler), NeighbourModel)


def test_video_evaluation_and_bench_feed_it_like_the_pipeline(weights, moving, tmp_path) -> None:
    from vidsr.bench import run_stages
    from vidsr.media.probe import probe
    from vidsr.quality.video import evaluate_video

    per_frame = load_model("vidsr-bi-x4", device="cpu", precision="fp32")
    zero = load_model(str(weights["zero"]), device="cpu", precision="fp32")
    read = load_model(str(weights["read"]), device="cpu", precision="fp32")
    scores = {
        name: evaluate_video(m, moving, 4, frames=8, temporal="off", batch=3, ssim=False)
        for name, m in (("per_frame", per_frame), ("zero", zero), ("read", read))
    }
    psnr = {name: s["methods"][0]["psnr"] for name, s in scores.items()}
    assert scores["zero"]["frames"] == 8
    assert abs(psnr["zero"] - psnr["per_frame"]) < 1e-3  # batches of 3 vs 1: ~1e-6 apart
    assert psnr["read"] != psnr["per_frame"]
    options = _options(str(weights["read"]))
    result = run_stages(probe(str(moving)), read, options, str(tmp_path / "bench.mp4"))
    assert result["frames"] == 25 and video_times(tmp_path / "bench.mp4") == video_times(moving)
    # the whole `vidsr bench` (its warm-up fed the network bare frames once)
    from vidsr.bench import run_bench

    for name in ("read", "bp_read"):
        whole = run_bench(str(moving), _options(str(weights[name])), frames=6)
        assert whole["frames"] == 6 and whole["model_s"] > 0


def test_pictures_are_sequences_of_one(weights, shared_data) -> None:
    """Image-set evaluation and ``vidsr compare`` give a network that reads neighbours each
    picture alone: no neighbour, so every neighbour channel is 0 (difference and trust) and any
    such network gives exactly its per-frame part's output."""
    from vidsr.quality.compare import compare_upscale
    from vidsr.quality.image_sets import evaluate

    per_frame = load_model("vidsr-bi-x4", device="cpu", precision="fp32")
    zero = load_model(str(weights["zero"]), device="cpu", precision="fp32")
    read = load_model(str(weights["read"]), device="cpu", precision="fp32")
    hr_dir = shared_data / "eval" / "Set5" / "HR"
    scores = [evaluate(m, hr_dir, 4, limit=2, ssim=False) for m in (per_frame, zero, read)]
    psnr = [[row["psnr"] for row in s["images"]] for s in scores]
    assert psnr[1] == psnr[0] and psnr[2] == psnr[0]
    picture = (torch.rand(24, 32, 3, generator=torch.Generator().manual_seed(1)) * 255).byte()
    a = compare_upscale(picture.numpy(), read, 4)
    b = compare_upscale(picture.numpy(), per_frame, 4)
    assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_lane_on_cuda_matches_the_cpu(weights) -> None:
    """On a GPU the network runs there (fp16) while the alignment stays on the CPU."""
    lr = torch.rand(5, 3, 32, 48, generator=torch.Generator().manual_seed(4))
    outs = {}
    for device in ("cpu", "cuda"):
        model = NeighbourModel(load_model(str(weights["read"]), device=device))
        parts = [model.process(lr.to(device))[1], model.flush()[1]]
        outs[device] = torch.cat([p.float().cpu() for p in parts if len(p)])
    assert outs["cuda"].shape == outs["cpu"].shape == (5, 3, 128, 192)
    assert float((outs["cuda"] - outs["cpu"]).abs().mean()) < 2 / 255


class _Forgetful(dict):
    """A pair cache that keeps nothing: every pair is aligned again."""

    def __setitem__(self, key, value) -> None:
        pass


def test_each_flow_is_computed_once_and_gives_the_same_frames(weights) -> None:
    upscaler = load_model(str(weights["read"]), device="cpu", precision="fp32")
    lr = torch.rand(7, 3, 24, 32, generator=torch.Generator().manual_seed(5))
    outs, calls = [], []
    for cache in (True, False):
        model = NeighbourModel(upscaler)
        if not cache:
            model._pairs = _Forgetful()
        motion = model._aligner._motion
        count = [0]
        flow = motion.flow

        def counted(a, b, flow=flow, count=count):
            count[0] += 1
            return flow(a, b)

        motion.flow = counted
        parts = [model.process(lr[i : i + 2])[1] for i in range(0, 7, 2)] + [model.flush()[1]]
        outs.append(torch.cat([p for p in parts if len(p)]))
        calls.append(count[0])
    assert calls == [12, 24]  # 6 neighbouring pairs, two flows each; without the cache twice
    assert torch.equal(outs[0], outs[1])
