"""The tuning's digest and the per-region tolerance of issue 14 (measured, not the default)."""

from __future__ import annotations

import dataclasses

import numpy as np

from vidsr.temporal import FAITHFUL, Tuning
from vidsr.temporal.motion import Motion
from vidsr.temporal.tuning import tuning_digest

LOCAL = dataclasses.replace(
    FAITHFUL, tau_min=20.0, detail_tau=5.0, tight_tau_min=8.0, tight_detail_tau=2.0
)
NO_FADE = {"fade_levels": 0.0}  # the test's error changes the mean: not a fade


def test_inert_knobs_keep_the_digest() -> None:
    """Knobs added off by default leave the digests resumable jobs recorded before them (these
    values are the digests of 440b374, before the per-region knobs existed); using one changes
    the digest."""
    assert tuning_digest() == "21a1d447df20d807"
    assert tuning_digest(FAITHFUL) == "4861c08c918825d8"
    assert tuning_digest(LOCAL) not in {tuning_digest(), tuning_digest(FAITHFUL)}
    assert tuning_digest(dataclasses.replace(LOCAL, moving_radius=1.0)) != tuning_digest(LOCAL)


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
