#!/usr/bin/env python3
"""Writes the starting corpus of the fuzz targets into fuzz/seeds/<target>/.

The committed corpus (fuzz/corpus/<target>/) is what `cargo fuzz cmin` kept
of these seeds plus what the fuzzer found; the seeds themselves are not
committed. Run from the repository root after building the CLI:

    cargo build --release
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy opencv-python-headless
    /tmp/venv/bin/python fuzz/make_seeds.py

decode_analyse inputs are one selector byte (pixel size and ROI, see
fuzz/src/lib.rs) followed by the file bytes.
"""
import os
import shutil
import subprocess
import tempfile

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def encode(ext, img, params=()):
    ok, buf = cv2.imencode(ext, img, list(params))
    assert ok
    return buf.tobytes()


def image_seeds():
    tmp = tempfile.mkdtemp()
    try:
        # Small generated fields (about 130 x 100 px), one per scenario.
        subprocess.run(
            [os.path.join(ROOT, "target", "release", "trichometry"), "synth",
             "--out", tmp, "--n", "1", "--seed", "3", "--scenario", "all",
             "--format", "png", "--field-cm2", "0.002"],
            check=True, stdout=subprocess.DEVNULL)
        pngs = sorted(p for p in os.listdir(tmp) if p.endswith(".png"))
        for i, p in enumerate(pngs):
            bgr = cv2.imread(os.path.join(tmp, p), cv2.IMREAD_COLOR)
            bgr = bgr[:96, :128]
            gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            stem = os.path.splitext(p)[0]
            sel = bytes([i % 16])
            write("decode_analyse", stem + ".png", sel + encode(".png", bgr))
            write("decode_analyse", stem + ".jpg", sel + encode(".jpg", bgr, (cv2.IMWRITE_JPEG_QUALITY, 85)))
            if i == 0:
                write("decode_analyse", stem + "_gray.png", sel + encode(".png", gray))
                g16 = gray.astype(np.uint16) * 257
                write("decode_analyse", stem + "_gray16.png", sel + encode(".png", g16))
                write("decode_analyse", stem + "_gray.jpg", sel + encode(".jpg", gray))
                prog = (cv2.IMWRITE_JPEG_PROGRESSIVE, 1)
                write("decode_analyse", stem + "_progressive.jpg", sel + encode(".jpg", bgr, prog))
                bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
                write("decode_analyse", stem + "_rgba.png", sel + encode(".png", bgra))
            if i == 1:
                small = bgr[:48, :64]
                write("decode_analyse", stem + ".bmp", sel + encode(".bmp", small))
                write("decode_analyse", stem + ".tif", sel + encode(".tif", small))
                write("decode_analyse", stem + "_gray.tif", sel + encode(".tif", gray[:48, :64]))
    finally:
        shutil.rmtree(tmp)
    # The bad-input corpus, behind a zero selector.
    reg = os.path.join(ROOT, "fixtures", "regression")
    for p in sorted(os.listdir(reg)):
        if p.endswith((".py", ".md")) or os.path.getsize(os.path.join(reg, p)) > 1000:
            continue
        with open(os.path.join(reg, p), "rb") as f:
            write("decode_analyse", "regression_" + p, b"\0" + f.read())


def manifest_seeds():
    seeds = {
        "count_basic.csv": "image,pixel_size_um\na.jpg,5\nsub/b.png,2.5\n",
        "count_roi_circle.csv": "image,pixel_size_um,roi_cx_px,roi_cy_px,roi_radius_um,site\n"
                                "a.png,5,100,80,2000,vertex\n,5,,,,frontal\nb.png,x,,,,frontal\n",
        "count_roi_rect.csv": "image,roi_x0_px,roi_y0_px,roi_x1_px,roi_y1_px\na.png,0,0,10,10\nb.png,1e3,-4,nan,inf\n",
        "count_bom_quoted.csv": "\ufeffimage,\"pixel_size_um\",note\n\"a, b.jpg\",5,\"x\"\"y\"\n",
        "count_ragged.csv": "image,pixel_size_um\na.png,5,extra\n",
        "study_basic.csv": "subject,visit,image,site,arm,visit_day,replicate,pixel_size_um\n"
                           "S1,baseline,a.jpg,vertex,A,0,1,5\nS1,week16,b.jpg,vertex,A,112,1,5\n"
                           "S2,baseline,c.jpg,vertex,B,0,1,5\nS2,week16,d.jpg,vertex,B,112,2,5\n",
        "study_minimal.csv": "subject,visit,image\nS1,v1,a.jpg\nS1,v2,a.jpg\n",
    }
    for name, text in seeds.items():
        write("manifest", name, text.encode("utf-8"))


def config_seeds():
    seeds = {
        "calibration.toml": "[calibration]\npixel_size_um = 5.0\n",
        "limits.toml": "[limits]\nmax_width_px = 4000\nmax_height_px = 3000\nmax_alloc_bytes = 100000000\nmax_pixels = 1000000\n",
        "schema.toml": "schema_version = 1\n",
        "empty.toml": "",
        "calibration.json": '{"calibration": {"pixel_size_um": 2.5}, "limits": {"max_width_px": 100}}',
    }
    for name, text in seeds.items():
        write("config", name, text.encode("utf-8"))
    # The full default configuration, every key spelt out.
    out = subprocess.run(
        ["cargo", "test", "--quiet", "--test", "fuzz_replay", "print_default_config",
         "--", "--ignored", "--nocapture"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    toml = out.split("=== default config ===\n", 1)[1].split("=== end ===", 1)[0]
    write("config", "default.toml", toml.encode("utf-8"))


if __name__ == "__main__":
    image_seeds()
    manifest_seeds()
    config_seeds()
