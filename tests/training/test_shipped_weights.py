"""The shipped vidsr-* weights load through the catalog and reproduce their recorded Set5 scores.

Each ``configs/models/vidsr-*.yaml`` records ``scores`` measured with
:mod:`vidsr.quality.image_sets` (fp32, CPU); this test measures Set5 (and Set5 with JPEG q30 LR,
where recorded) again and allows 0.05 dB.
"""

from __future__ import annotations

import pytest
import yaml

from .conftest import REPO

CATALOG = sorted((REPO / "configs" / "models").glob("vidsr-*.yaml"))
SET5_CASES = {"Set5": 0, "Set5-jpeg30": 30}


def test_each_shipped_model_has_weights_and_a_card() -> None:
    assert len(CATALOG) >= 4
    for path in CATALOG:
        entry = yaml.safe_load(path.read_text())
        weights = REPO / "vidsr" / entry["source"]["path"]
        assert weights.is_file(), weights
        assert weights.stat().st_size < 5_000_000
        assert weights.with_suffix(".md").is_file()
        assert "Set5" in entry["scores"]


@pytest.mark.parametrize("path", CATALOG, ids=[p.stem for p in CATALOG])
def test_shipped_weights_reproduce_their_set5_scores(path, shared_data) -> None:
    from vidsr.config import ModelOptions
    from vidsr.quality.image_sets import evaluate_model

    entry = yaml.safe_load(path.read_text())
    for key, quality in SET5_CASES.items():
        if key not in entry["scores"]:
            continue
        result = evaluate_model(
            ModelOptions(entry["name"], device="cpu", precision="fp32"),
            shared_data / "eval" / "Set5" / "HR",
            jpeg_quality=quality,
            ssim=False,
        )
        assert result["scale"] == entry["scale"]
        assert result["psnr"] == pytest.approx(entry["scores"][key]["psnr"], abs=0.05), key
