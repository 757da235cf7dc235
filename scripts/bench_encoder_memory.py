"""Memory, bit rate and fidelity of the video encoder at a large output size, per setting.

    python scripts/bench_encoder_memory.py CLIP [--size 2560x1440] [--frames 80]
        [--config NAME=CODEC:PRESET[:x264-params]] ...

Each config runs in its own child process: the first ``--frames`` frames of CLIP, enlarged to
``--size`` by swscale's bicubic (no model, so only the encoder differs between configs), are
encoded at vidsr's default CRF with the options vidsr passes for that codec and preset
(``vidsr.media.encoders.encoder_options``, plus ``x264-params`` when given). The child reports
its peak resident memory (``VmHWM``) once the encoder is closed, the output's bit rate, and the
mean Y-PSNR of the decoded output against the frames it was given. A config named ``null``
decodes and enlarges without encoding: its peak is what the others' peaks are measured from
(``encoder MB``). ``vidsr.media.encoders.encoder_bytes`` is fitted to these numbers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_CONFIGS = [
    "null=none:none",
    "medium=libx264:medium",
    "medium-la20=libx264:medium:rc-lookahead=20",
    "medium-la10=libx264:medium:rc-lookahead=10",
    "faster=libx264:faster",
]

CHILD = r"""
import json, sys
import av, numpy as np
from vidsr.media.encoders import encoder_options
from vidsr.process import status_kb
clip, out, width, height, frames, codec, preset, params, crf = sys.argv[1:10]
width, height, frames, crf = int(width), int(height), int(frames), int(crf)

def source():
    with av.open(clip) as inp:
        for i, frame in enumerate(inp.decode(video=0)):
            if i == frames:
                return
            yield frame.reformat(width, height, "yuv420p", interpolation="BICUBIC")

base = status_kb("VmRSS")
rate = None
if codec != "none":
    container = av.open(out, "w")
    stream = container.add_stream(codec, rate=25)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    private = {o.name for o in stream.codec_context.supported_options.private}
    options = encoder_options(codec, crf, preset, private)
    if params:
        options["x264-params"] = params
    stream.codec_context.options = options
count = 0
for frame in source():
    count += 1
    if codec != "none":
        frame.pts = None
        container.mux(stream.encode(frame))
if codec != "none":
    container.mux(stream.encode(None))
    container.close()
peak = status_kb("VmHWM")
psnr = []
if codec != "none":
    with av.open(out) as decoded:
        rate = decoded.bit_rate
        for ref, got in zip(source(), decoded.decode(video=0)):
            a = ref.to_ndarray()[:height].astype(np.float64)
            b = got.to_ndarray()[:height].astype(np.float64)
            mse = np.mean((a - b) ** 2)
            psnr.append(10 * np.log10(255**2 / mse))
print(json.dumps({"frames": count, "base_kb": base, "peak_kb": peak, "bit_rate": rate,
                  "psnr_y": float(np.mean(psnr)) if psnr else None}))
"""


def run_config(clip: str, out: Path, size: tuple[int, int], frames: int, config: str) -> dict:
    """One child process for ``config`` (``CODEC:PRESET[:x264-params]``)."""
    codec, preset, *rest = config.split(":", 2)
    params = rest[0] if rest else ""
    cmd = [sys.executable, "-c", CHILD, clip, str(out), str(size[0]), str(size[1]), str(frames)]
    cmd += [codec, preset, params, "18"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip")
    parser.add_argument("--size", default="2560x1440")
    parser.add_argument("--frames", type=int, default=80)
    parser.add_argument("--config", action="append", help="NAME=CODEC:PRESET[:x264-params]")
    opts = parser.parse_args()
    width, height = (int(v) for v in opts.size.split("x"))
    configs = [c.partition("=")[::2] for c in (opts.config or DEFAULT_CONFIGS)]
    null_peak = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in configs:
            row = run_config(
                opts.clip, Path(tmp) / f"{name}.mp4", (width, height), opts.frames, config
            )
            if config.startswith("none"):
                null_peak = row["peak_kb"]
            encoder = (row["peak_kb"] - null_peak) / 1024 if null_peak is not None else None
            quality = ""
            if row["bit_rate"]:
                quality = f"  {row['bit_rate'] / 1e6:7.2f} Mb/s  Y-PSNR {row['psnr_y']:.3f} dB"
            shown = f"{encoder:6.0f}" if encoder is not None else "     ?"
            print(
                f"{name:>14} {width}x{height} {row['frames']} frames: peak"
                f" {row['peak_kb'] / 1024:6.0f} MB, encoder {shown} MB{quality}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
