"""Training data: aligned random LR/HR crops, dihedral augmentation.

Low-resolution inputs come either from a whole-image MATLAB bicubic reduction computed once per
image (exactly how the benchmarks make theirs), or from a per-crop degradation callable (the
``restore`` models). All randomness flows from one ``torch.Generator`` so a run is reproducible
and a checkpoint can restore the sampler's state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from vidsr.errors import InvalidOptionError
from vidsr.quality.resize import bicubic_lr, mod_crop

Degrade = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
"""(HR crop (3, H, W) in [0, 1], generator) -> LR crop (3, H/scale, W/scale) in [0, 1]."""


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 flips/rotations of (..., H, W), ``k`` in 0..7."""
    if k & 4:
        x = x.transpose(-1, -2)
    if k & 2:
        x = x.flip(-1)
    if k & 1:
        x = x.flip(-2)
    return x


class SeededSampler:
    """What every training sampler shares: ``sample()`` (one (input, HR) pair, from
    ``self.generator``) stacked by :meth:`batch`, and the generator state for checkpoints."""

    generator: torch.Generator

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` pairs stacked: inputs (n, C, c/s, c/s), HR (n, 3, c, c)."""
        pairs = [self.sample() for _ in range(n)]
        return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The generator state (for checkpoints)."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore the generator state saved by :meth:`state_dict`."""
        self.generator.set_state(state["generator"])


class CropSampler(SeededSampler):
    """Draws batches of aligned (LR, HR) crops from a list of images.

    ``degrade=None`` uses the whole-image bicubic LR; otherwise the HR crop is passed to
    ``degrade`` to make its LR. ``hr_crop`` must be a multiple of ``scale``.
    """

    def __init__(
        self,
        images: Sequence[torch.Tensor],
        scale: int,
        hr_crop: int,
        degrade: Degrade | None = None,
        seed: int = 0,
    ) -> None:
        if hr_crop % scale:
            raise InvalidOptionError(f"hr_crop {hr_crop} is not a multiple of scale {scale}")
        self.scale = scale
        self.hr_crop = hr_crop
        self.degrade = degrade
        self.hr = [mod_crop(im, scale) for im in images if min(im.shape[-2:]) >= hr_crop]
        if not self.hr:
            raise InvalidOptionError(f"no training image is at least {hr_crop} px on each side")
        self.lr = [bicubic_lr(im, scale) for im in self.hr] if degrade is None else []
        self.generator = torch.Generator().manual_seed(seed)

    def _randint(self, high: int) -> int:
        return int(torch.randint(high, (1,), generator=self.generator))

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One augmented (LR, HR) pair."""
        i = self._randint(len(self.hr))
        hr_img = self.hr[i]
        s, lc = self.scale, self.hr_crop // self.scale
        h, w = hr_img.shape[-2] // s, hr_img.shape[-1] // s
        y, x = self._randint(h - lc + 1), self._randint(w - lc + 1)
        hr = hr_img[:, y * s : (y + lc) * s, x * s : (x + lc) * s]
        k = self._randint(8)
        hr = dihedral(hr, k)
        if self.degrade is None:
            lr = dihedral(self.lr[i][:, y : y + lc, x : x + lc], k)
        else:
            lr = self.degrade(hr, self.generator)
        return lr.contiguous(), hr.contiguous()
