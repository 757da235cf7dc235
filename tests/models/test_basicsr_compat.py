"""vidsr.models.basicsr_compat: the default model's network loads without basicsr's package
``__init__`` (which pulls torchvision, torch._dynamo, scipy.stats and cv2: about 0.28 GB resident,
issue 17), and a full import of basicsr afterwards still works and shares the registry."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import sys
from vidsr.models.archs import ArchInfo, build_module
from vidsr.models.archs.srvgg import ARCH
net = build_module(ArchInfo(ARCH, 4, dict(ARCH.default_params)))
print(sorted(m for m in ("torchvision", "torch._dynamo", "scipy.stats", "cv2", "basicsr.data")
             if m in sys.modules))
from vidsr.models.basicsr_compat import basicsr_attr, network_class
basicsr_attr("utils.matlab_functions", "imresize")  # the whole package, alias installed
import basicsr.archs.srvgg_arch as srvgg
from basicsr.utils.registry import ARCH_REGISTRY
print(type(net) is srvgg.SRVGGNetCompact is network_class("archs.srvgg_arch", "SRVGGNetCompact"),
      ARCH_REGISTRY.get("SRVGGNetCompact_basicsr") is srvgg.SRVGGNetCompact,
      "RRDBNet" in ARCH_REGISTRY)
"""


def test_default_network_skips_basicsr_package_then_full_import_works() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["[]", "True True True"]
