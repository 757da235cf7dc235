"""--max-memory: a 4K-output run, temporal stage on, stays under the limit (the model tiles)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np

from tests.clips import video_size

# Runs the CLI in a fresh interpreter and prints that process's own peak RSS (kB) at the end,
# so no other process's peak can mask or fake the measurement.
RUNNER = """
import resource, runpy, sys
sys.argv = ["vidsr"] + sys.argv[1:]
try:
    runpy.run_module("vidsr.cli", run_name="__main__")
except SystemExit as done:
    code = done.code
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "EXIT", code)
"""


def run_cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, timeout=600
    )


def plan(stderr: str) -> tuple[int, int]:
    """(process MB, frames and stages MB) from the ``memory plan`` log line."""
    line = next(x for x in stderr.splitlines() if "memory plan:" in x)
    process = int(line.split("(process ")[1].split("M")[0])
    frames = int(line.split("frames and stages ")[1].split("M")[0])
    return process, frames


def test_4k_output_stays_under_max_memory(clip_factory, tmp_path):
    # three frames, so the temporal stage (on by default) buffers, warps and blends for real
    src = clip_factory("qhd.mp4", width=960, height=540, frames=3, audio=False)
    args = ["--debug", "upscale", str(src), "--preset", "ultrafast", "-q", "--device", "cpu"]
    args += ["--batch", "1"]  # so both runs plan the same frame buffers
    # What the process holds before the first frame differs between machines (libraries,
    # kernels): a first run with room to spare reads it from the plan, then the limit leaves
    # the model 300 MB, less than a whole 960x540 frame needs, so it must tile.
    probe = run_cli([*args, "-o", str(tmp_path / "probe.mp4"), "--max-memory", "16G"])
    assert "EXIT 0" in probe.stdout, probe.stderr[-2000:]
    process, frames = plan(probe.stderr)
    limit = round((process + frames + 64 + 300) / 0.92)  # the plan keeps 64 MB + 8% in reserve
    out = tmp_path / "uhd.mp4"
    proc = run_cli([*args, "-o", str(out), "--max-memory", f"{limit}M"])
    assert "EXIT 0" in proc.stdout, proc.stderr[-2000:]
    peak_mb = int(proc.stdout.split("PEAK_KB")[1].split()[0]) / 1024
    assert "memory plan: batch 1, tile" in proc.stderr  # the frame did not fit whole
    assert "tile off" not in proc.stderr
    assert 500 < peak_mb < limit, f"peak {peak_mb:.0f} MB, limit {limit} MB"
    assert video_size(out) == (3840, 2160)


def test_too_small_a_limit_is_a_clear_error(clip_factory, tmp_path):
    src = clip_factory("qhd.mp4", width=960, height=540, frames=3, audio=False)
    out = tmp_path / "uhd.mp4"
    proc = run_cli(["upscale", str(src), "-o", str(out), "-q", "--max-memory", "1200M"])
    assert "EXIT 2" in proc.stdout or "EXIT 1" in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "too small" in lines[0] and "--temporal off" in lines[0]
    assert not out.exists()


# --- the default batch (issue 17: the default memory footprint) ---------------------------------


def test_default_batch_is_one_frame_on_the_cpu_and_four_on_a_gpu():
    from vidsr.cli import build_parser
    from vidsr.config import CPU_BATCH, GPU_BATCH, UpscaleOptions

    assert (CPU_BATCH, GPU_BATCH) == (1, 4)
    options = UpscaleOptions().model
    assert options.batch_size is None
    assert (options.batch_on("cpu"), options.batch_on("cuda")) == (1, 4)
    assert UpscaleOptions.of(batch_size=3).model.batch_on("cpu") == 3  # --batch still wins
    assert build_parser().parse_args(["upscale", "in.mp4"]).batch is None


def test_the_memory_plan_starts_from_the_device_default(clip_factory):
    """Without --max-memory the plan is the default batch; with it, the plan never raises the
    batch above it (and the decode queue holds that many frames per item)."""
    from vidsr.config import UpscaleOptions
    from vidsr.media.probe import probe
    from vidsr.models import load_model
    from vidsr.pipeline import plan_memory

    src = clip_factory("plan.mp4", width=64, height=48, frames=2, audio=False)
    info = probe(str(src))
    up = load_model("bicubic", device="cpu", scale=4)
    assert plan_memory(UpscaleOptions.of(model="bicubic"), up, info, 192, 256).batch_size == 1
    roomy = UpscaleOptions.of(model="bicubic", max_memory=16 << 30)
    assert plan_memory(roomy, up, info, 192, 256).batch_size == 1
    four = UpscaleOptions.of(model="bicubic", max_memory=16 << 30, batch_size=4)
    assert plan_memory(four, up, info, 192, 256).batch_size == 4


def planes_of(path: Path) -> list[np.ndarray]:
    """Every decoded frame of the first video stream, as its raw planar array."""
    with av.open(str(path)) as c:
        return [f.to_ndarray() for f in c.decode(c.streams.video[0])]


def _real_crop(shared_data, path, frames: int = 6) -> None:
    """The first frames of chaplin, a 96x64 crop, coded losslessly (FFV1): real video, small."""
    clip = shared_data / "clips" / "chaplin_h264_mp3_640x360.mp4"
    with av.open(str(clip)) as inp, av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for i, frame in enumerate(inp.decode(video=0)):
            if i == frames:
                break
            full = frame.to_ndarray(format="yuv420p")  # (h*3/2, w): Y, then U and V rows
            y = full[:360, 272:368][148:212]
            u = full[360:450].reshape(180, 320)[74:106, 136:184]
            v = full[450:540].reshape(180, 320)[74:106, 136:184]
            crop = av.VideoFrame.from_ndarray(
                np.concatenate([y, u.reshape(16, 96), v.reshape(16, 96)]), format="yuv420p"
            )
            crop.pts = i
            out.mux(stream.encode(crop))
        out.mux(stream.encode(None))


def test_default_batch_output_matches_batch_4_within_a_rounding(shared_data, tmp_path):
    """The default model on real video, batch 1 (the new CPU default) against batch 4 (the old
    one): oneDNN runs other fp32 kernels for other batch sizes (about 4e-7 apart), so a value may
    round the other way, never more than one level, and only rarely."""
    from vidsr.config import UpscaleOptions
    from vidsr.models import load_model
    from vidsr.pipeline import Pipeline

    src = tmp_path / "chaplin_crop.mkv"
    _real_crop(shared_data, src)
    up = load_model("realesr-animevideov3", device="cpu", precision="fp32")
    outs = {}
    for batch in (None, 4):
        options = UpscaleOptions.of(codec="ffv1", batch_size=batch, device="cpu", precision="fp32")
        outs[batch] = tmp_path / f"batch{batch}.mkv"
        Pipeline(options, upscaler=up).run(str(src), str(outs[batch]))
    got, old = planes_of(outs[None]), planes_of(outs[4])
    assert len(got) == len(old) == 6
    diff = np.concatenate(
        [np.abs(a.astype(int) - b.astype(int)).ravel() for a, b in zip(got, old, strict=True)]
    )
    assert diff.max() <= 1
    assert (diff > 0).mean() < 1e-3, f"{(diff > 0).mean():.2e} of the values differ"


def test_the_plan_counts_what_reuse_keeps(clip_factory, caplog):
    """--reuse keeps a float output frame and a float reference input between frames: the
    memory plan counts them (12 bytes a pixel each) in the frames it budgets."""
    import logging

    from vidsr.config import UpscaleOptions
    from vidsr.media.probe import probe
    from vidsr.models import load_model
    from vidsr.pipeline import plan_memory
    from vidsr.reuse.regions import held_bytes

    src = clip_factory("plan640.mp4", width=640, height=360, frames=2, audio=False)
    info = probe(str(src))
    up = load_model("vidsr-bi-x4", device="cpu", precision="fp32")

    def frames_mb(reuse: str) -> int:
        caplog.clear()
        options = UpscaleOptions.of(model="vidsr-bi-x4", max_memory=16 << 30, reuse=reuse)
        with caplog.at_level(logging.INFO, logger="vidsr.pipeline"):
            plan_memory(options, up, info, 1440, 2560)
        line = next(r.getMessage() for r in caplog.records if "memory plan" in r.getMessage())
        return int(line.split("frames and stages ")[1].split("M")[0])

    expected = held_bytes(640 * 360, 2560 * 1440) >> 20
    assert expected > 40
    assert abs(frames_mb("0") - frames_mb("off") - expected) <= 1


def test_the_plan_counts_what_the_encoder_holds(clip_factory, tmp_path, monkeypatch):
    """--max-memory did not count the video encoder's look-ahead (libx264 medium holds about
    580 MB at 2560x1440): the run's plan now passes ``encoder_bytes`` for its codec, preset and
    output size to the memory plan, which adds them to what it budgets."""
    import vidsr.pipeline.plan as plan
    from vidsr import upscale
    from vidsr.media.encoders import encoder_bytes

    seen: list[int] = []
    real = plan.plan_memory

    def spy(*args, encoder: int = 0, **kwargs):
        seen.append(encoder)
        return real(*args, encoder=encoder, **kwargs)

    monkeypatch.setattr(plan, "plan_memory", spy)
    src = clip_factory("enc_plan.mp4", width=160, height=90, frames=2, audio=False)
    upscale(str(src), str(tmp_path / "out.mp4"), model="bicubic", preset="veryfast",
            max_memory=4 << 30)  # fmt: skip
    assert seen == [encoder_bytes("libx264", "veryfast", 640, 360)]
    assert encoder_bytes("libx264", "veryfast", 640, 360) < encoder_bytes(
        "libx264", "medium", 640, 360
    )
