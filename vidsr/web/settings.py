"""The page's settings (a small JSON dict) -> :class:`UpscaleOptions`' groups; presets; output
names.

Only catalog model names are accepted (never a path: a client cannot make the server load a
file). Invalid values raise the engine's own :class:`InvalidOptionError` one-liners.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidsr.config import (
    DEFAULT_MODEL,
    DecodeOptions,
    EncodeOptions,
    ModelOptions,
    TemporalOptions,
    UpscaleOptions,
)
from vidsr.errors import InvalidOptionError, UnsupportedModelError
from vidsr.web.catalog import load_catalog

CONTAINERS = ("mp4", "mkv", "webm")
TEMPORAL = ("auto", "off", "low", "medium", "high")
DEFAULT_SEGMENT_SECONDS = 60.0

PRESETS: dict[str, dict[str, Any]] = {
    "faithful": {
        "model": "vidsr-restore-x4", "temporal": "auto", "deblock": "auto", "crf": 18,
        "preset": "medium",
        "help": "Keeps what is there: vidsr's fidelity models, trained on compressed input. "
        "For archival footage and films.",
    },
    "anime": {
        "model": "realesr-animevideov3", "temporal": "auto", "deblock": "auto", "crf": 18,
        "preset": "medium",
        "help": "Clean lines and flat colours for animation (Real-ESRGAN's video model).",
    },
    "fast": {
        "model": "vidsr-bi-x2", "scale": 2, "temporal": "off", "deblock": "off", "crf": 20,
        "preset": "veryfast",
        "help": "Twice the size, quickly: no temporal stage, a fast encoder preset.",
    },
}  # fmt: skip


@dataclass(frozen=True)
class JobSettings:
    """Validated settings of one preview or job."""

    options: UpscaleOptions
    container: str
    segment_seconds: float
    scale: float

    def output_name(self, display_name: str) -> str:
        """``holiday.mov`` -> ``holiday_x4.mp4`` (the download name)."""
        return f"{Path(display_name).stem}_x{self.scale:g}.{self.container}"


def _number(value: Any, name: str, kind=float):
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InvalidOptionError(f"{name} must be a number, got {value!r}") from None


def parse_settings(raw: dict[str, Any]) -> JobSettings:
    """Check the page's settings and build the engine's options (InvalidOptionError if wrong)."""
    raw = dict(raw or {})
    preset_name = raw.pop("preset_name", None)
    if preset_name is not None:
        if preset_name not in PRESETS:
            raise InvalidOptionError(f"unknown preset {preset_name!r}; known: {', '.join(PRESETS)}")
        raw = {**{k: v for k, v in PRESETS[preset_name].items() if k != "help"}, **raw}
    model = str(raw.get("model") or DEFAULT_MODEL)
    models = {row["name"]: row for row in load_catalog()}
    if model not in models:  # catalog names only, never a path
        known = ", ".join(models)
        raise UnsupportedModelError(f"unknown model '{model}'; known: {known}")
    scale = raw.get("scale")
    scale = None if scale in (None, "", "native") else _number(scale, "scale")
    temporal = str(raw.get("temporal", "auto"))
    if temporal not in TEMPORAL:
        raise InvalidOptionError(f"temporal must be one of {', '.join(TEMPORAL)}, got {temporal!r}")
    container = str(raw.get("container", "mp4"))
    if container not in CONTAINERS:
        raise InvalidOptionError(f"container must be one of {', '.join(CONTAINERS)}")
    segment = _number(raw.get("segment_seconds", DEFAULT_SEGMENT_SECONDS), "segment_seconds")
    if not 0.1 <= segment <= 3600:
        raise InvalidOptionError("segment_seconds must be between 0.1 and 3600")
    encode = {  # what the page leaves out keeps EncodeOptions' defaults
        **{k: str(raw[k]) for k in ("codec", "preset") if k in raw},
        **({"crf": _number(raw["crf"], "crf", int)} if "crf" in raw else {}),
    }
    device = {"device": raw["device"]} if raw.get("device") in ("cpu", "cuda") else {}
    decode = {"deblock": str(raw["deblock"])} if "deblock" in raw else {}
    options = UpscaleOptions(
        model=ModelOptions(model, scale, **device),
        encode=EncodeOptions(**encode),
        temporal=TemporalOptions(temporal),
        decode=DecodeOptions(**decode),
    )
    return JobSettings(options, container, segment, scale or float(models[model]["scale"]))


def settings_json(settings: JobSettings) -> dict[str, Any]:
    """What is stored with the job and shown in its report."""
    o = settings.options
    return {
        "model": o.model.name, "scale": settings.scale, "temporal": o.temporal.level,
        "deblock": o.decode.deblock, "codec": o.encode.codec, "crf": o.encode.crf,
        "preset": o.encode.preset, "device": o.model.device,
        "container": settings.container, "segment_seconds": settings.segment_seconds,
    }  # fmt: skip
