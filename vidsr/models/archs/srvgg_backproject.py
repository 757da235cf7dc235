"""SRVGGNetCompact, then multi-frame back-projection, then a learned fusion (``BackProjectSRVGG``,
the vidsr-vsr models).

Three steps on each frame:

1. the per-frame network (``srvgg.py``, the same layers and key names) upscales the current frame;
2. :func:`vidsr.temporal.backproject.back_project` corrects that estimate's luma for
   ``iterations`` steps until it also explains the K neighbours' own input frames, with the
   motion both ways and its trust (:class:`~vidsr.temporal.align.NeighbourViews`); float32
   always, since the flows are positions that bf16 would round;
3. a small residual network (``fusion``: ``fusion_layers`` 3x3 convolutions of ``fusion_feat``
   features with PReLU, on the input's grid) reads the current frame, the per-frame output and
   the back-projection's luma correction (both pixel-unshuffled) and the neighbours' trust, and
   adds its pixel-shuffled output to the per-frame output.

The fusion's last convolution starts at zero, so a fresh network initialised from per-frame
weights computes exactly the per-frame network's output; training teaches it how much of the
correction to keep where (issue 18: plain back-projection costs fidelity where the motion is
wrong, on fire and interlaced footage).

Input (N, 3 + 9K, h, w) as :func:`pack_inputs` makes it. A state_dict is this architecture's when
it has ``fusion.out.weight`` beside SRVGGNetCompact's ``body.N`` keys; K comes from the fusion's
input channels and the iteration count from the ``iterations`` buffer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from vidsr.color import luma_coefficients
from vidsr.errors import UnsupportedModelError
from vidsr.models.archs import srvgg
from vidsr.models.archs.base import ArchInfo, Architecture, StateDict, element_bytes

if TYPE_CHECKING:
    from vidsr.temporal.align import NeighbourViews

CHANNELS_PER_NEIGHBOUR = 9
"""Input channels each neighbour adds: its frame (3), the motion from the current frame (2) and
its trust (1), the motion back onto the current frame (2) and its trust (1)."""

CORRECTION_GAIN = 10.0
"""The back-projection's correction is small; the fusion reads it multiplied by this."""

LUMA_MATRIX = "bt601"
"""The luma the back-projection corrects (the benchmarks' Y-PSNR reads BT.601 luma)."""

REACH_PER_ITERATION = 8
"""Input pixels a back-projection step reaches beyond the motion, a bound: through a neighbour,
the bilinear warp (one pixel with the flow's bilinear upscaling), the reduction (2.25) and the
bicubic sampling back from the input's grid (two, and one for the flow): 6.25; through the
current frame, the reduction and the bicubic upscaling (2): 4.25."""

STEP = 2.0
"""Each back-projection step adds twice the weighted mean error: 2 steps then reach what 4 of
size 1 do (measured on tests/views.py's sub-pixel views with two neighbours: 23.116 against
23.113 dB; one step 23.016, one of size 1 22.931, per-frame 22.791)."""


def pack_inputs(current: torch.Tensor, views: NeighbourViews) -> torch.Tensor:
    """(N, 3 + 9K, h, w): ``current`` (N, 3, h, w), then the K neighbours' frames, flows from
    the current frame, their trust, flows back and their trust, each group over all K."""
    n, k = views.frames.shape[:2]
    h, w = current.shape[-2:]
    parts = [views.frames, views.flow, views.trust, views.back_flow, views.back_trust]
    flat = [p.to(current.device, torch.float32).reshape(n, -1, h, w) for p in parts]
    if k and views.frames.shape[-2:] != (h, w):
        raise UnsupportedModelError("neighbours and the current frame differ in size")
    return torch.cat([current.float(), *flat], dim=1)


class Fusion(nn.Module):
    """The learned correction of the per-frame output (zero at step 0)."""

    def __init__(self, scale: int, neighbours: int, feat: int, layers: int) -> None:
        super().__init__()
        s2 = scale * scale
        mods: list[nn.Module] = [nn.Conv2d(3 + 4 * s2 + neighbours, feat, 3, 1, 1), nn.PReLU(feat)]
        for _ in range(layers - 1):
            mods += [nn.Conv2d(feat, feat, 3, 1, 1), nn.PReLU(feat)]
        self.body = nn.Sequential(*mods)
        self.out = nn.Conv2d(feat, 3 * s2, 3, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.scale = scale

    def forward(
        self, lr: torch.Tensor, sr: torch.Tensor, correction: torch.Tensor, trust: torch.Tensor
    ) -> torch.Tensor:
        """What to add to ``sr`` (N, 3, H, W), from the input ``lr``, the back-projection's luma
        ``correction`` (N, 1, H, W) and the neighbours' ``trust`` (N, K, h, w)."""
        s, dtype = self.scale, self.out.weight.dtype
        parts = [lr, F.pixel_unshuffle(sr, s), F.pixel_unshuffle(correction, s) * CORRECTION_GAIN]
        z = torch.cat([*parts, trust], dim=1)
        return F.pixel_shuffle(self.out(self.body(z.to(dtype))), s)


class BackProjectNet(nn.Module):
    """basicsr's SRVGGNetCompact layers (same key names), back-projection, ``fusion``."""

    def __init__(
        self, per_frame: nn.Module, neighbours: int, iterations: int, feat: int, layers: int
    ) -> None:
        super().__init__()
        self.body = per_frame.body
        self.upsampler = per_frame.upsampler
        self.upscale = int(per_frame.upscale)
        self.neighbours = neighbours
        self.register_buffer("iterations", torch.tensor(iterations, dtype=torch.int64))
        self.fusion = Fusion(self.upscale, neighbours, feat, layers)

    def per_frame(self, current: torch.Tensor) -> torch.Tensor:
        """The per-frame network's output (SRVGGNetCompact's forward) in its dtype."""
        weight = self.body[0].weight
        layout = (
            torch.channels_last
            if weight.is_contiguous(memory_format=torch.channels_last)
            else torch.contiguous_format
        )
        x = current.to(weight.dtype).contiguous(memory_format=layout)  # as the runner gives it
        out = x
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out)
        return out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")

    def parts(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The packed input (see :func:`pack_inputs`) as float32 named parts."""
        k, n, h, w = self.neighbours, x.shape[0], x.shape[-2], x.shape[-1]
        x = x.float()
        sizes = {"lr": 3, "frames": 3 * k, "flow": 2 * k, "trust": k, "back_flow": 2 * k}
        sizes["back_trust"] = k
        out, at = {}, 0
        for name, size in sizes.items():
            out[name] = x[:, at : at + size]
            at += size
        for name, c in (("frames", 3), ("flow", 2), ("trust", 1), ("back_flow", 2)):
            out[name] = out[name].reshape(n, k, c, h, w)
        out["back_trust"] = out["back_trust"].reshape(n, k, 1, h, w)
        return out

    def back_project(self, p: dict[str, torch.Tensor], sr: torch.Tensor) -> torch.Tensor:
        """Step 2 on ``sr`` with the parts :meth:`parts` gave, in float32 (not autocast), on
        luma alone (the detail it recovers; a third of the work). Returns the luma correction
        (N, 1, H, W): added to R, G and B alike it changes luma by exactly that much."""
        from vidsr.temporal.backproject import back_project  # OpenCV: only when one runs

        weights = torch.tensor(luma_coefficients(LUMA_MATRIX), device=sr.device)
        luma = lambda x: (x * weights.view(3, 1, 1)).sum(dim=-3, keepdim=True)  # noqa: E731
        with torch.autocast(sr.device.type, enabled=False):
            y = luma(sr)
            out = back_project(
                y, luma(p["lr"]), luma(p["frames"]), p["back_flow"], p["back_trust"], p["flow"],
                p["trust"], self.upscale, int(self.iterations), STEP,
            )  # fmt: skip
        return out - y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.parts(x)
        sr = self.per_frame(p["lr"]).float()
        correction = self.back_project(p, sr)
        return sr + self.fusion(p["lr"], sr, correction, p["trust"][:, :, 0]).float()


class BackProjectSRVGG(Architecture):
    """SRVGGNetCompact corrected by multi-frame back-projection through a learned fusion."""

    name = "BackProjectSRVGG"
    default_params: Mapping[str, Any] = {
        **srvgg.SRVGGNetCompact.default_params,
        "num_neighbours": 2,
        "iterations": 1,
        "fusion_feat": 48,
        "fusion_layers": 4,
    }
    casts_own_input = True

    def _get(self, params: Mapping[str, Any], key: str) -> int:
        return int(params.get(key, self.default_params[key]))

    def detect(self, state: StateDict, act_hint: str | None = None) -> ArchInfo | None:
        first = state.get("fusion.body.0.weight")
        if first is None or "fusion.out.weight" not in state:
            return None
        per_frame = srvgg.ARCH.detect({k: v for k, v in state.items() if k.startswith("body.")})
        if per_frame is None or per_frame.params["num_in_ch"] != 3:
            raise UnsupportedModelError("a fusion without a 3-channel SRVGGNetCompact")
        k = first.shape[1] - 3 - 4 * int(per_frame.scale) ** 2
        if k < 1 or "iterations" not in state:
            raise UnsupportedModelError(f"fusion.body.0 reads {first.shape[1]} channels")
        layers = sum(1 for key in state if key.startswith("fusion.body.") and key.endswith(".bias"))
        params = {
            **per_frame.params,
            "num_neighbours": int(k),
            "iterations": int(state["iterations"]),
            "fusion_feat": int(first.shape[0]),
            "fusion_layers": layers,
        }
        return ArchInfo(self, per_frame.scale, params)

    def build(self, scale: float, params: Mapping[str, Any]) -> nn.Module:
        k = self._get(params, "num_neighbours")
        iterations = self._get(params, "iterations")
        if k < 1 or iterations < 0:
            raise UnsupportedModelError(f"num_neighbours {k} < 1 or iterations {iterations} < 0")
        own = ("num_neighbours", "iterations", "fusion_feat", "fusion_layers")
        single = {key: v for key, v in params.items() if key not in own}
        return BackProjectNet(
            srvgg.ARCH.build(scale, single), k, iterations,
            self._get(params, "fusion_feat"), self._get(params, "fusion_layers"),
        )  # fmt: skip

    def retarget(self, state: StateDict, scale: float) -> dict[str, torch.Tensor]:
        return srvgg.ARCH.retarget(state, scale)

    def neighbours(self, params: Mapping[str, Any]) -> int:
        return self._get(params, "num_neighbours")

    def input_channels(self, params: Mapping[str, Any]) -> int:
        return 3 + CHANNELS_PER_NEIGHBOUR * self.neighbours(params)

    def network_input(self, current: torch.Tensor, views: NeighbourViews) -> torch.Tensor:
        return pack_inputs(current, views)

    def bytes_per_pixel(self, scale: float, params: Mapping[str, Any], dtype: torch.dtype) -> float:
        k, s2 = self.neighbours(params), int(scale) ** 2
        feat = self._get(params, "fusion_feat")
        # float32 input; the back-projection's full-size luma buffers (the estimate, its
        # correction, the weight, K sampling grids of two values each way, K warped copies and
        # errors); the fusion's input and features
        back = 4 * s2 * (4 + 6 * k)
        fusion = (3 + 4 * s2 + k + 2 * feat) * element_bytes(dtype)
        own = 4 * (3 + CHANNELS_PER_NEIGHBOUR * k)
        return srvgg.ARCH.bytes_per_pixel(scale, params, dtype) + 1.5 * (back + fusion + own)

    def receptive_field(self, scale: float, params: Mapping[str, Any]) -> int:
        """Without motion: the per-frame network's, then each back-projection step's, then the
        fusion's convolutions. Motion adds its own length (a tile's border loses the neighbours
        whose samples fall outside it: they are not trusted there)."""
        steps = self._get(params, "iterations") * REACH_PER_ITERATION
        fusion = self._get(params, "fusion_layers") + 1
        return srvgg.ARCH.receptive_field(scale, params) + steps + fusion


ARCH = BackProjectSRVGG()
