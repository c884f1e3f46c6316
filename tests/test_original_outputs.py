"""Files written by the ORIGINAL test.py (tests/fixtures/orig_test_*, see fixtures/README.md):
our writers reproduce them byte for byte, and our camera pipeline gives the same cameras."""

import glob
import os

import cv2
import numpy as np
import pytest

from cameras.camfile import format_cam, read_cam
from cameras.dense_folder import fill_missing_views, list_dense_folder, read_view_cams
from mvsnet import preprocess
from cameras.pfm import pfm_bytes, read_pfm

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
RUNS = {"orig_test_gru": 5, "orig_test_3dcnns": 5, "orig_test_gru_v3": 3, "orig_test_3dcnns_v3": 3}
SCENE = os.path.join(FIXTURES, "scene_tiny")


def files(pattern):
    found = sorted(glob.glob(os.path.join(FIXTURES, "orig_test_*", pattern)))
    assert len(found) == 5 * len(RUNS) * (2 if pattern == "*.pfm" else 1), "fixtures of the original test.py missing"
    return found


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_pfm_rewrite_is_byte_identical():
    for path in files("*.pfm"):
        image = read_pfm(path)
        assert image.shape == (32, 40)
        assert pfm_bytes(image) == read(path), path


def test_cam_rewrite_is_byte_identical():
    for path in files("*.txt"):
        cam = read_cam(path)
        assert format_cam(cam, dtype=np.float32).encode() == read(path), path


@pytest.mark.parametrize("run", sorted(RUNS))
def test_camera_pipeline_matches_original(run):
    """test.py's path for the reference camera: read (interval_scale 0.8, max_d 32), adaptive
    scale, crop to 160x128, scale by 0.25, written as float32."""
    view_num = RUNS[run]
    for view_set in list_dense_folder(SCENE, view_num):
        filled = fill_missing_views(view_set, view_num)
        cams = read_view_cams(view_set, view_num, interval_scale=0.8, max_d=32)
        shapes = [cv2.imread(p).shape for p in filled.image_paths]
        scale = preprocess.adaptive_scale(shapes, max_w=160, max_h=128)
        assert scale == 128 / 150.0
        images = [np.zeros(s, np.uint8) for s in shapes]
        images, cams = preprocess.scale_mvs_input(images, cams, scale=scale)
        assert images[0].shape == (128, 171, 3)
        images, cams = preprocess.crop_mvs_input(images, cams, max_w=160, max_h=128, base_image_size=8)
        cams = preprocess.scale_mvs_camera(cams, 0.25)
        expected = read(os.path.join(FIXTURES, run, "%08d.txt" % view_set.ref_index))
        assert format_cam(cams[0].to_array().astype(np.float32)).encode() == expected
