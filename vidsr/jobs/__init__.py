"""Long jobs: resumable segmented runs, folder batches, process and Ray parallelism.

from vidsr.jobs import JobOptions, run_job, run_batch
run_job("film.mkv", "film_x2.mkv", UpscaleOptions.of(scale=2), JobOptions(workers=2))
"""

from __future__ import annotations

from vidsr.config import JobOptions
from vidsr.jobs.batch import BatchRow, find_inputs, is_batch_input, run_batch, summary_table
from vidsr.jobs.job import Job, JobResult, job_folder, run_job

__all__ = [
    "BatchRow",
    "Job",
    "JobOptions",
    "JobResult",
    "find_inputs",
    "is_batch_input",
    "job_folder",
    "run_batch",
    "run_job",
    "summary_table",
]
