"""The options' fingerprint and job digest are pinned: a job folder made by an earlier vidsr
resumes with the same settings (the digest names every segment file). Values computed before
the options were grouped (issue 13); the temporal stage's tuning digest, which changes on
purpose when the stage's defaults do, is replaced by a constant here."""

from fractions import Fraction

from vidsr.config import UpscaleOptions
from vidsr.jobs.manifest import job_digest, options_fingerprint

INPUT = {"name": "a.mp4", "size": 1234, "sha256": "ab" * 32}
PLAN = {"segment_seconds": 60.0, "preroll": 1.0, "postroll": 0.5}
EVERY_FIELD = UpscaleOptions.of(
    model="bicubic",
    scale=2,
    tile=64,
    device="cpu",
    precision="fp32",
    compile="off",
    batch_size=2,
    codec="libx265",
    crf=22,
    preset="slow",
    pix_fmt="yuv420p10le",
    start=1.5,
    duration=3.0,
    fps=Fraction(24000, 1001),
    temporal="high",
    lookahead=1,
    deblock="off",
    deinterlace="off",
    apply_rotation=True,
    max_memory=1 << 30,
    reuse="0",
)


def _pinned(options: UpscaleOptions) -> dict:
    fp = options_fingerprint(options, **PLAN)
    assert len(fp.pop("temporal_tuning")) > 0
    return fp


def test_default_options_keep_their_fingerprint_and_digest():
    fp = _pinned(UpscaleOptions())
    assert fp == {
        "model": "realesr-animevideov3", "scale": None, "tile": 0, "precision": "auto",
        "compile": "auto", "codec": "auto", "crf": 18, "preset": "medium", "pix_fmt": None,
        "start": 0.0, "duration": None, "fps": None, "temporal": "auto", "lookahead": 2,
        "deblock": "auto", "deinterlace": "auto", "apply_rotation": False, "max_memory": None,
        "reuse": "auto", **PLAN,
    }  # fmt: skip
    assert job_digest(INPUT, {**fp, "temporal_tuning": "pinned"}) == "87cbb844ad64"


def test_every_field_keeps_its_fingerprint_and_digest():
    """device and batch_size stay out (a job resumes on another device or batch)."""
    fp = _pinned(EVERY_FIELD)
    assert fp == {
        "model": "bicubic", "scale": 2, "tile": 64, "precision": "fp32", "compile": "off",
        "codec": "libx265", "crf": 22, "preset": "slow", "pix_fmt": "yuv420p10le",
        "start": 1.5, "duration": 3.0, "fps": "24000/1001", "temporal": "high", "lookahead": 1,
        "deblock": "off", "deinterlace": "off", "apply_rotation": True,
        "max_memory": 1073741824, "reuse": "0", **PLAN,
    }  # fmt: skip
    assert job_digest(INPUT, {**fp, "temporal_tuning": "pinned"}) == "3d2763f9b83a"
