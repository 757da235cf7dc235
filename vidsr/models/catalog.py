"""The built-in models: one YAML file per model in the package ``vidsr.configs`` (``models/``).

The folder is read when asked (``list_models`` / ``get_spec``), never at import time.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vidsr.config import DEFAULT_MODEL
from vidsr.errors import ModelWeightsError, UnsupportedModelError
from vidsr.models.archs import ArchInfo, arch_names, detect_arch, get_arch
from vidsr.models.archs.base import Architecture
from vidsr.models.weights import load_pth

SOURCE_KINDS = ("ncnn", "file", "none")


@dataclass(frozen=True)
class ModelSpec:
    """One catalog entry. ``source`` says where the weights come from:

    - ``{kind: ncnn, package, param, bin}``: ncnn files inside an installed package;
    - ``{kind: file, path, sha256}``: a ``.pth`` relative to the ``vidsr`` package folder;
    - ``{kind: none}``: no weights (classical resamplers).

    ``size_bytes`` is the size of the weights file (the ncnn ``.bin``), 0 when there is none or it
    is missing.
    """

    name: str
    arch: str
    scale: int
    description: str
    license: str
    source: dict[str, Any] = field(hash=False)
    params: dict[str, Any] = field(hash=False)
    size_bytes: int = 0
    scores: dict[str, dict[str, float]] = field(default_factory=dict, hash=False)

    @property
    def architecture(self) -> Architecture:
        """The architecture ``arch`` names."""
        return get_arch(self.arch)

    @property
    def classical(self) -> bool:
        """True for weightless resamplers (bicubic, lanczos)."""
        return self.architecture.classical

    def arch_info(self) -> ArchInfo:
        """The network this entry describes (its scale and parameters)."""
        return ArchInfo(self.architecture, self.scale, dict(self.params))


def _models_folder() -> Any:
    return importlib.resources.files("vidsr.configs") / "models"


def resolve_source_file(source: dict[str, Any], key: str) -> Path:
    """The filesystem path of ``source[key]`` (an ncnn ``param``/``bin`` or a ``file`` path)."""
    package = source.get("package", "vidsr")
    try:
        resource = importlib.resources.files(package) / source[key]
    except (ModuleNotFoundError, KeyError) as exc:
        raise ModelWeightsError(f"weights source {source} unusable: {exc}") from exc
    path = Path(str(resource))
    if not path.is_file():
        raise ModelWeightsError(f"weights file missing: {path} (is '{package}' installed?)")
    return path


def _size_bytes(source: dict[str, Any]) -> int:
    key = {"ncnn": "bin", "file": "path"}.get(source.get("kind", "none"))
    if key is None:
        return 0
    try:
        return resolve_source_file(source, key).stat().st_size
    except (ModelWeightsError, OSError):
        return 0


def _parse(text: str, origin: str) -> ModelSpec:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UnsupportedModelError(f"model config {origin} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise UnsupportedModelError(f"model config {origin} is not a mapping")
    missing = [k for k in ("name", "arch", "scale", "source") if k not in raw]
    if missing:
        raise UnsupportedModelError(f"model config {origin} lacks {', '.join(missing)}")
    if raw["arch"] not in arch_names():
        raise UnsupportedModelError(f"model config {origin}: unknown arch {raw['arch']!r}")
    source = dict(raw["source"] or {})
    if source.get("kind") not in SOURCE_KINDS:
        raise UnsupportedModelError(f"model config {origin}: unknown source kind {source!r}")
    return ModelSpec(
        name=str(raw["name"]),
        arch=str(raw["arch"]),
        scale=int(raw["scale"]),
        description=str(raw.get("description", "")),
        license=str(raw.get("license", "")),
        source=source,
        params=dict(raw.get("params") or {}),
        size_bytes=_size_bytes(source),
        scores=dict(raw.get("scores") or {}),
    )


def list_models() -> list[ModelSpec]:
    """Every built-in model, the default first, then by name."""
    specs = [
        _parse(entry.read_text(encoding="utf-8"), entry.name)
        for entry in _models_folder().iterdir()
        if entry.name.endswith(".yaml")
    ]
    return sorted(specs, key=lambda s: (s.name != DEFAULT_MODEL, s.name))


def get_spec(name: str) -> ModelSpec:
    """The built-in model called ``name`` (UnsupportedModelError listing the known names)."""
    specs = list_models()
    for spec in specs:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in specs)
    raise UnsupportedModelError(f"unknown model '{name}'; known: {known}")


def is_classical(model: str) -> bool:
    """True when ``model`` names a catalog resampler (bicubic, lanczos), without loading it;
    a ``.pth`` file or an unknown name is not one."""
    return any(spec.name == model and spec.classical for spec in list_models())


def expected_neighbours(model: str) -> int:
    """Neighbouring frames the network ``model`` (a catalog name or a ``.pth`` file) reads
    beside the current one (0: per frame), without building it; 0 for an unknown name (loading
    it raises the catalog's error)."""
    names = {spec.name: spec for spec in list_models()}
    if model in names:
        return names[model].arch_info().neighbours
    if Path(model).is_file():
        return detect_arch(load_pth(model)).neighbours
    return 0


def expected_scale(model: str, scale: float | None = None) -> float:
    """The output scale a run will have, without building the network.

    ``scale`` wins when given; else the catalog's scale, or, for a ``.pth`` file, the scale read
    from its weights. Unknown names raise :class:`UnsupportedModelError` as loading would.
    """
    if scale is not None:
        return float(scale)
    names = {spec.name: spec for spec in list_models()}
    if model in names:
        return float(names[model].scale)
    if Path(model).is_file():
        return float(detect_arch(load_pth(model)).scale)
    return float(get_spec(model).scale)  # raises the catalog's "unknown model" error
