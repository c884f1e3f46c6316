#!/usr/bin/env python
"""How far from a rotation the rotations of real camera files are: the numbers behind
cameras.checks.ROTATION_TOLERANCE (docs/input-checks.md).

    python tools/calibrate_rotation_tolerance.py [CAM_FOLDER_OR_SPARSE_MODEL ...]

Prints, per source, the largest and median entry of |R R^T - I| over its cameras: the cam
files of tests/fixtures (synthetic scenes, the original colmap2mvsnet's output, the float32
cams the original test.py wrote), the DTU training camera as published (6 significant
digits), the COLMAP model of tests/fixtures/colmap_scene, generated scenes of
tools/synthetic (4 seeds), any folder of *_cam.txt / *.txt cams or COLMAP sparse model
given, and the exact rotations rounded to 7..3 significant digits.
"""

import glob
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from cameras.camfile import read_cam  # noqa: E402
from cameras.checks import ROTATION_TOLERANCE, rotation_error  # noqa: E402

FIXTURES = os.path.join(ROOT, "tests", "fixtures")
DTU_TRAIN_CAM_0 = [[0.970263, 0.00747983, 0.241939], [-0.0147429, 0.999493, 0.0282234],
                   [-0.241605, -0.030951, 0.969881]]


def report(name, rotations):
    devs = [rotation_error(R)[0] for R in rotations]
    if devs:
        print("%-58s %4d cams  max %.3g  median %.3g" % (name, len(devs), max(devs), float(np.median(devs))))


def cams_in(folder):
    files = sorted(glob.glob(os.path.join(folder, "*_cam.txt")) or glob.glob(os.path.join(folder, "*.txt")))
    return [read_cam(f).extrinsic[:3, :3] for f in files]


def model_rotations(sparse):
    from mvsnet.colmap.model import read_model

    return [v.extrinsic[:3, :3] for v in read_model(sparse, allow_distorted=True).views]


def main(argv):
    from tools.synthetic import write_dense

    exact = []
    for pattern in ("scene_tiny/cams", "colmap_scene_orig/*/cams", "orig_test_gru", "orig_test_3dcnns"):
        rotations = [R for folder in sorted(glob.glob(os.path.join(FIXTURES, pattern))) for R in cams_in(folder)]
        report("tests/fixtures/" + pattern, rotations)
    report("DTU training camera 0, as published (6 digits)", [np.array(DTU_TRAIN_CAM_0)])
    colmap = model_rotations(os.path.join(FIXTURES, "colmap_scene", "sparse"))
    report("tests/fixtures/colmap_scene/sparse (COLMAP model)", colmap)
    exact += colmap
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = []
        for seed in range(4):
            write_dense(os.path.join(tmp, str(seed)), views=6, width=64, height=48, seed=seed)
            synthetic += cams_in(os.path.join(tmp, str(seed), "cams"))
    report("tools.synthetic dense scenes, seeds 0-3", synthetic)
    exact += synthetic
    for path in argv[1:]:
        if os.path.isfile(os.path.join(path, "cameras.bin")) or os.path.isfile(os.path.join(path, "cameras.txt")):
            rotations = model_rotations(path)
        else:
            rotations = cams_in(path)
        report(path, rotations)
    for digits in (7, 6, 5, 4, 3):
        rounded = [np.array([[float("%.*g" % (digits, x)) for x in row] for row in R]) for R in exact]
        report("exact rotations printed with %d significant digits" % digits, rounded)
    for scale in (1.0001, 1.0005, 1.001):
        print("a rotation scaled by %-38g max %.3g" % (scale, rotation_error(exact[0] * scale)[0]))
    print("tolerance (cameras.checks.ROTATION_TOLERANCE): %g" % ROTATION_TOLERANCE)


if __name__ == "__main__":
    main(sys.argv)
