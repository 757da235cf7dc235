"""The temporal stage's frame storage on the CPU: a frame as two bands in 16-bit fixed point
(the bicubic-upscaled input and the detail the model added), 12 bytes an output pixel instead
of 24 in float32, finer than any output format; converted a band of rows at a time.

numpy and OpenCV only.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

U16 = 65535.0  # the low band is kept as 16-bit fixed point in [0, 1]
D16 = 32767.0  # the detail band in [-1, 1] as 16-bit fixed point around D0 (remap is 2x
D0 = 32768.0  # faster on uint16 than on int16)


def affine(
    img: np.ndarray, scale: float, offset: float, dtype: int, out: np.ndarray | None = None
) -> np.ndarray:
    """``img * scale + offset`` converted to ``dtype`` (rounded and saturated for integers),
    into ``out`` (contiguous) when given."""
    return cv2.addWeighted(img, scale, img, 0.0, offset, out, dtype=dtype)


@dataclass
class Split:
    """A frame (H, W, 3) as two bands in 16-bit fixed point: ``low`` (the bicubic-upscaled
    input, or its blend) and ``detail`` (the rest); low + detail is the frame within 2e-5."""

    detail: np.ndarray  # uint16, offset D0
    low: np.ndarray  # uint16

    @property
    def size(self) -> tuple[int, int]:
        return self.low.shape[0], self.low.shape[1]

    @classmethod
    def empty(cls, h: int, w: int) -> Split:
        return cls(np.empty((h, w, 3), np.uint16), np.empty((h, w, 3), np.uint16))

    def put(self, rows: slice, frame: np.ndarray, low: np.ndarray) -> None:
        """Store rows of ``frame`` split around ``low`` (float32; clipped to [0, 1] here)."""
        low16 = affine(low, U16, 0.0, cv2.CV_16U, self.low[rows])
        detail = affine(low16, -1.0 / U16, 0.0, cv2.CV_32F)
        cv2.add(detail, frame, dst=detail)
        affine(detail, D16, D0, cv2.CV_16U, self.detail[rows])

    def shift_low(self, rows: slice, up: np.ndarray) -> None:
        """Add ``up`` (float32) to rows of the low band and keep the detail band: the frame
        moves by ``up`` (2 conversions, where a get and a put take 5)."""
        low = affine(self.low[rows], 1 / U16, 0.0, cv2.CV_32F)
        cv2.add(low, up, dst=low)
        affine(low, U16, 0.0, cv2.CV_16U, self.low[rows])

    def get(self, rows: slice) -> tuple[np.ndarray, np.ndarray]:
        """Rows of (detail, low) as float32."""
        return detail_f32(self.detail[rows]), affine(self.low[rows], 1 / U16, 0.0, cv2.CV_32F)


def detail_f32(detail: np.ndarray) -> np.ndarray:
    return affine(detail, 1.0 / D16, -D0 / D16, cv2.CV_32F)
