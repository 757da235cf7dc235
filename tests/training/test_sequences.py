"""training/sequences.py: sequences from still images by known motion, for multi-frame models."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from vidsr.errors import InvalidOptionError
from vidsr.quality.pictures import list_images, load_rgb
from vidsr.quality.resize import bicubic_lr, quantize
from vidsr.temporal.align import NeighbourAligner
from vidsr.training.sequences import (
    Motion,
    SequenceSampler,
    clip_sequence,
    evaluate_sequences,
    load_clip,
    make_sequence,
    network_input,
)

PAN_ONLY = Motion(pan=0.0, zoom=0.0, rotation=0.0, elastic=0.0, occluder=0.0)


@pytest.fixture
def photo(shared_data) -> torch.Tensor:
    return load_rgb(list_images([shared_data / "train" / "BSD68"])[0])


def test_current_frame_is_the_image_and_its_lr_the_benchmark_lr(photo) -> None:
    """Offset 0 is the identity warp (no occluder): the target is the image's own pixels."""
    g = torch.Generator().manual_seed(0)
    hr, lr = make_sequence(photo, 4, None, 1, g, Motion(occluder=0.0))
    h, w = hr.shape[-2:]
    assert torch.equal(hr[1], quantize(photo[:, :h, :w]))
    assert torch.equal(lr[1], bicubic_lr(hr[1], 4))
    assert not torch.equal(hr[0], hr[1]) and not torch.equal(hr[2], hr[1])


@pytest.mark.parametrize("seed", [1, 2])
def test_a_known_pan_is_what_the_alignment_finds(photo, seed) -> None:
    """A pure pan of random sub-pixel speed v (LR px per frame): frame t = +-1 shows at p the
    image point p + v t (the camera moves by v), so the current frame's point p is at p - v t
    in frame t: the flow on the LR frames finds -v t within 0.06 LR px (median, inner crop)."""
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(seed)
    motion = Motion(pan=2.5, zoom=0.0, rotation=0.0, elastic=0.0, occluder=0.0)
    state = g.get_state()
    _, lr = make_sequence(photo, 4, (192, 192), 1, g, motion)
    g.set_state(state)  # the same draws again, to read the pan the sequence used
    torch.randint(2, (1,), generator=g), torch.randint(2, (1,), generator=g)
    torch.rand((2, 4, 4), generator=g, dtype=torch.float64)
    pan = (-2.5 + 5.0 * torch.rand((2,), generator=g, dtype=torch.float64)).numpy()
    found = NeighbourAligner().align(lr[1], torch.stack([lr[0], lr[2]]))
    for k, t in enumerate((-1, 1)):
        inner = found.flow[k][6:-6, 6:-6]
        med = np.median(inner.reshape(-1, 2), axis=0)
        assert np.abs(med + pan * t).max() < 0.06, (med, -pan * t)


def test_sampler_is_seeded_and_resumable(photo) -> None:
    a = SequenceSampler([photo], 4, 64, 2, seed=5)
    b = SequenceSampler([photo], 4, 64, 2, seed=5)
    x, y = a.batch(2)
    assert x.shape == (2, 11, 16, 16) and y.shape == (2, 3, 64, 64)
    state = a.state_dict()
    x2, _ = a.batch(1)
    b.load_state_dict(state)
    assert torch.equal(b.batch(1)[0], x2)
    trust = x[:, 9:]
    assert float(trust.min()) >= 0.0 and float(trust.max()) <= 1.0


def test_bad_sizes_are_refused(photo) -> None:
    with pytest.raises(InvalidOptionError, match="neighbours"):
        SequenceSampler([photo], 4, 64, 3)
    with pytest.raises(InvalidOptionError, match="at least"):
        SequenceSampler([photo[:, :32, :32]], 4, 64, 2)


def test_evaluation_sequences_are_fixed(photo) -> None:
    """The same seed gives the same sequences, so scores of two models compare."""
    images = [("photo", photo[:, :96, :96])]

    def nearest(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.interpolate(x[:, :3], scale_factor=4, mode="nearest")

    one = evaluate_sequences(nearest, images, 4, 2, per_image=2)
    two = evaluate_sequences(nearest, images, 4, 2, per_image=2)
    assert [r["name"] for r in one["rows"]] == ["photo#0", "photo#1"]
    assert one == two
    x = network_input(make_sequence(photo, 4, (64, 64), 1, torch.Generator())[1], 1,
                      NeighbourAligner())  # fmt: skip
    assert x.shape == (11, 16, 16)


def _undo_dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The inverse of :func:`vidsr.training.data.dihedral`."""
    if k & 1:
        x = x.flip(-2)
    if k & 2:
        x = x.flip(-1)
    if k & 4:
        x = x.transpose(-1, -2)
    return x


def test_sequences_cut_from_a_real_clip(shared_data, photo) -> None:
    """Ground truth from a real video: consecutive frames, one crop, MATLAB bicubic LR; the
    sampler mixes them in at its clip share, with the neighbours aligned and trusted."""
    clip = load_clip(shared_data / "clips" / "chaplin_h264_mp3_640x360.mp4", 8)
    assert clip.shape == (8, 3, 360, 640) and clip.dtype == torch.uint8
    g = torch.Generator().manual_seed(2)
    hr, lr = clip_sequence(clip, 4, 64, 1, g)
    assert hr.shape == (3, 3, 64, 64) and lr.shape == (3, 3, 16, 16)
    assert torch.equal(lr[1], bicubic_lr(hr[1], 4))
    # the three frames are consecutive frames of the clip, cut at one place (up to one of the
    # eight flips/turns): find the first by template matching, then check all three exactly
    places = []
    for k in range(8):
        first = _undo_dihedral(hr[0], k)
        for t in range(6):
            frame = clip[t].permute(1, 2, 0).numpy()
            patch = (first.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            score = cv2.matchTemplate(frame, patch, cv2.TM_SQDIFF)
            y, x = np.unravel_index(int(score.argmin()), score.shape)
            if score[y, x] == 0:
                places.append((k, t, y, x))
    assert places, "the sequence's first frame is nowhere in the clip"
    assert any(
        all(
            torch.equal(_undo_dihedral(hr[i], k), clip[t + i, :, y : y + 64, x : x + 64] / 255.0)
            for i in range(3)
        )
        for k, t, y, x in places
    )
    sampler = SequenceSampler([photo], 4, 64, 2, seed=3, clips=[clip], clip_share=1.0)
    x, y = sampler.batch(3)
    assert x.shape == (3, 11, 16, 16) and y.shape == (3, 3, 64, 64)
    for i in range(3):
        assert torch.equal(x[i, :3], bicubic_lr(y[i], 4))
    inside = x[:, 9:, 3:-3, 3:-3].mean(dim=(1, 2, 3))  # the rim is 0: the warp leaves the crop
    assert float(inside.max()) > 0.5 and float(x[:, 9:].min()) >= 0.0, inside
    with pytest.raises(InvalidOptionError, match="clip_share"):
        SequenceSampler([photo], 4, 64, 2, clip_share=0.5)
    with pytest.raises(InvalidOptionError, match="holds no"):
        clip_sequence(clip[:2], 4, 64, 2, g)
