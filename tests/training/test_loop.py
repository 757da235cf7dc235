"""The training loop: loss falls on tiny data; a checkpoint resumes to exactly the same state."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from vidsr.errors import InvalidOptionError
from vidsr.models.weights import canonicalize_state_dict
from vidsr.training.config import TrainConfig, config_from_dict
from vidsr.training.loop import Trainer, lr_at

TINY = {"num_feat": 8, "num_conv": 2, "act_type": "prelu"}


def _cfg(tmp_path, **kw) -> TrainConfig:
    base = dict(
        name="tiny",
        scale=2,
        params=TINY,
        hr_crop=32,
        batch_size=4,
        steps=40,
        lr=2e-3,
        lr_min=2e-3,
        val_every=0,
        ckpt_every=0,
        out_dir=str(tmp_path),
        seed=3,
    )
    base.update(kw)
    return TrainConfig(**base)


def test_loss_falls(tmp_path, tiny_images) -> None:
    trainer = Trainer(_cfg(tmp_path), images=tiny_images, device=torch.device("cpu"))
    losses = [trainer.train_step() for _ in range(40)]
    assert sum(losses[-8:]) / 8 < 0.7 * sum(losses[:8]) / 8


def test_run_writes_weights_config_and_log(tmp_path, tiny_images) -> None:
    cfg = _cfg(tmp_path, steps=10, ckpt_every=5)
    result = Trainer(cfg, images=tiny_images, device=torch.device("cpu")).run()
    out = tmp_path / "tiny"
    assert result.weights == out / "tiny.pth" and result.weights.is_file()
    assert (out / "config.yaml").is_file() and (out / "checkpoint.pt").is_file()
    saved = torch.load(result.weights, weights_only=True)["params"]
    assert saved["body.0.weight"].dtype == torch.float32
    assert result.steps == 10 and len(result.sha256) == 64
    assert all("loss" in json.loads(line) for line in (out / "log.jsonl").read_text().splitlines())


def test_checkpoint_resume_reproduces_the_same_state(tmp_path, tiny_images) -> None:
    """Six straight steps == three steps, checkpoint, fresh trainer, resume, three steps.

    Uses the restore degradation so the sampler's random JPEG/H.264 draws are covered too, and
    an EMA of the weights, which the checkpoint must carry.
    """
    cfg = _cfg(tmp_path, steps=6, degradation="restore", ckpt_every=3, ema_decay=0.9)
    straight = Trainer(cfg, images=tiny_images, device=torch.device("cpu"))
    for _ in range(6):
        straight.train_step()

    first = Trainer(
        dataclasses.replace(cfg, steps=3), images=tiny_images, device=torch.device("cpu")
    )
    first.run()
    second = Trainer(cfg, images=tiny_images, device=torch.device("cpu"))
    second.resume(tmp_path / "tiny" / "checkpoint.pt")
    assert second.step == 3
    for _ in range(3):
        second.train_step()

    a, b = straight.model.state_dict(), second.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    sa, sb = straight.opt.state_dict()["state"], second.opt.state_dict()["state"]
    assert all(torch.equal(sa[i]["exp_avg"], sb[i]["exp_avg"]) for i in sa)
    ea, eb = straight.ema.module.state_dict(), second.ema.module.state_dict()
    assert all(torch.equal(ea[k], eb[k]) for k in ea)
    assert not torch.equal(ea["body.0.weight"], a["body.0.weight"])  # the EMA lags the weights


def test_ema_averages_the_weights_and_is_what_gets_saved(tmp_path, tiny_images) -> None:
    cfg = _cfg(tmp_path, steps=2, ema_decay=0.75)
    trainer = Trainer(cfg, images=tiny_images, device=torch.device("cpu"))
    w0 = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train_step()
    w1 = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    ema = trainer.ema.module.state_dict()
    for k in w0:
        assert torch.allclose(ema[k], 0.75 * w0[k] + 0.25 * w1[k], atol=1e-7), k
    result = trainer.run()
    saved = torch.load(result.weights, weights_only=True)
    assert set(saved) == {"params", "params_ema"}
    raw, avg = trainer.model.state_dict(), trainer.ema.module.state_dict()
    assert all(torch.equal(saved["params"][k], raw[k]) for k in raw)
    assert all(torch.equal(saved["params_ema"][k], avg[k]) for k in avg)
    assert torch.equal(canonicalize_state_dict(saved)["body.0.weight"], avg["body.0.weight"])
    # Off by default: no EMA kept, only params saved.
    plain = Trainer(_cfg(tmp_path, name="plain", steps=1), images=tiny_images)
    assert plain.ema is None
    assert set(torch.load(plain.run().weights, weights_only=True)) == {"params"}


def test_cosine_schedule_ends_at_lr_min(tmp_path) -> None:
    cfg = _cfg(tmp_path, steps=100, lr=1e-3, lr_min=1e-5, warmup_steps=10)
    assert lr_at(cfg, 0) == 1e-4
    assert abs(lr_at(cfg, 10) - 1e-3) < 1e-12
    assert abs(lr_at(cfg, 100) - 1e-5) < 1e-12
    assert lr_at(cfg, 50) > lr_at(cfg, 80)


def test_multi_frame_network_trains_on_sequences_from_per_frame_weights(
    tmp_path, tiny_images
) -> None:
    """MultiFrameSRVGG started from per-frame weights: those load, the neighbour convolution
    starts at zero and learns at ``new_lr_scale`` times the rate, on generated sequences."""
    torch.set_num_threads(1)
    per_frame = Trainer(_cfg(tmp_path, name="single"), images=tiny_images).model
    init = tmp_path / "single.pth"
    torch.save({"params": per_frame.state_dict()}, init)
    cfg = _cfg(
        tmp_path,
        arch="MultiFrameSRVGG",
        params={**TINY, "num_neighbours": 2},
        init=str(init),
        new_lr_scale=5.0,
        lr=1e-3,
        lr_min=1e-3,
        batch_size=2,
    )
    trainer = Trainer(cfg, images=tiny_images, device=torch.device("cpu"))
    model = trainer.model
    assert torch.equal(model.body[0].weight, per_frame.body[0].weight)
    assert float(model.neighbours.weight.detach().abs().max()) == 0.0
    x, hr = trainer.sampler.batch(1)
    assert x.shape == (1, 3 + 4 * 2, 16, 16) and hr.shape == (1, 3, 32, 32)
    for _ in range(2):
        trainer.train_step()
    assert [g["lr"] for g in trainer.opt.param_groups] == [1e-3, 5e-3]
    assert float(model.neighbours.weight.detach().abs().max()) > 0.0


def test_freeze_init_trains_only_what_the_init_lacked(tmp_path, tiny_images) -> None:
    torch.set_num_threads(1)
    per_frame = Trainer(_cfg(tmp_path, name="single"), images=tiny_images).model
    init = tmp_path / "single.pth"
    torch.save({"params": per_frame.state_dict()}, init)
    cfg = _cfg(
        tmp_path,
        arch="MultiFrameSRVGG",
        params={**TINY, "num_neighbours": 2},
        init=str(init),
        freeze_init=True,
        batch_size=2,
    )
    trainer = Trainer(cfg, images=tiny_images, device=torch.device("cpu"))
    for _ in range(2):
        trainer.train_step()
    trained = trainer.model.state_dict()
    assert all(torch.equal(trained[k], v) for k, v in per_frame.state_dict().items())
    assert float(trained["neighbours.weight"].abs().max()) > 0.0


def test_multi_frame_training_takes_real_clips(tmp_path, tiny_images, shared_data) -> None:
    """``train_clips`` with ``clip_share`` 1: every sample is cut from the clip's frames, the
    clip is listed in the run's data list, and a config without clips refuses a clip share."""
    torch.set_num_threads(1)
    clip = shared_data / "clips" / "foreman_vp9_352x288_30.webm"
    cfg = _cfg(
        tmp_path,
        name="clips",
        arch="MultiFrameSRVGG",
        params={**TINY, "num_neighbours": 2},
        train_clips=(str(clip),),
        clip_frames=6,
        clip_share=1.0,
        batch_size=2,
        steps=2,
    )
    trainer = Trainer(cfg, images=tiny_images, device=torch.device("cpu"))
    assert trainer.sampler.clips[0].shape == (6, 3, 288, 352)
    trainer.run()
    assert str(clip) in (tmp_path / "clips" / "data_list.txt").read_text("utf-8")
    again = config_from_dict(cfg.to_dict())
    assert again.train_clips == cfg.train_clips and again.clip_share == 1.0
    with pytest.raises(InvalidOptionError, match="clip_share"):
        _cfg(tmp_path, clip_share=0.5)
