"""One upscale run: ``plan`` decides it once (encoder, output frames, memory plan, warnings),
``stages`` builds the decoder, model, region reuse and temporal stage from the options, ``run``
drives them (threads, queues, progress, cancel). ``memory`` holds the ``--max-memory`` plan;
``model_lane`` feeds the model batch by batch (frames late for a network that reads neighbouring
frames, ``neighbours``)."""

from vidsr.pipeline.memory import (
    MEMORY_RESERVE_FIXED,
    MEMORY_RESERVE_SHARE,
    MemoryPlan,
    current_rss,
    plan_memory,
)
from vidsr.pipeline.model_lane import FrameModel, ModelFeed, PerFrameModel
from vidsr.pipeline.neighbours import NeighbourModel
from vidsr.pipeline.plan import OutputGeometry, RunPlan, estimate_frames, output_geometry, plan_run
from vidsr.pipeline.run import Pipeline, RunStats, upscale
from vidsr.pipeline.stages import (
    frame_model,
    load_model_for,
    make_decoder,
    reuse_for,
    temporal_stage,
)

__all__ = [
    "MEMORY_RESERVE_FIXED",
    "MEMORY_RESERVE_SHARE",
    "FrameModel",
    "MemoryPlan",
    "ModelFeed",
    "NeighbourModel",
    "OutputGeometry",
    "PerFrameModel",
    "Pipeline",
    "RunPlan",
    "RunStats",
    "current_rss",
    "estimate_frames",
    "frame_model",
    "load_model_for",
    "make_decoder",
    "output_geometry",
    "plan_memory",
    "plan_run",
    "reuse_for",
    "temporal_stage",
    "upscale",
]
