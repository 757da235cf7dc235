"""The temporal stage: motion-compensated stabilisation of per-frame SR output (a post stage).

One module a job: :mod:`~vidsr.temporal.tuning` (the knobs), :mod:`~vidsr.temporal.motion`
(flow and trust on the small input), :mod:`~vidsr.temporal.storage` (16-bit fixed-point bands),
:mod:`~vidsr.temporal.blend_cpu` and :mod:`~vidsr.temporal.blend_torch` (the full-resolution
work with OpenCV or torch: the same functions), :mod:`~vidsr.temporal.stage` (the stabiliser)
and :mod:`~vidsr.temporal.align` (neighbours aligned for multi-frame models). Importing the
package registers nothing; it only names the public API.
"""

from vidsr.temporal.stage import TemporalStabilizer
from vidsr.temporal.tuning import FAITHFUL, STEADY, Tuning, tuning_digest

__all__ = ["FAITHFUL", "STEADY", "TemporalStabilizer", "Tuning", "tuning_digest"]
