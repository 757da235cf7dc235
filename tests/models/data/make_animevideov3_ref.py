"""Regenerate ``animevideov3_ref.npz`` from the golden ncnn outputs in ``../shared/data/golden``.

The reference is ncnn's own output (an independent implementation), not ours: the LR input is a
52x52 crop (rows/cols 6..57) of the golden 64x64 input, stored as uint8 (the golden input is
exactly uint8/255), and the expected output is ncnn's output for LR rows/cols 24..39 (HR 96..159).
Those 16x16 LR pixels lie 18 px (the receptive field of the 18 3x3 convolutions) inside both the
crop and the full frame, so zero padding at either border cannot reach them: running the model on
the crop must give ncnn's numbers there.

Run: .venv/bin/python tests/models/data/make_animevideov3_ref.py
"""

from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "golden"
CROP = slice(6, 58)  # LR crop fed to the model
CENTRE = slice(24, 40)  # LR pixels whose output is compared
SCALE = 4


def main() -> None:
    lr = np.load(GOLDEN / "animevideov3_x4_input.npy")
    hr = np.load(GOLDEN / "animevideov3_x4_output_ncnn.npy")
    lr_u8 = np.round(lr * 255).astype(np.uint8)
    if not np.array_equal(lr_u8.astype(np.float32) / 255, lr):
        raise SystemExit("golden input is not uint8/255")
    hr_slice = slice(CENTRE.start * SCALE, CENTRE.stop * SCALE)
    np.savez_compressed(
        Path(__file__).with_name("animevideov3_ref.npz"),
        input_u8=lr_u8[:, CROP, CROP],
        expected=hr[:, hr_slice, hr_slice].astype(np.float32),
        centre_offset=np.int64(CENTRE.start - CROP.start),
        centre_size=np.int64(CENTRE.stop - CENTRE.start),
    )


if __name__ == "__main__":
    main()
