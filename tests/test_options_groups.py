"""UpscaleOptions in groups (issue 13): the flat keywords of the CLI and ``vidsr.upscale`` map
onto the groups and back, each value is checked by the group that owns it, and the CLI builds
the same options as the flat keywords."""

from fractions import Fraction

import pytest

from vidsr.cli import build_parser
from vidsr.cli.upscale import options_from_args
from vidsr.config import (
    DecodeOptions,
    EncodeOptions,
    ModelOptions,
    TemporalOptions,
    UpscaleOptions,
    WindowOptions,
)
from vidsr.errors import InvalidOptionError

FLAT = {
    "model": "bicubic", "scale": 2, "tile": 64, "device": "cpu", "precision": "fp32",
    "compile": "off", "batch_size": 2, "codec": "libx265", "crf": 22, "preset": "slow",
    "pix_fmt": "yuv420p10le", "temporal": "high", "lookahead": 1, "start": 1.5,
    "duration": 3.0, "fps": Fraction(24000, 1001), "deblock": "off", "deinterlace": "off",
    "apply_rotation": True, "max_memory": 1 << 30, "reuse": "0",
}  # fmt: skip


def test_flat_keywords_fill_the_groups_and_come_back():
    options = UpscaleOptions.of(**FLAT)
    assert options.model == ModelOptions("bicubic", 2, 64, "cpu", "fp32", "off", 2)
    assert options.encode == EncodeOptions("libx265", 22, "slow", "yuv420p10le")
    assert options.temporal == TemporalOptions("high", 1)
    assert options.window == WindowOptions(1.5, 3.0, Fraction(24000, 1001))
    assert options.decode == DecodeOptions("off", "off", True)
    assert (options.max_memory, options.reuse) == (1 << 30, "0")
    assert options.flat() == FLAT
    assert UpscaleOptions.of() == UpscaleOptions()
    assert (
        options.changed(crf=30).encode.crf == 30 and options.changed(crf=30).model == options.model
    )


def test_an_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="'sharpness'"):
        UpscaleOptions.of(sharpness=3)


@pytest.mark.parametrize(
    ("group", "fields", "message"),
    [
        (ModelOptions, {"tile": 8}, "--tile must be 0"),
        (ModelOptions, {"scale": 20}, "--scale"),
        (EncodeOptions, {"crf": 99}, "--crf"),
        (TemporalOptions, {"level": "loud"}, "temporal"),
        (TemporalOptions, {"lookahead": 9}, "--lookahead"),
        (WindowOptions, {"start": -1}, "--start"),
        (DecodeOptions, {"deblock": "much"}, "deblock"),
    ],
)
def test_each_group_checks_its_own_values(group, fields, message):
    with pytest.raises(InvalidOptionError, match=message):
        group(**fields)


def test_a_group_of_the_wrong_kind_is_refused():
    with pytest.raises(InvalidOptionError, match="encode must be EncodeOptions"):
        UpscaleOptions(encode=TemporalOptions())


def test_the_cli_builds_what_the_flat_keywords_build():
    args = build_parser().parse_args(
        ["upscale", "in.mp4", "-m", "bicubic", "-s", "2", "--tile", "64", "--device", "cpu",
         "--precision", "fp32", "--compile", "off", "--batch", "2", "--codec", "libx265",
         "--crf", "22", "--preset", "slow", "--pix-fmt", "yuv420p10le", "--temporal", "high",
         "--lookahead", "1", "--start", "1.5", "--duration", "3", "--fps", "24000/1001",
         "--deblock", "off", "--deinterlace", "off", "--apply-rotation", "--max-memory", "1G",
         "--reuse", "0"]
    )  # fmt: skip
    assert options_from_args(args) == UpscaleOptions.of(**FLAT)
    defaults = build_parser().parse_args(["upscale", "in.mp4"])
    assert options_from_args(defaults) == UpscaleOptions()
