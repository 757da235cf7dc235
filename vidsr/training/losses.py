"""Losses: L1, Charbonnier, L2 (MSE), a frequency-domain term, an optional VGG perceptual term."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from vidsr.errors import ModelWeightsError


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Mean sqrt((pred - target)^2 + eps^2): a smooth L1."""
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


def fft_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between the 2-D real FFTs (real and imaginary parts), computed in float32."""
    p = torch.fft.rfft2(pred.float(), norm="ortho")
    t = torch.fft.rfft2(target.float(), norm="ortho")
    return (torch.view_as_real(p) - torch.view_as_real(t)).abs().mean()


_VGG19_LAYERS = {"conv1_2": 2, "conv2_2": 7, "conv3_4": 16, "conv4_4": 25, "conv5_4": 34}


class PerceptualLoss(nn.Module):
    """L1 between VGG19 features (before ReLU) of prediction and target.

    ``weights`` is a torchvision ``vgg19`` state_dict file supplied by the user (nothing is
    downloaded); ``None`` keeps a random initialisation, which only tests should use.
    """

    def __init__(
        self,
        weights: str | Path | None,
        layers: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        layers = dict(layers or {"conv3_4": 1.0, "conv4_4": 1.0, "conv5_4": 1.0})
        unknown = set(layers) - set(_VGG19_LAYERS)
        if unknown:
            raise ModelWeightsError(f"unknown VGG19 layers: {sorted(unknown)}")
        last = max(_VGG19_LAYERS[k] for k in layers)
        # Only the convolutional trunk: torchvision's full vgg19 also builds a 100M-parameter head.
        features = make_layers(cfgs["E"])
        if weights is not None:
            path = Path(weights)
            if not path.is_file():
                raise ModelWeightsError(f"VGG19 weights not found: {path}")
            state = torch.load(path, map_location="cpu", weights_only=True)
            trunk = {
                k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")
            }
            try:
                features.load_state_dict(trunk)
            except RuntimeError as exc:
                raise ModelWeightsError(f"{path} is not a torchvision vgg19 state_dict") from exc
        self.features = features[: last + 1].eval()
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.layers = layers
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def _feats(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (x - self.mean) / self.std
        wanted = {_VGG19_LAYERS[k]: k for k in self.layers}
        out: dict[str, torch.Tensor] = {}
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in wanted:
                out[wanted[i]] = x
        return out

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        fp, ft = self._feats(pred), self._feats(target.detach())
        return sum(w * (fp[k] - ft[k]).abs().mean() for k, w in self.layers.items())


class CombinedLoss(nn.Module):
    """Weighted sum of pixel (``l1``, ``charbonnier`` or ``l2``), ``fft`` and ``perceptual`` terms.

    ``l2`` is the mean squared error, the quantity PSNR measures: a short L2 tail after L1
    training trades a little sharpness for PSNR.
    """

    def __init__(
        self,
        pixel: str = "l1",
        pixel_weight: float = 1.0,
        fft_weight: float = 0.0,
        perceptual_weight: float = 0.0,
        vgg_weights: str | Path | None = None,
        vgg_layers: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if pixel not in ("l1", "charbonnier", "l2"):
            raise ModelWeightsError(f"unknown pixel loss '{pixel}' (l1, charbonnier or l2)")
        self.pixel, self.pixel_weight, self.fft_weight = pixel, pixel_weight, fft_weight
        self.perceptual_weight = perceptual_weight
        self.perceptual = (
            PerceptualLoss(vgg_weights, dict.fromkeys(vgg_layers, 1.0) if vgg_layers else None)
            if perceptual_weight > 0
            else None
        )

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred32, target32 = pred.float(), target.float()
        if self.pixel == "l1":
            loss = self.pixel_weight * (pred32 - target32).abs().mean()
        elif self.pixel == "l2":
            loss = self.pixel_weight * (pred32 - target32).square().mean()
        else:
            loss = self.pixel_weight * charbonnier(pred32, target32)
        if self.fft_weight > 0:
            loss = loss + self.fft_weight * fft_l1(pred32, target32)
        if self.perceptual is not None:
            loss = loss + self.perceptual_weight * self.perceptual(pred, target)
        return loss
