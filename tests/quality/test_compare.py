"""vidsr.quality.compare: layout sizes, the divider, enlarged crops, saving."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vidsr.errors import InvalidOptionError
from vidsr.quality.compare import (
    compare,
    compare_upscale,
    read_picture,
    save_compare,
    upscale_nearest,
)


def _pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return a, 255 - a


def test_side_by_side_with_crops_has_the_documented_size(tmp_path) -> None:
    a, b = _pair()
    # panel 2*64 + 8 = 136 wide; crops of 12 px, 2 pairs -> tile (136 - 3*8) // 4 = 28.
    img = compare(a, b, "side", crops=2)
    assert img.size == (136, 48 + 8 + 28)
    path = save_compare(img, tmp_path / "cmp.png")
    with Image.open(path) as back:
        assert back.size == (136, 84) and back.format == "PNG"
    arr = np.asarray(img)
    assert np.array_equal(arr[:48, :64], a) and np.array_equal(arr[:48, 72:136], b)


def test_split_has_a_divider_and_both_halves() -> None:
    a, b = _pair()
    img = np.asarray(compare(a, b, "split", split=0.25, crops=0))
    assert img.shape == (48, 64, 3)
    assert np.array_equal(img[:, :10], a[:, :10]) and np.array_equal(img[:, 20:], b[:, 20:])
    assert (img[:, 15:17] == 255).all()


def test_crops_are_enlarged_with_nearest_neighbour() -> None:
    a, b = _pair()
    img = np.asarray(compare(a, b, "split", crops=1, crop=8, centres=[(4, 4)]))
    tile = (64 - 8) // 2
    assert img.shape == (48 + 8 + tile, 64, 3)
    # The first tile is a[0:8, 0:8] enlarged 3.5x: its top-left pixel is a[0, 0].
    assert np.array_equal(img[56, 0], a[0, 0])


def test_size_mismatch_and_bad_mode_are_refused() -> None:
    a, b = _pair()
    with pytest.raises(ValueError, match="differ in size") as caught:  # a caller's bug
        compare(a, b[:40])
    assert not isinstance(caught.value, InvalidOptionError)
    with pytest.raises(InvalidOptionError):
        compare(a, b, "diagonal")  # type: ignore[arg-type]


def test_compare_upscale_runs_a_model_on_a_picture() -> None:
    a, _ = _pair()
    img = compare_upscale(a, lambda x: torch.nn.functional.interpolate(x, scale_factor=2), 2)
    assert img.size == (2 * 128 + 8, 96 + 8 + (264 - 24) // 4)
    assert upscale_nearest(a, 2).shape == (96, 128, 3)


def test_read_picture_from_an_image(tmp_path) -> None:
    a, _ = _pair()
    Image.fromarray(a).save(tmp_path / "a.png")
    assert np.array_equal(read_picture(tmp_path / "a.png"), a)


def test_compare_file_writes_a_png_of_the_expected_size(tmp_path) -> None:
    from vidsr.config import ModelOptions
    from vidsr.quality.compare import compare_file

    a, _ = _pair()
    Image.fromarray(a).save(tmp_path / "in.png")
    out = compare_file(
        tmp_path / "in.png", tmp_path / "out.png", ModelOptions("bicubic"), mode="split", crops=0
    )
    with Image.open(out) as img:
        assert img.size == (4 * 64, 4 * 48)


def test_read_picture_from_a_real_video(shared_data) -> None:
    clip = shared_data / "clips" / "chaplin_h264_mp3_640x360.mp4"
    frame = read_picture(clip, 1.0)
    assert frame.shape == (360, 640, 3) and frame.dtype == np.uint8
    # Black-and-white film: the BT.601/709 conversion must keep R, G and B nearly equal.
    spread = frame.astype(int).max(axis=2) - frame.astype(int).min(axis=2)
    assert np.percentile(spread, 99) <= 8


def test_read_picture_from_raw_video_and_a_broken_image(tmp_path) -> None:
    """Regression: a raw .yuv fell to PIL ("unexpected error: UnidentifiedImageError"); any
    non-image now opens as vidsr opens inputs, and a broken image is a CorruptInputError."""
    import av

    from vidsr.errors import CorruptInputError

    y, x = np.mgrid[0:48, 0:64]
    a = np.dstack([x * 4, y * 5, 255 - x * 2]).astype(np.uint8)  # smooth: 4:2:0 keeps it
    yuv = av.VideoFrame.from_ndarray(a, "rgb24").reformat(format="yuv420p", dst_colorspace=5)
    raw = tmp_path / f"clip_{a.shape[1]}x{a.shape[0]}.yuv"
    raw.write_bytes(yuv.to_ndarray().tobytes())
    got = read_picture(raw)
    assert got.shape == a.shape
    assert np.abs(got.astype(int) - a.astype(int)).mean() < 2
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(CorruptInputError, match="cannot read the image"):
        read_picture(tmp_path / "broken.png")


def test_untagged_960x640_frame_is_read_with_the_pipelines_guess(clip_factory) -> None:
    """Regression: compare guessed BT.709 from height >= 720, the pipeline (media/formats) from
    width >= 1280 or height > 576, so an untagged 960x640 frame was BT.709 in the output and
    BT.601 in its before/after picture. Both now take media/formats' guess."""
    import av

    from vidsr.media.probe import probe

    clip = clip_factory("untagged.mp4", width=960, height=640, frames=1, audio=False, colorspace=2)
    assert probe(str(clip)).video.color.guessed
    assert probe(str(clip)).video.color.matrix == "bt709"
    with av.open(str(clip)) as container:
        frame = next(container.decode(video=0))
        as_709 = frame.reformat(format="rgb24", src_colorspace=1, src_color_range=1).to_ndarray()
        as_601 = frame.reformat(format="rgb24", src_colorspace=5, src_color_range=1).to_ndarray()
    assert not np.array_equal(as_709, as_601)
    assert np.array_equal(read_picture(clip), as_709)
