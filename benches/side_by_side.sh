#!/usr/bin/env bash
# Side-by-side timing of `trichometry count` and the OpenCV reference pipeline
# on the same generated images, in one run, alternating the two tools.
#
#     benches/side_by_side.sh
#
# What it does:
#   1. builds the release binary (`cargo build --release --bin trichometry`);
#   2. creates a Python virtual environment with numpy and
#      opencv-python-headless if it does not exist yet;
#   3. makes deterministic images with `make_bench_images.py` (1, 4 and 12 MP,
#      JPEG and PNG) in a temporary folder that is removed at the end;
#   4. for ROUNDS rounds, for every image, runs `trichometry count` (one
#      process per image, `--jobs 1`, JSONL to /dev/null) and the OpenCV
#      reference (`--threads 1`) one after the other, swapping which goes
#      first every round;
#   5. prints, per size and format, the median (min–max) ms per image of each
#      tool and the ratio of the medians, trichometry / OpenCV.
#
# Timing: trichometry is the wall time of the whole process (start-up, file
# read, input hash, decode, analysis, report). The OpenCV figure is the time
# the reference script measures itself, decode to count, which leaves out the
# Python start-up and the file read. The comparison therefore favours OpenCV.
#
# Settings (environment variables):
#   ROUNDS=3          rounds over every image
#   COUNT=2           images per size and format
#   SIZES=s1mp,s4mp,s12mp   sizes, as named by make_bench_images.py
#   FORMATS=jpg,png   formats
#   PIXEL_SIZE_UM=5   pixel size given to both tools
#   BENCH_VENV=.venv  virtual environment (created if missing; keep it out of git)
#   BENCH_SCRIPTS=../shared/bench   folder holding make_bench_images.py and
#                     opencv_reference.py
#   TRICHOMETRY_BIN   use this binary instead of building one
#   KEEP_IMAGES=DIR   generate into DIR and keep the images
#
# It is slow (minutes), so it is not part of `cargo test`, `cargo bench` or CI.
set -euo pipefail

die() {
    echo "side_by_side: $*" >&2
    exit 1
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${ROUNDS:-3}
count=${COUNT:-2}
sizes=${SIZES:-s1mp,s4mp,s12mp}
formats=${FORMATS:-jpg,png}
px=${PIXEL_SIZE_UM:-5}
venv=${BENCH_VENV:-$repo/.venv}
scripts=${BENCH_SCRIPTS:-$repo/../shared/bench}

((BASH_VERSINFO[0] >= 5)) || die "needs bash 5 or later (for EPOCHREALTIME)"
command -v python3 >/dev/null 2>&1 ||
    die "python3 not found: install Python 3 (with the venv module) to run the OpenCV reference"
[[ -f $scripts/make_bench_images.py && -f $scripts/opencv_reference.py ]] ||
    die "make_bench_images.py and opencv_reference.py not found in $scripts (set BENCH_SCRIPTS)"
[[ $rounds =~ ^[1-9][0-9]*$ && $count =~ ^[1-9][0-9]*$ ]] ||
    die "ROUNDS and COUNT must be positive integers"

# Python environment for the image maker and the reference.
py=$venv/bin/python
if ! [[ -x $py ]] || ! "$py" -c 'import cv2, numpy' >/dev/null 2>&1; then
    echo "side_by_side: preparing $venv (numpy, opencv-python-headless)" >&2
    if ! [[ -x $py ]]; then
        python3 -m venv "$venv" ||
            die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
    fi
    "$py" -m pip install --quiet numpy opencv-python-headless ||
        die "pip install numpy opencv-python-headless failed"
fi

# The release binary.
if [[ -n ${TRICHOMETRY_BIN:-} ]]; then
    bin=$TRICHOMETRY_BIN
else
    command -v cargo >/dev/null 2>&1 || die "cargo not found (or set TRICHOMETRY_BIN)"
    (cd "$repo" && cargo build --release --quiet --bin trichometry) || die "cargo build failed"
    bin=${CARGO_TARGET_DIR:-$repo/target}/release/trichometry
fi
[[ -x $bin ]] || die "no binary at $bin"

# Images.
if [[ -n ${KEEP_IMAGES:-} ]]; then
    dir=$KEEP_IMAGES
    mkdir -p "$dir"
else
    dir=$(mktemp -d "${TMPDIR:-/tmp}/trichometry-side-by-side.XXXXXX")
    trap 'rm -rf "$dir"' EXIT
fi
echo "side_by_side: making images in $dir" >&2
"$py" "$scripts/make_bench_images.py" --count "$count" --sizes "$sizes" \
    --formats "$formats" --out "$dir" >/dev/null

samples=$dir/samples.tsv
: >"$samples"

run_trichometry() { # image size format
    local t0 t1
    t0=$EPOCHREALTIME
    "$bin" count --jobs 1 --pixel-size-um "$px" --format jsonl "$1" >/dev/null ||
        die "trichometry count failed on $1"
    t1=$EPOCHREALTIME
    # EPOCHREALTIME is seconds with six decimals: drop the separator for µs.
    local us=$((10#${t1/[.,]/} - 10#${t0/[.,]/}))
    printf 'trichometry\t%s\t%s\t%d.%03d\n' "$2" "$3" $((us / 1000)) $((us % 1000)) >>"$samples"
}

run_opencv() { # image size format
    local line ms
    line=$("$py" "$scripts/opencv_reference.py" --threads 1 --pixel-size-um "$px" "$1" 2>/dev/null) ||
        die "opencv_reference.py failed on $1"
    ms=$("$py" -c 'import json, sys; print(json.loads(sys.argv[1])["ms"])' "$line")
    printf 'opencv\t%s\t%s\t%s\n' "$2" "$3" "$ms" >>"$samples"
}

IFS=, read -r -a size_list <<<"$sizes"
IFS=, read -r -a format_list <<<"$formats"
for ((round = 1; round <= rounds; round++)); do
    echo "side_by_side: round $round of $rounds" >&2
    for size in "${size_list[@]}"; do
        for fmt in "${format_list[@]}"; do
            for ((i = 0; i < count; i++)); do
                img=$(printf '%s/%s_%02d.%s' "$dir" "$size" "$i" "$fmt")
                [[ -f $img ]] || die "missing $img"
                if ((round % 2)); then
                    run_trichometry "$img" "$size" "$fmt"
                    run_opencv "$img" "$size" "$fmt"
                else
                    run_opencv "$img" "$size" "$fmt"
                    run_trichometry "$img" "$size" "$fmt"
                fi
            done
        done
    done
done

"$py" - "$samples" "$sizes" "$formats" "$rounds" "$count" "$px" <<'EOF'
import statistics
import sys

path, sizes, formats, rounds, count, px = sys.argv[1:]
data = {}
for line in open(path):
    tool, size, fmt, ms = line.rstrip("\n").split("\t")
    data.setdefault((tool, size, fmt), []).append(float(ms))
names = {"s1mp": "1 MP (1024 × 1024)", "s4mp": "4 MP (2048 × 2048)", "s12mp": "12 MP (4000 × 3000)"}
print(f"\n{rounds} rounds × {count} images per row, {px} µm/px, one thread each; "
      "median (min–max) ms per image\n")
print("| size | format | trichometry count | OpenCV reference | ratio trichometry / OpenCV |")
print("|---|---|---|---|---|")
for size in sizes.split(","):
    for fmt in formats.split(","):
        t = data.get(("trichometry", size, fmt))
        o = data.get(("opencv", size, fmt))
        if not t or not o:
            continue
        cell = lambda v: f"{statistics.median(v):.0f} ({min(v):.0f}–{max(v):.0f})"
        ratio = statistics.median(t) / statistics.median(o)
        print(f"| {names.get(size, size)} | {fmt.upper()} | {cell(t)} | {cell(o)} | {ratio:.2f}× |")
EOF
