"""Models: catalog, weights (ncnn conversion, cache), arch detection, precision, tiling, runner.

Importing this package imports torch but not basicsr (loaded on the first network build).
"""

from vidsr.models.archs import (
    KNOWN_ARCHS,
    ArchInfo,
    Architecture,
    detect_arch,
    get_arch,
    module_from_state_dict,
)
from vidsr.models.catalog import DEFAULT_MODEL, ModelSpec, expected_scale, get_spec, list_models
from vidsr.models.precision import cpu_supports_bf16, select_device, select_precision
from vidsr.models.resample import bicubic_resize, lanczos_resize
from vidsr.models.runner import Upscaler, load_model, network_from_spec
from vidsr.models.tiling import auto_tile_size, tiled_apply
from vidsr.models.weights import cache_dir, canonicalize_state_dict, load_pth

__all__ = [
    "DEFAULT_MODEL",
    "KNOWN_ARCHS",
    "ArchInfo",
    "Architecture",
    "ModelSpec",
    "Upscaler",
    "auto_tile_size",
    "bicubic_resize",
    "cache_dir",
    "canonicalize_state_dict",
    "cpu_supports_bf16",
    "detect_arch",
    "expected_scale",
    "get_arch",
    "get_spec",
    "lanczos_resize",
    "list_models",
    "load_model",
    "load_pth",
    "module_from_state_dict",
    "network_from_spec",
    "select_device",
    "select_precision",
    "tiled_apply",
]
