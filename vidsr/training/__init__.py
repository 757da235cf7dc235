"""Training vidsr's own residual SR networks: data, degradations, losses, loop, checkpoints.

Import the submodules directly (``vidsr.training.loop``, ``vidsr.training.data``, ...); this
package does no work at import time.
"""
