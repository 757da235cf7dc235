"""Measuring pictures and videos: metrics, image-set and video evaluation, before/after
pictures, and the MATLAB-compatible resize the benchmarks use.

Import the submodules directly (``vidsr.quality.metrics``, ``vidsr.quality.image_sets``, ...);
this package imports nothing on its own. ``metrics``, ``pictures`` and ``resize`` are plain
numpy/torch/cv2 code that the temporal stage and training use; ``image_sets``, ``video`` and
``compare`` sit above the models and the temporal stage and drive them.
"""
