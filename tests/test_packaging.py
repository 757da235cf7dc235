"""The wheel: built with ``python -m build``, it holds every subpackage, ``py.typed``, the shipped
weights, the model and training configs and ``__main__``, under the distribution name that is
free on PyPI (``vidsr`` there is another project)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    pytest.importorskip("build", reason="the build package is in the dev extra")
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"  # a copy, so the build leaves no build/ or egg-info in the checkout
    shutil.copytree(
        REPO,
        src,
        ignore=shutil.ignore_patterns(".venv", ".git", "tests", "build", "dist", "*.egg-info",
                                      "__pycache__", ".ruff_cache", ".pytest_cache", "runs", "out"),
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(work), "."],
        cwd=src,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (path,) = work.glob("*.whl")
    assert path.name.startswith("vidsr_upscaler-")
    return zipfile.ZipFile(path)


def test_wheel_holds_every_subpackage_and_data(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    packages = [p.parent for p in (REPO / "vidsr").rglob("__init__.py")]
    for package in packages:
        init = package.relative_to(REPO) / "__init__.py"
        assert init.as_posix() in names, f"{init} is not in the wheel (pyproject packages?)"
    for must in ("vidsr/py.typed", "vidsr/__main__.py", "vidsr/models/archs/srvgg.py"):
        assert must in names
    for yaml_file in (REPO / "configs").rglob("*.yaml"):
        assert f"vidsr/configs/{yaml_file.relative_to(REPO / 'configs').as_posix()}" in names
    for spec in (REPO / "configs" / "models").glob("*.yaml"):
        source = yaml.safe_load(spec.read_text())["source"]
        if source["kind"] == "file":
            assert f"vidsr/{source['path']}" in names, f"{spec.name}: weights not shipped"


def test_wheel_metadata_names_the_distribution_and_the_command(wheel: zipfile.ZipFile) -> None:
    info = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = wheel.read(info).decode()
    assert "\nName: vidsr-upscaler\n" in metadata
    entry_points = wheel.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "vidsr = vidsr.cli:main" in entry_points
