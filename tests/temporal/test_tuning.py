"""The tuning's digest and the candidates of issue 14 (measured, not the default): per-region
tolerance, structured error, occlusion from the neighbour's motion, the fade's gain (built on
FAITHFUL, the first fidelity-first tuning, as they were measured)."""

from __future__ import annotations

import dataclasses

import numpy as np

from vidsr.temporal import FAITHFUL, STEADY, Tuning
from vidsr.temporal.motion import Motion, occlusion
from vidsr.temporal.tuning import tuning_digest

LOCAL = dataclasses.replace(
    FAITHFUL, tau_min=20.0, detail_tau=5.0, tight_tau_min=8.0, tight_detail_tau=2.0
)
NO_FADE = {"fade_levels": 0.0}  # the test's error changes the mean: not a fade


def test_digest_follows_the_tuning() -> None:
    """A resumable job records the digest: this version's default (issue 14's fix) must not
    match the one jobs recorded before it (21a1d447df20d807, the loose tolerances), the earlier
    tunings differ from it, and every knob, inert ones included, changes it when used."""
    assert tuning_digest() == tuning_digest(Tuning()) == "205cef4bad958877"
    assert tuning_digest() not in {"21a1d447df20d807", tuning_digest(STEADY)}
    assert tuning_digest(FAITHFUL) not in {tuning_digest(), tuning_digest(STEADY)}
    assert tuning_digest(LOCAL) not in {tuning_digest(), tuning_digest(FAITHFUL)}
    assert tuning_digest(dataclasses.replace(LOCAL, moving_radius=1.0)) != tuning_digest(LOCAL)
    knobs = [{"struct_tau": 3.0}, {"occlusion_flow": 1.0}, {"recon_moving": 0.0},
             {"recon_fade": 0.0}, {"fade_gain": True}, {"recon_to_sr": True},
             {"recon_to_sr_unblended": False}, {"tau_noise": 2.0},
             {"recon_fade_sigma": 4.0}]  # fmt: skip
    digests = {tuning_digest(dataclasses.replace(Tuning(), **k)) for k in knobs}
    assert len(digests) == len(knobs) and tuning_digest() not in digests


def _pair(tuning: Tuning, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Base and detail confidence of a textured frame against a neighbour moved by ``shift``
    pixels (the flow given exactly) with 12 levels of error added on a quarter of it (between
    the tight tolerance, 8, and the loose one, 20; the median error, the noise level, stays 0).
    Returns the confidence there."""
    rng = np.random.default_rng(0)
    a = np.clip(rng.normal(128, 30, (64, 64)), 0, 255).astype(np.float32)
    a = (a + np.roll(a, 1, 0) + np.roll(a, 1, 1) + np.roll(a, 1, (0, 1))) / 4
    changed = np.zeros((64, 64), bool)
    changed[16:48, 16:48] = True
    n = np.roll(a + 12.0 * changed, round(shift), 1)
    flow = np.zeros((64, 64, 2), np.float32)
    flow[..., 0] = shift
    tuning = dataclasses.replace(tuning, **NO_FADE)
    pair = Motion(tuning).pair(a.astype(np.uint8), n.astype(np.uint8), flow, -flow)
    return pair.base[20:44, 20:44], pair.detail[20:44, 20:44]


def test_local_tolerance_is_tight_only_where_the_area_moves() -> None:
    """Still: the old (loose) tolerances; moving 4 px: FAITHFUL's tight ones."""
    still, moving = _pair(LOCAL, 0.0), _pair(LOCAL, 4.0)
    loose = _pair(dataclasses.replace(FAITHFUL, tau_min=20.0, detail_tau=5.0), 0.0)
    tight = _pair(FAITHFUL, 4.0)
    for got, want in zip(still, loose, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)
    for got, want in zip(moving, tight, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-3)
    assert float(still[0].mean()) > 2 * float(moving[0].mean())


def _textured(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = np.clip(rng.normal(128, 30, (64, 64)), 0, 255).astype(np.float32)
    return (a + np.roll(a, 1, 0) + np.roll(a, 1, 1) + np.roll(a, 1, (0, 1))) / 4


def test_structured_error_distrusts_an_offset_patch_not_noise() -> None:
    """Zero-mean noise of 6 levels passes the structured test (its window mean is under a
    level); a patch 10 levels brighter, inside the loose per-pixel tolerance, does not."""
    a = _textured()
    noise = np.random.default_rng(1).choice([-6.0, 6.0], a.shape)
    offset = np.zeros_like(a)
    offset[16:48, 16:48] = 10.0
    loose = dataclasses.replace(FAITHFUL, tau_min=20.0, detail_tau=5.0, **NO_FADE)
    struct = dataclasses.replace(loose, struct_tau=3.0, struct_radius=3.0)
    flow = np.zeros((64, 64, 2), np.float32)

    def base(tuning: Tuning, change: np.ndarray) -> float:
        n = np.clip(a + change, 0, 255).astype(np.uint8)
        return float(
            Motion(tuning).pair(a.astype(np.uint8), n, flow, flow).base[24:40, 24:40].mean()
        )

    assert base(struct, noise) > 0.8 * base(loose, noise)
    assert base(loose, offset) > 0.5
    assert base(struct, offset) < 0.05


def test_occlusion_is_where_the_neighbour_moves_more() -> None:
    """A square that moves 6 px in the neighbour: the background around it, within about its
    motion, counts 6 px of occlusion; far from it nothing; a pixel that moves with it nothing."""
    flow_na = np.zeros((64, 64, 2), np.float32)
    flow_na[24:40, 24:40, 0] = 6.0
    flow_an = np.zeros_like(flow_na)
    excess = occlusion(flow_an, flow_na, 1.0, 1.0)
    assert excess[32, 32] == 6.0 and excess[32, 20] == 6.0  # on it, and 4 px beside it
    assert excess[32, 2] == 0.0 and excess[2, 2] == 0.0
    flow_an[24:40, 24:40, 0] = -6.0  # this frame's pixels move with it
    assert occlusion(flow_an, flow_na, 1.0, 1.0)[32, 32] == 0.0


def test_fade_gain_compares_the_neighbour_at_this_frames_brightness() -> None:
    """A neighbour at half the brightness: without the gain it is a fade (no trust), with it
    the neighbour is scaled by about 2 and trusted."""
    a = _textured()
    n = (a / 2).astype(np.uint8)
    flow = np.zeros((64, 64, 2), np.float32)
    off = Motion(FAITHFUL).pair(a.astype(np.uint8), n, flow, flow)
    on = Motion(dataclasses.replace(FAITHFUL, fade_gain=True)).pair(
        a.astype(np.uint8), n, flow, flow
    )
    assert off.gain == 1.0 and float(off.base.mean()) < 0.01
    assert abs(on.gain - 2.0) < 0.05 and float(on.base.mean()) > 0.5
