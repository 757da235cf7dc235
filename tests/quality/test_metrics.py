"""Quality metrics against independent references (BasicSR, scikit-image) and known inputs."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from vidsr.errors import InvalidOptionError
from vidsr.quality import metrics


@pytest.fixture(scope="module")
def basicsr_metrics():
    """BasicSR's metrics; importing basicsr needs the torchvision shim (test-only here)."""
    import torchvision.transforms.functional as tvf

    sys.modules.setdefault("torchvision.transforms.functional_tensor", tvf)
    psnr_ssim = pytest.importorskip("basicsr.metrics.psnr_ssim")
    return psnr_ssim


def smooth_rgb(h: int, w: int, seed: int) -> np.ndarray:
    """A smooth random RGB texture as uint8, periodic so it can be rolled."""
    rng = np.random.default_rng(seed)
    spec = np.fft.fft2(rng.normal(size=(3, h, w)))
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    spec *= np.exp(-(fx**2 + fy**2) / (2 * 0.08**2))
    img = np.real(np.fft.ifft2(spec))
    img = (img - img.min()) / (img.max() - img.min())
    return np.round(img.transpose(1, 2, 0) * 220 + 15).astype(np.uint8)


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ref = smooth_rgb(48, 64, seed=1)
    img = np.clip(ref + rng.normal(0, 6, ref.shape), 0, 255).astype(np.uint8)
    return img, ref


@pytest.mark.parametrize("crop", [0, 4])
def test_psnr_ssim_match_basicsr(basicsr_metrics, pair, crop: int) -> None:
    img, ref = pair
    bgr_img, bgr_ref = img[..., ::-1].copy(), ref[..., ::-1].copy()  # BasicSR reads BGR
    want_psnr = basicsr_metrics.calculate_psnr(bgr_img, bgr_ref, crop, test_y_channel=True)
    want_ssim = basicsr_metrics.calculate_ssim(bgr_img, bgr_ref, crop, test_y_channel=True)
    assert metrics.psnr_y(img, ref, crop) == pytest.approx(
        want_psnr, abs=1e-5
    )  # BasicSR: float32 Y
    assert metrics.ssim_y(img, ref, crop) == pytest.approx(want_ssim, abs=1e-6)


def test_ssim_matches_scikit_image(pair) -> None:
    skm = pytest.importorskip("skimage.metrics")
    img, ref = pair
    a, b = metrics.rgb_to_y(img), metrics.rgb_to_y(ref)
    want = skm.structural_similarity(
        a, b, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert metrics.ssim_y(img, ref) == pytest.approx(want, abs=1e-6)


def test_y_is_bt601_studio_range() -> None:
    black, white = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 255, np.uint8)
    assert metrics.rgb_to_y(black) == pytest.approx(np.full((2, 2), 16.0))
    assert metrics.rgb_to_y(white) == pytest.approx(np.full((2, 2), 235.0), abs=1e-9)
    # float [0, 1], uint8 and a (3, H, W) tensor give the same Y
    img = smooth_rgb(8, 8, seed=2)
    tensor = torch.from_numpy(img).permute(2, 0, 1).float() / 255
    assert np.allclose(metrics.rgb_to_y(img), metrics.rgb_to_y(img / 255.0))
    assert np.allclose(metrics.rgb_to_y(img), metrics.rgb_to_y(tensor), atol=1e-4)


def test_identical_inputs(pair) -> None:
    _, ref = pair
    clip = [ref, ref, ref]
    assert metrics.psnr_y(ref, ref) == float("inf")
    assert metrics.ssim_y(ref, ref) == pytest.approx(1.0)
    assert metrics.flicker_error(clip, clip) == 0.0
    assert metrics.temporal_difference(clip) == 0.0
    assert metrics.warping_error(clip, metrics.estimate_motion(clip)) == 0.0
    assert metrics.tof(clip, clip) == 0.0


def test_size_mismatch_is_an_error(pair) -> None:
    img, ref = pair
    with pytest.raises(InvalidOptionError):
        metrics.psnr_y(img, ref[:-2])
    with pytest.raises(InvalidOptionError):
        metrics.psnr_y(img, ref, crop_border=-1)


def test_known_shift_gives_known_flow() -> None:
    base = smooth_rgb(64, 96, seed=3)
    clip = [base, np.roll(base, (2, 3), axis=(0, 1))]  # content moves 3 right, 2 down
    motion = metrics.estimate_motion(clip)
    inner = motion.flows[0][8:-8, 8:-8]
    assert np.median(inner[..., 0]) == pytest.approx(-3.0, abs=0.1)
    assert np.median(inner[..., 1]) == pytest.approx(-2.0, abs=0.1)
    assert motion.valid[0][8:-8, 8:-8].mean() > 0.95
    # frames that follow the motion exactly have (almost) no warping error
    assert metrics.warping_error(clip, motion) < 1.0
    # upscaled input motion: vectors and size scale with it
    up = metrics.estimate_motion(clip, scale=2)
    assert up.flows[0].shape == (128, 192, 2)
    assert np.median(up.flows[0][16:-16, 16:-16, 0]) == pytest.approx(-6.0, abs=0.2)


def test_warping_error_of_independent_noise_is_twice_its_variance() -> None:
    rng = np.random.default_rng(4)
    y = metrics.rgb_to_y(smooth_rgb(64, 96, seed=5))
    reference = [y] * 6  # Y planes (2-D) on 0..255
    noisy = [y + rng.normal(0, 3.0, y.shape) for _ in range(6)]
    err = metrics.warping_error(noisy, metrics.estimate_motion(reference))
    assert err == pytest.approx(2 * 3.0**2, rel=0.1)


def test_tof_of_a_frozen_output_is_the_motion() -> None:
    base = smooth_rgb(64, 96, seed=6)
    moving = [np.roll(base, 2 * t, axis=1) for t in range(4)]
    frozen = [base] * 4
    assert metrics.tof(frozen, moving) == pytest.approx(2.0, abs=0.4)
    assert metrics.tof(moving, moving) == 0.0


def test_flicker_error_of_alternating_offset() -> None:
    y = metrics.rgb_to_y(smooth_rgb(16, 16, seed=7))
    reference = [y] * 5
    output = [y + (4.0 if t % 2 else 0.0) for t in range(5)]
    assert metrics.flicker_error(output, reference) == pytest.approx(4.0)
    assert metrics.temporal_difference(output) == pytest.approx(4.0)


def test_blockiness() -> None:
    natural = smooth_rgb(64, 96, seed=8)
    assert 0.8 < metrics.blockiness(natural) < 1.2
    y = metrics.rgb_to_y(natural)
    blocks = y.reshape(8, 8, 12, 8).mean(axis=(1, 3), keepdims=True)
    blocky = np.broadcast_to(blocks, (8, 8, 12, 8)).reshape(64, 96) + 0.3 * (y - y.mean())
    assert metrics.blockiness(blocky) > 2.0
    assert metrics.blockiness(blocky, block=16) < metrics.blockiness(blocky, block=8)
    assert metrics.clip_blockiness([blocky, blocky]) == pytest.approx(metrics.blockiness(blocky))
    with pytest.raises(InvalidOptionError):
        metrics.blockiness(y, block=1)


def test_blockiness_ignores_the_upscaling_grid() -> None:
    """Nearest x4 upscaling steps at every 4th pixel; only the 32-grid matters, phase-matched."""
    y = metrics.rgb_to_y(smooth_rgb(32, 48, seed=9))
    up = np.kron(y, np.ones((4, 4)))
    assert metrics.blockiness(up, block=32) > 2.0  # every 4-pixel step looks like a border
    assert 0.8 < metrics.blockiness(up, block=32, scale=4) < 1.25
    with pytest.raises(InvalidOptionError):
        metrics.blockiness(up, block=30, scale=4)
