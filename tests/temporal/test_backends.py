"""The two full-resolution backends offer the same functions, so the stage never branches."""

from __future__ import annotations

import inspect

from vidsr.temporal import blend_cpu, blend_torch

SHARED = ("split_frames", "build")


def test_cpu_and_torch_backends_have_the_same_functions_and_parameters() -> None:
    for name in SHARED:
        cpu, dev = getattr(blend_cpu, name), getattr(blend_torch, name)
        assert list(inspect.signature(cpu).parameters) == list(inspect.signature(dev).parameters), (
            name
        )


def test_the_stage_names_no_backend_function_but_through_the_chosen_module() -> None:
    # the stage calls split_frames/build on the module picked per segment, never one directly
    from vidsr.temporal import stage

    source = inspect.getsource(stage.TemporalStabilizer)
    assert "self._blend.split_frames(" in source and "self._blend.build(" in source
    for name in SHARED:
        assert f"blend_cpu.{name}" not in source and f"blend_torch.{name}" not in source
