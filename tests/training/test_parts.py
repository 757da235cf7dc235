"""Degradations, losses, init from other weights, configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vidsr.errors import InvalidOptionError, ModelWeightsError
from vidsr.training.arch import build_model, load_matching
from vidsr.training.config import config_from_dict, load_config
from vidsr.training.data import CropSampler, dihedral
from vidsr.training.degrade import RestoreChain, gaussian_blur, h264, jpeg
from vidsr.training.losses import CombinedLoss, fft_l1

from .conftest import REPO, smooth_image


def test_jpeg_and_h264_change_pixels_but_not_shape() -> None:
    img = smooth_image(0, 48, 48)
    for out in (jpeg(img, 10), h264(img, 40)):
        assert out.shape == img.shape
        err = (out - img).abs().mean()
        assert 0.002 < err < 0.2
    assert (jpeg(img, 95) - img).abs().mean() < (jpeg(img, 10) - img).abs().mean()


def test_blur_keeps_mean_and_smooths() -> None:
    img = smooth_image(1, 32, 32)
    out = gaussian_blur(img, 1.0)
    assert out.shape == img.shape
    assert abs(float(out.mean() - img.mean())) < 0.01
    assert out.diff(dim=-1).abs().mean() < img.diff(dim=-1).abs().mean()


def test_restore_chain_is_seeded_and_scales() -> None:
    hr = smooth_image(2, 64, 64)
    chain = RestoreChain(4)
    a = chain(hr, torch.Generator().manual_seed(5))
    b = chain(hr, torch.Generator().manual_seed(5))
    assert a.shape == (3, 16, 16)
    assert torch.equal(a, b)


def test_sampler_pairs_are_aligned(tiny_images) -> None:
    sampler = CropSampler(tiny_images, 2, 16, seed=0)
    lr, hr = sampler.batch(3)
    assert lr.shape == (3, 3, 8, 8) and hr.shape == (3, 3, 16, 16)
    # The LR of a crop is close to the HR crop averaged 2x2 (bicubic is near-local).
    pooled = torch.nn.functional.avg_pool2d(hr, 2)
    assert (pooled - lr)[..., 2:-2, 2:-2].abs().mean() < 0.03
    assert all(torch.equal(dihedral(dihedral(hr, k), k), hr) for k in (0, 1, 2, 3))
    with pytest.raises(InvalidOptionError):
        CropSampler(tiny_images, 4, 30)


def test_losses_and_random_vgg_perceptual_path() -> None:
    pred = torch.rand(2, 3, 32, 32, requires_grad=True)
    target = torch.rand(2, 3, 32, 32)
    assert float(fft_l1(target, target)) == 0.0
    loss = CombinedLoss("charbonnier", fft_weight=0.1, perceptual_weight=0.01)(pred, target)
    loss.backward()
    assert torch.isfinite(loss) and pred.grad is not None and pred.grad.abs().sum() > 0
    with pytest.raises(ModelWeightsError):
        CombinedLoss(perceptual_weight=1.0, vgg_weights="/nonexistent/vgg19.pth")


def test_l2_pixel_loss_is_the_mean_squared_error() -> None:
    target = torch.zeros(1, 3, 4, 4)
    pred = target.clone()
    pred[0, 0, 0, 0] = 0.5  # one pixel off by 0.5 among 48
    assert float(CombinedLoss("l2")(pred, target)) == pytest.approx(0.25 / 48)
    assert float(CombinedLoss("l1")(pred, target)) == pytest.approx(0.5 / 48)
    with pytest.raises(ModelWeightsError):
        CombinedLoss("l3")
    with pytest.raises(InvalidOptionError):
        config_from_dict({"name": "x", "scale": 4, "pixel_loss": "mse"})
    with pytest.raises(InvalidOptionError):
        config_from_dict({"name": "x", "scale": 4, "ema_decay": 1.0})


def test_x2_network_starts_from_an_x4_body() -> None:
    params = {"num_feat": 8, "num_conv": 2}
    x4, x2 = build_model("SRVGGNetCompact", 4, params), build_model("SRVGGNetCompact", 2, params)
    skipped = load_matching(x2, x4.state_dict())
    last = f"body.{len(x2.body) - 1}"
    assert skipped == [f"{last}.bias", f"{last}.weight"]
    assert torch.equal(x2.state_dict()["body.0.weight"], x4.state_dict()["body.0.weight"])


def test_shipped_training_configs_parse() -> None:
    paths = sorted((REPO / "configs" / "train").glob("*.yaml"))
    assert paths
    for path in paths:
        cfg = load_config(path, base=REPO)
        assert cfg.name == path.stem
        assert all(Path(d).is_absolute() for d in cfg.train_dirs)
        assert not any("eval" in Path(d).parts for d in cfg.train_dirs)


def test_unknown_config_key_is_refused() -> None:
    with pytest.raises(InvalidOptionError):
        config_from_dict({"name": "x", "scale": 4, "stpes": 10})


def test_an_unreadable_image_is_a_corrupt_input_error(tmp_path) -> None:
    """Regression: `vidsr eval` on a folder with a broken PNG died with an unexpected error."""
    from vidsr.errors import CorruptInputError
    from vidsr.quality.pictures import load_rgb

    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(CorruptInputError, match="cannot read the image"):
        load_rgb(tmp_path / "broken.png")


def test_init_weights_saved_from_data_parallel_load(tmp_path: Path) -> None:
    """Regression: training canonicalised weights on its own and kept ``module.`` prefixes, so a
    checkpoint saved from DataParallel fitted no tensor; it now shares models/weights.py's."""
    from vidsr.training.init import initial_state_dict

    net = build_model("SRVGGNetCompact", 2, {"num_feat": 4, "num_conv": 1})
    path = tmp_path / "dp.pth"
    torch.save({"params": {f"module.{k}": v for k, v in net.state_dict().items()}}, path)
    state = initial_state_dict(str(path))
    assert set(state) == set(net.state_dict())
    fresh = build_model("SRVGGNetCompact", 2, {"num_feat": 4, "num_conv": 1})
    assert load_matching(fresh, state) == []
