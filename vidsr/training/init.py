"""Initial weights for a training run: a ``.pth`` file or a catalog model's weights."""

from __future__ import annotations

from pathlib import Path

import torch

from vidsr.errors import ModelWeightsError
from vidsr.models.catalog import get_spec, resolve_source_file
from vidsr.models.weights import load_pth
from vidsr.training.arch import build_model


def initial_state_dict(init: str) -> dict[str, torch.Tensor]:
    """The state_dict named by ``init``: a weights file path or a catalog model name."""
    path = Path(init)
    if path.suffix in (".pth", ".pt") or path.is_file():
        if not path.is_file():
            raise ModelWeightsError(f"initial weights not found: {path}")
        return load_pth(path)
    spec = get_spec(init)
    kind = spec.source.get("kind")
    if kind == "file":
        file = resolve_source_file(spec.source, "path")
        return load_pth(file)
    if kind == "ncnn":
        from vidsr.models.ncnn import ncnn_to_state_dict

        template = build_model(spec.arch, spec.scale, spec.params).state_dict()
        param = resolve_source_file(spec.source, "param")
        binary = resolve_source_file(spec.source, "bin")
        return ncnn_to_state_dict(param, binary, template)
    raise ModelWeightsError(f"model '{init}' has no weights to start from")
