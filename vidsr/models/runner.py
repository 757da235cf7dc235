"""``load_model`` and ``Upscaler``: the object the pipeline calls on batches of RGB frames."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vidsr.config import MIN_TILE
from vidsr.errors import (
    InvalidOptionError,
    ModelWeightsError,
    OutOfMemoryError,
    UnsupportedModelError,
)
from vidsr.models.archs import ArchInfo, build_module, detect_arch, module_from_state_dict
from vidsr.models.archs.base import Architecture
from vidsr.models.catalog import DEFAULT_MODEL, ModelSpec, list_models, resolve_source_file
from vidsr.models.ncnn import ncnn_to_state_dict
from vidsr.models.precision import (
    select_compile,
    select_device,
    select_precision,
    use_channels_last,
)
from vidsr.models.resample import bicubic_resize, output_size
from vidsr.models.tiling import tiled_apply
from vidsr.models.weights import cached_state_dict, load_pth, load_verified_pth
from vidsr.process import trim_heap

log = logging.getLogger(__name__)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for torch's out-of-memory errors (CUDA, and the CPU allocator's failures)."""
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


def _check_scale(scale: float | None) -> None:
    if scale is not None and not scale > 0:
        raise InvalidOptionError(f"scale must be positive, not {scale}")


def network_from_spec(spec: ModelSpec) -> tuple[nn.Module, ArchInfo]:
    """Build a catalog network with its weights (ncnn: converted and cached; file: verified)."""
    info = spec.arch_info()
    source = spec.source
    if source["kind"] == "ncnn":
        param = resolve_source_file(source, "param")
        binary = resolve_source_file(source, "bin")
        module = build_module(info)
        template = module.state_dict()
        state = cached_state_dict(
            spec.name, [param, binary], lambda: ncnn_to_state_dict(param, binary, template)
        )
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelWeightsError(f"converted weights of {spec.name} do not fit: {exc}") from exc
        module.eval().requires_grad_(False)
        return module, info
    if source["kind"] == "file":
        state = load_verified_pth(resolve_source_file(source, "path"), source.get("sha256"))
        found = detect_arch(state, act_hint=spec.params.get("act_type"))
        if (found.arch, found.scale) != (spec.arch, spec.scale):
            raise ModelWeightsError(
                f"{spec.name}: weights are {found.arch} x{found.scale}, "
                f"the catalog says {spec.arch} x{spec.scale}"
            )
        return module_from_state_dict(state, found)
    raise UnsupportedModelError(f"model {spec.name} has no weights (source kind {source['kind']})")


class Upscaler:
    """A loaded model ready to upscale batches of RGB frames (see ``__call__``).

    ``native_scale`` is the network's own factor; ``scale`` the output factor (when they differ
    the network output is resized with antialiased bicubic, as Real-ESRGAN's ``--outscale``).
    ``tile`` (LR pixels, 0 = whole frame) and ``tile_pad`` may be changed between calls.
    ``compile``: run the network through ``torch.compile`` (CUDA: ``reduce-overhead``, i.e. CUDA
    graphs); if compiling fails, on the first call or later, a warning is logged and the network
    runs eagerly from then on (``compiled`` says which is in use). Running out of memory on a
    batch is not fatal: the batch is run again in tiles (halved each time, down to
    :data:`MIN_TILE`), and later batches keep that tile size (a warning says so).
    """

    def __init__(
        self,
        *,
        name: str,
        module: nn.Module,
        info: ArchInfo,
        native_scale: int,
        scale: float,
        device: torch.device,
        dtype: torch.dtype,
        spec: ModelSpec | None,
        tile: int = 0,
        tile_pad: int = 16,
        compile: bool = False,
    ) -> None:
        if tile < 0 or tile_pad < 0:
            raise InvalidOptionError(f"tile and tile_pad must be >= 0 (got {tile}, {tile_pad})")
        self.name, self.spec, self.info = name, spec, info
        self.native_scale, self.scale = native_scale, float(scale)
        self.device, self.dtype = device, dtype
        self.tile, self.tile_pad = tile, tile_pad
        self.channels_last = use_channels_last(device, dtype)
        # CPU bf16: weights cast once (measured ~25% faster than autocast with the same
        # accuracy); CUDA fp16/bf16: autocast, which keeps the sensitive ops in fp32.
        self._cast_weights = self.channels_last
        self.module = module.to(device)
        if self._cast_weights:
            self.module = self.module.to(dtype=dtype, memory_format=torch.channels_last)
        self._compiled: Callable[[torch.Tensor], torch.Tensor] | None = None
        if compile and not info.classical:
            self._compile()

    def _compile(self) -> None:
        mode = "reduce-overhead" if self.device.type == "cuda" else "default"
        try:
            self._compiled = torch.compile(self.module, mode=mode, dynamic=False)
        except Exception as exc:  # any failure means: run eagerly
            self._fall_back(exc)

    def _fall_back(self, exc: BaseException) -> None:
        log.warning("torch.compile is unavailable (%s); running the model eagerly", exc)
        self._compiled = None

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        """The network on one input; a compiled network that fails falls back to eager."""
        if self._compiled is None:
            return self.module(x)
        try:
            # CUDA graphs reuse their output buffers: copy before the next call
            return self._compiled(x).clone()
        except Exception as exc:  # compilation errors surface on first use
            if is_out_of_memory(exc):
                raise
            self._fall_back(exc)
            return self.module(x)

    @property
    def compiled(self) -> bool:
        """True while the network runs through ``torch.compile``."""
        return self._compiled is not None

    @property
    def arch(self) -> str:
        """The architecture's name."""
        return self.info.arch

    @property
    def classical(self) -> bool:
        """True for bicubic / lanczos (no network)."""
        return self.info.classical

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        """Output ``(H, W)`` for an ``h`` x ``w`` input: ``round(h*scale)``, ``round(w*scale)``."""
        return output_size(h, w, self.scale)

    def bytes_per_pixel(self) -> float:
        """Rough peak working memory per input (LR) pixel of one frame, for ``auto_tile_size``."""
        return self.info.bytes_per_pixel(self.dtype)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype == torch.float32 or self._cast_weights:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def _network(self, x: torch.Tensor) -> torch.Tensor:
        multiple = self.info.multiple
        h, w = x.shape[-2:]
        ph, pw = (-h) % multiple, (-w) % multiple
        if ph or pw:
            mode = "reflect" if h > ph and w > pw else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        if self._cast_weights:
            own = self.info.architecture.casts_own_input
            x = x.to(torch.float32 if own else self.dtype)
            x = x.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            y = self._whole_or_tiled(x, multiple)
        s = self.native_scale
        return y[:, :, : h * s, : w * s].float()

    def _whole_or_tiled(self, x: torch.Tensor, multiple: int) -> torch.Tensor:
        """The network on ``x`` (whole, or in tiles when ``tile`` > 0); out of memory, it
        retries with smaller tiles."""
        while True:
            try:
                if self.tile <= 0:
                    return self._run(x)
                tile = -(-self.tile // multiple) * multiple
                pad = -(-self.tile_pad // multiple) * multiple
                return tiled_apply(self._run, x, scale=self.native_scale, tile=tile, pad=pad)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                self._smaller_tiles(x, multiple, exc)

    def _smaller_tiles(self, x: torch.Tensor, multiple: int, exc: BaseException) -> None:
        """After running out of memory on ``x``: halve the tile (the first time: half the
        frame's longer side), not below :data:`MIN_TILE`; OutOfMemoryError when it already
        failed at that size."""
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        n, _, h, w = x.shape
        current = self.tile if self.tile > 0 else max(h, w)
        smallest = -(-MIN_TILE // multiple) * multiple
        tile = max(smallest, (current // 2) // multiple * multiple)
        if tile >= current:
            hint = "--batch 1 or --device cpu" if self.device.type == "cuda" else "--batch 1"
            raise OutOfMemoryError(
                f"out of {self.device.type} memory on {n} frame(s) of {w}x{h} even in "
                f"{current}-pixel tiles: try {hint}"
            ) from exc
        log.warning(
            "out of %s memory on %dx%d input: running the model in %d-pixel tiles from now on",
            self.device.type, w, h, tile,
        )  # fmt: skip
        self.tile = tile

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale ``x``: (N,3,h,w) float RGB in [0,1], any device (a network that reads
        neighbours takes its stacked input, ``info.input_channels`` channels:
        :class:`vidsr.pipeline.neighbours.NeighbourModel` makes it).

        Returns float32 (N,3,H,W) on ``self.device``, clamped to [0,1], with (H, W) =
        ``output_size(h, w)``. Runs under ``torch.inference_mode``; computes in ``dtype``
        (CUDA: autocast; CPU bf16: bf16 weights, channels_last) and tiles when ``tile > 0``.
        """
        channels = self.info.input_channels
        if x.ndim != 4 or x.shape[1] != channels:
            raise ValueError(f"expected a (N,{channels},h,w) tensor, got shape {tuple(x.shape)}")
        with torch.inference_mode():
            x = x.to(self.device, torch.float32)
            if self.classical:
                return self.module(x).clamp_(0.0, 1.0)
            y = self._network(x)
            size = self.output_size(x.shape[-2], x.shape[-1])
            if tuple(y.shape[-2:]) != size:
                y = bicubic_resize(y, size, antialias=True)
            y = y.clamp_(0.0, 1.0)
        if self.device.type == "cpu":
            trim_heap()  # the network's feature maps are free now: not resident till the next call
        return y

    def __repr__(self) -> str:
        return (
            f"Upscaler({self.name!r}, arch={self.arch}, x{self.native_scale}->x{self.scale:g}, "
            f"{self.device}, {self.dtype}, tile={self.tile})"
        )


def _dtype_for(arch: Architecture, device: torch.device, precision: str) -> torch.dtype:
    """The compute dtype: the architecture's only one, else :func:`select_precision`'s choice
    when the architecture runs in it (its first precision otherwise, with a warning)."""
    if len(arch.precisions) == 1:
        return arch.precisions[0]
    dtype = select_precision(device, precision)
    if dtype not in arch.precisions:
        log.warning("%s does not run in %s; using %s", arch.name, dtype, arch.precisions[0])
        return arch.precisions[0]
    return dtype


def load_model(
    name_or_path: str = DEFAULT_MODEL,
    *,
    device: str = "auto",
    precision: str = "auto",
    tile: int = 0,
    tile_pad: int = 16,
    scale: float | None = None,
    compile: str = "auto",
) -> Upscaler:
    """Load a catalog model by name, or a ``.pth`` file (architecture detected from its keys).

    ``scale`` is the output factor (default: the model's own; for bicubic/lanczos the catalog
    default 4). ``compile``: auto|on|off (see :func:`select_compile`). Raises
    UnsupportedModelError for an unknown name that is not an existing file.
    """
    _check_scale(scale)
    dev = select_device(device)
    use_compile = select_compile(dev, compile)
    names = {s.name: s for s in list_models()}
    spec = names.get(name_or_path)
    if spec is not None and spec.classical:
        factor = scale if scale is not None else float(spec.scale)
        info = ArchInfo(spec.architecture, factor)
        return Upscaler(
            name=spec.name,
            module=info.build(),
            info=info,
            native_scale=max(1, round(factor)),
            scale=factor,
            device=dev,
            dtype=_dtype_for(info.architecture, dev, precision),
            spec=spec,
        )
    if spec is not None:
        module, info = network_from_spec(spec)
        name = spec.name
    elif Path(name_or_path).is_file():
        module, info = module_from_state_dict(load_pth(name_or_path))
        name = Path(name_or_path).stem
    else:
        known = ", ".join(names)
        raise UnsupportedModelError(f"unknown model '{name_or_path}'; known: {known}")
    dtype = _dtype_for(info.architecture, dev, precision)
    log.info("model %s: %s x%d on %s in %s", name, info.arch, info.scale, dev, dtype)
    return Upscaler(
        name=name,
        module=module,
        info=info,
        native_scale=int(info.scale),
        scale=scale if scale is not None else float(info.scale),
        device=dev,
        dtype=dtype,
        spec=spec,
        tile=tile,
        tile_pad=tile_pad,
        compile=use_compile,
    )
