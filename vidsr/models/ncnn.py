"""Convert ncnn ``.param`` + ``.bin`` weights (as shipped for Real-ESRGAN) to a PyTorch state_dict.

Only the layers Real-ESRGAN's exported graphs hold weights in are read: ``Convolution`` (a 4-byte
storage tag, the weights ``[out, in, kh, kw]``, then an fp32 bias when ``5=1``) and ``PReLU``
(``0=`` fp32 slopes). Every other layer type carries no data. The tensors, in ``.param`` order, are
mapped onto the target module's state_dict keys in order, with every shape checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vidsr.errors import ModelWeightsError

PARAM_MAGIC = 7767517
TAG_FP16 = 0x01306B47
TAG_FP32 = 0x00000000
# Layer types that hold no weights in ncnn's binary; anything else is refused rather than guessed.
_WEIGHTLESS = {
    "Input",
    "Split",
    "Concat",
    "Eltwise",
    "BinaryOp",
    "Interp",
    "PixelShuffle",
    "ReLU",
    "Sigmoid",
    "Crop",
    "Noop",
}


@dataclass(frozen=True)
class NcnnLayer:
    """One line of an ncnn ``.param`` file; ``params`` keeps the raw ``key=value`` strings."""

    type: str
    name: str
    params: dict[int, str]

    def int_param(self, key: int, default: int | None = None) -> int:
        """The integer parameter ``key`` (ModelWeightsError when absent and no default)."""
        if key in self.params:
            return int(self.params[key])
        if default is None:
            raise ModelWeightsError(f"ncnn layer {self.name} lacks parameter {key}=")
        return default


def read_param(path: str | Path) -> list[NcnnLayer]:
    """Parse a text ``.param`` file (LF or CRLF line endings)."""
    try:
        text_lines = Path(path).read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelWeightsError(f"cannot read ncnn param file {path}: {exc}") from exc
    if not text_lines or text_lines[0].strip() != str(PARAM_MAGIC):
        raise ModelWeightsError(f"{path} is not a text ncnn param file (bad magic)")
    layers = []
    for line in text_lines[2:]:
        fields = line.split()
        if not fields:
            continue
        try:
            n_in, n_out = int(fields[2]), int(fields[3])
            raw = fields[4 + n_in + n_out :]
            params = {int(k): v for k, v in (item.split("=", 1) for item in raw)}
        except (IndexError, ValueError) as exc:
            raise ModelWeightsError(f"malformed line in {path}: {line!r}") from exc
        layers.append(NcnnLayer(fields[0], fields[1], params))
    return layers


class _Reader:
    def __init__(self, data: bytes, path: str) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, nbytes: int) -> bytes:
        if self.pos + nbytes > len(self.data):
            raise ModelWeightsError(f"{self.path} is truncated ({nbytes} bytes at {self.pos})")
        chunk = self.data[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return chunk

    def fp32(self, count: int) -> np.ndarray:
        return np.frombuffer(self.take(4 * count), dtype="<f4").copy()

    def tagged(self, count: int, layer: str) -> np.ndarray:
        (tag,) = np.frombuffer(self.take(4), dtype="<u4")
        if tag == TAG_FP16:
            raw = self.take((2 * count + 3) // 4 * 4)
            return np.frombuffer(raw[: 2 * count], dtype="<f2").astype(np.float32)
        if tag == TAG_FP32:
            return self.fp32(count)
        raise ModelWeightsError(
            f"{self.path}: layer {layer} uses unsupported ncnn storage tag {int(tag):#010x}"
        )


def read_tensors(param_path: str | Path, bin_path: str | Path) -> list[np.ndarray]:
    """All weight tensors of the graph in file order (conv weight, conv bias, PReLU slopes, ...)."""
    layers = read_param(param_path)
    try:
        data = Path(bin_path).read_bytes()
    except OSError as exc:
        raise ModelWeightsError(f"cannot read ncnn bin file {bin_path}: {exc}") from exc
    reader = _Reader(data, str(bin_path))
    tensors: list[np.ndarray] = []
    for layer in layers:
        if layer.type == "Convolution":
            out = layer.int_param(0)
            kw = layer.int_param(1)
            kh = layer.int_param(11, kw)
            size = layer.int_param(6)
            if size % (out * kh * kw):
                raise ModelWeightsError(f"layer {layer.name}: weight size {size} does not divide")
            cin = size // (out * kh * kw)
            tensors.append(reader.tagged(size, layer.name).reshape(out, cin, kh, kw))
            if layer.int_param(5, 0):
                tensors.append(reader.fp32(out))
        elif layer.type == "PReLU":
            tensors.append(reader.fp32(layer.int_param(0, 1)))
        elif layer.type not in _WEIGHTLESS:
            raise ModelWeightsError(f"unsupported ncnn layer type {layer.type} ({layer.name})")
    if reader.pos != len(data):
        raise ModelWeightsError(
            f"{bin_path}: {len(data) - reader.pos} bytes left over after the last layer"
        )
    return tensors


def ncnn_to_state_dict(
    param_path: str | Path, bin_path: str | Path, template: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Map the ncnn tensors onto ``template``'s keys (a module's state_dict), in order.

    Raises ModelWeightsError when the counts or any shape differ.
    """
    tensors = read_tensors(param_path, bin_path)
    keys = list(template.keys())
    if len(tensors) != len(keys):
        raise ModelWeightsError(
            f"{Path(param_path).name}: {len(tensors)} tensors but the network has {len(keys)}"
        )
    state: dict[str, torch.Tensor] = {}
    for key, array in zip(keys, tensors, strict=True):
        expected = tuple(template[key].shape)
        if tuple(array.shape) != expected:
            raise ModelWeightsError(
                f"{Path(param_path).name}: tensor for {key} has shape {tuple(array.shape)}, "
                f"the network expects {expected}"
            )
        state[key] = torch.from_numpy(array)
    return state
