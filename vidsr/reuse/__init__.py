"""Skip what did not change: the model runs only on the regions of a frame whose input moved.

``level`` parses ``--reuse`` (no torch; the options check it), ``changes`` computes the change
map of a frame, ``regions`` runs the model on the changed regions and keeps the rest.
"""
