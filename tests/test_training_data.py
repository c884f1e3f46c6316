"""Training / validation samples (mvsnet.training.data) and the online photometric
augmentation, on tiny synthetic DTU-layout sets (tools/synthetic) and hand-made
BlendedMVS / ETH3D layouts."""

import os
import shutil

import cv2
import numpy as np
import pytest

from cameras.camera import Camera
from cameras.camfile import read_cam, write_cam
from cameras.errors import InputError
from cameras.pair import read_pair, write_pair
from mvsnet.training import data
from cameras.pfm import read_pfm, write_pfm
from tools import synthetic

W, H = 96, 64          # images; depth maps are 24 x 16


@pytest.fixture(scope="module")
def dtu_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("dtu") / "dtu")
    synthetic.write_dtu(root, scans=[2, 3, 6], views=3, width=W, height=H, seed=0)
    return root


def _copy(root, tmp_path):
    out = str(tmp_path / "dtu")
    shutil.copytree(root, out)
    return out


def test_dtu_sample_list_is_the_originals(dtu_root):
    samples = data.sample_list("dtu", dtu_root, 3, "training")
    pairs = read_pair(os.path.join(dtu_root, "Cameras", "pair.txt"))
    # training scans 2 and 6 (3 is a validation scan), 7 lightings, 3 reference views
    assert len(samples) == 2 * 7 * 3
    first = samples.samples[0]
    ref, sources = pairs[0][0], [s for s, _ in pairs[0][1][:2]]
    expected = []
    for view in [ref] + sources:
        expected += [os.path.join(dtu_root, "Rectified", "scan2_train", "rect_%03d_0_r5000.png" % (view + 1)),
                     os.path.join(dtu_root, "Cameras", "train", "%08d_cam.txt" % view)]
    expected.append(os.path.join(dtu_root, "Depths", "scan2_train", "depth_map_%04d.pfm" % ref))
    assert first == expected
    assert {p[0].split(os.sep)[-2] for p in samples.samples} == {"scan2_train", "scan6_train"}
    assert {p[0][-11] for p in samples.samples} == set("0123456")        # lightings 0..6
    # the 77 other training scans are missing: skipped, listed in one warning line
    assert len(samples.missing_groups) == 77 and "scan7" in samples.missing_groups
    warning = samples.warning()
    assert "\n" not in warning and warning.startswith("77 of 79 scans missing under %s" % dtu_root)
    assert "scan128" in warning and "scan2," not in warning

    val = data.sample_list("dtu", dtu_root, 3, "validation")
    assert len(val) == 3 and all("scan3_train" in p[0] and p[0].endswith("_3_r5000.png") for p in val.samples)
    assert val.warning().startswith("17 of 18 scans missing")


def test_missing_files_skip_their_samples(dtu_root, tmp_path):
    root = _copy(dtu_root, tmp_path)
    os.remove(os.path.join(root, "Rectified", "scan6_train", "rect_001_4_r5000.png"))
    samples = data.sample_list("dtu", root, 3, "training")
    # view 0 at lighting 4 of scan 6 is used by every reference view of that lighting
    assert len(samples) == 2 * 7 * 3 - 3 and samples.skipped_samples == 3
    assert "3 samples skipped for 1 missing files" in samples.warning()
    shutil.rmtree(os.path.join(root, "Depths", "scan2_train"))
    samples = data.sample_list("dtu", root, 3, "training")
    assert "scan2" in samples.missing_groups and len(samples) == 7 * 3 - 3


def test_no_sample_is_an_error(dtu_root, tmp_path):
    root = _copy(dtu_root, tmp_path)
    for scan in (2, 6):
        shutil.rmtree(os.path.join(root, "Rectified", "scan%d_train" % scan))
    with pytest.raises(InputError, match="no dtu sample found: none of the 79 scans"):
        data.sample_list("dtu", root, 3, "training")
    with pytest.raises(InputError, match="does not exist"):
        data.sample_list("dtu", str(tmp_path / "nowhere"), 3, "training")
    os.remove(os.path.join(root, "Cameras", "pair.txt"))
    with pytest.raises(InputError, match="pair.txt: pair file does not exist"):
        data.sample_list("dtu", root, 3, "training")


def test_dtu_training_sample(dtu_root, tmp_path):
    root = _copy(dtu_root, tmp_path)
    samples = data.sample_list("dtu", root, 3, "training")
    paths = samples.samples[0]
    gt = read_pfm(paths[-1])
    gt[0, :4] = [440.0, 457.0, 873.0, 880.0]       # relaxed range at max_d 16: (457, 873]
    write_pfm(paths[-1], gt)
    opts = data.DataOptions(dataset="dtu", view_num=3, max_d=16)
    images, cams, depth = data.load_training_sample(paths, opts)
    assert images.shape == (3, H, W, 3) and images.dtype == np.uint8
    assert np.array_equal(images[1], cv2.imread(paths[2]))              # BGR, unscaled
    assert cams.shape == (3, 2, 4, 4) and cams.dtype == np.float64
    interval = (937.0 - 425.0) / 16
    assert cams[0, 1, 3].tolist() == [425.0, interval, 16.0, 937.0]
    raw = read_cam(paths[3], max_d=16).to_array()
    assert np.array_equal(cams[1], raw)                                  # sources untouched
    assert np.array_equal(cams[0, 1, :3, :3], read_cam(paths[1]).intrinsic)   # not rescaled
    assert depth.shape == (H // 4, W // 4, 1)
    keep = (gt > 425 + interval) & (gt <= 425 + 14 * interval)
    assert np.array_equal(depth[..., 0], np.where(keep, gt, 0))
    assert depth[0, :4, 0].tolist() == [0.0, 0.0, 873.0, 0.0]


def test_gru_items_come_twice_with_the_depth_order_reversed(dtu_root):
    samples = data.sample_list("dtu", dtu_root, 3, "training").samples[:2]
    opts = data.DataOptions(dataset="dtu", view_num=3, max_d=16)
    errors = data.ItemErrors()
    gru = list(data.training_items(samples, opts, "GRU", errors, repeat=False))
    cnn = list(data.training_items(samples, opts, "3DCNNs", errors, repeat=False))
    assert not errors and len(gru) == 4 and len(cnn) == 2
    forward, backward = gru[0][1], gru[1][1]
    assert forward.dtype == np.float32 and np.array_equal(gru[0][0], gru[1][0])
    assert np.array_equal(forward, cnn[0][1])
    assert backward[0, 1, 3, 0] == np.float32(425.0 + 15 * 32.0)
    assert backward[0, 1, 3, 1] == np.float32(-32.0)
    assert np.array_equal(backward[1:], forward[1:])


def test_unreadable_file_stops_the_items_with_its_name(dtu_root, tmp_path):
    root = _copy(dtu_root, tmp_path)
    samples = data.sample_list("dtu", root, 3, "training").samples
    with open(samples[1][-1], "wb") as fh:
        fh.write(b"not a pfm")
    errors = data.ItemErrors()
    items = list(data.training_items(samples, data.DataOptions(max_d=16), "3DCNNs", errors))
    assert len(items) == 1 and len(errors) == 1
    with pytest.raises(InputError, match="depth_map_0001.pfm: not a PFM file"):
        errors.check()


def test_wrong_sizes_are_reported(dtu_root, tmp_path):
    root = _copy(dtu_root, tmp_path)
    samples = data.sample_list("dtu", root, 3, "training").samples
    path = samples[0][-1]
    write_pfm(path, np.ones((10, 10), np.float32))
    with pytest.raises(InputError, match="depth map is 10x10 .* need 24x16"):
        data.load_training_sample(samples[0], data.DataOptions(max_d=16))


def test_validation_sample_gets_max_d_planes_on_every_camera(dtu_root):
    samples = data.sample_list("dtu", dtu_root, 3, "validation").samples
    opts = data.DataOptions(dataset="dtu", view_num=3, max_d=8, interval_scale=40.0)
    images, cams, depth = data.load_validation_sample(samples[0], opts)
    # cam files say "425 2.5": interval 2.5 * 40, 8 planes, max 425 + 800
    for view in range(3):
        assert cams[view, 1, 3].tolist() == [425.0, 100.0, 8.0, 1225.0]
    gt = read_pfm(samples[0][-1])
    assert np.array_equal(depth[..., 0], np.where((gt > 525) & (gt <= 1025), gt, 0))


def test_dataset_standardises_every_view(dtu_root):
    samples = data.sample_list("dtu", dtu_root, 3, "training").samples
    errors = data.ItemErrors()
    dataset = data.training_dataset(samples[:3], data.DataOptions(max_d=16), "GRU", 2, errors)
    images, cams, depth = next(iter(dataset))
    assert images.shape == (2, 3, H, W, 3) and cams.shape == (2, 3, 2, 4, 4)
    assert depth.shape == (2, H // 4, W // 4, 1)
    flat = images.numpy().reshape(2, 3, -1)
    assert np.allclose(flat.mean(-1), 0, atol=1e-4) and np.allclose(flat.std(-1), 1, atol=1e-3)
    assert cams[1, 0, 1, 3, 1] < 0 < cams[0, 0, 1, 3, 1]           # forward then backward


def test_online_augmentation():
    import tensorflow as tf
    from mvsnet.training import augmentation as photaug

    assert photaug.AUGMENTATIONS == ("random_brightness", "random_contrast", "motion_blur")
    image = np.random.default_rng(0).uniform(0, 255, (32, 40, 3)).astype(np.float32)
    out = photaug.online_augmentation(tf.constant(image)).numpy()
    assert out.shape == image.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255 and not np.array_equal(out, image)
    every = photaug.online_augmentation(tf.constant(image), primitives=photaug.ALL_PRIMITIVES).numpy()
    assert every.shape == image.shape and every.min() >= 0 and every.max() <= 255
    for mode in ("h", "v", "diag_down", "diag_up"):
        kernel = photaug.motion_blur_kernel(mode, 3)
        assert kernel.shape == (3, 3) and abs(kernel.sum() - 1) < 1e-12 and np.count_nonzero(kernel) == 3
    assert np.array_equal(photaug.motion_blur_kernel("h", 1), [[1.0]])
    errors = data.ItemErrors()
    # augmentation runs inside the input pipeline, before the standardisation
    images = data.prepare_images(tf.constant(np.stack([image, image])), augment=True).numpy()
    assert images.shape == (2, 32, 40, 3) and abs(images.mean()) < 1e-3 and not errors


def _camera(f, cx, cy, depth=(0.0, 0.0, 0.0, 0.0), shift=0.0):
    ext = np.eye(4)
    ext[0, 3] = shift
    return Camera(ext, [[f, 0, cx], [0, f, cy], [0, 0, 1]], *depth)


def test_blendedmvs_layout(tmp_path):
    root = tmp_path / "blended"
    project = root / "5a3ca9cb270f0e3f14d0eddb"
    for sub in ("cams", "blended_images", "rendered_depth_maps"):
        (project / sub).mkdir(parents=True)
    (root / "BlendedMVS_training.txt").write_text("5a3ca9cb270f0e3f14d0eddb\nmissing_project\n")
    write_pair(str(project / "cams" / "pair.txt"),
               [(0, [(1, 9.0), (2, 8.0)]), (1, [(0, 9.0), (2, 7.0)]), (2, [(0, 8.0)])])
    rng = np.random.default_rng(0)
    for view in range(3):
        cv2.imwrite(str(project / "blended_images" / ("%08d_masked.jpg" % view)),
                    rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
        write_cam(str(project / "cams" / ("%08d_cam.txt" % view)),
                  _camera(80.0, 48.0, 32.0, (500.0, 2.0, 192.0, 900.0), shift=10.0 * view))
        write_pfm(str(project / "rendered_depth_maps" / ("%08d.pfm" % view)),
                  rng.uniform(400, 1000, (64, 96)).astype(np.float32))
    samples = data.sample_list("blendedmvs", str(root), 3, "training")
    assert len(samples) == 2 and samples.few_sources == 1       # view 2 has one source
    assert samples.missing_groups == ["missing_project"]
    assert samples.samples[1][0].endswith("00000001_masked.jpg")
    assert samples.samples[1][-1].endswith(os.path.join("rendered_depth_maps", "00000001.pfm"))
    opts = data.DataOptions(dataset="blendedmvs", view_num=3, max_d=8)
    images, cams, depth = data.load_training_sample(samples.samples[0], opts)
    assert images.shape == (3, 64, 96, 3)
    assert cams[1, 1, :3, :3].tolist() == [[20.0, 0, 12.0], [0, 20.0, 8.0], [0, 0, 1]]
    assert cams[0, 1, 3].tolist() == [500.0, 50.0, 8.0, 900.0]
    full = read_pfm(samples.samples[0][-1])
    small = cv2.resize(full, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(depth[..., 0], np.where((small > 550) & (small <= 800), small, 0))
    with pytest.raises(InputError, match="BlendedMVG_training.txt: project list does not exist"):
        data.sample_list("blendedmvg", str(root), 3, "training")


def test_eth3d_layout(tmp_path):
    root = tmp_path / "eth3d"
    scene = root / "electro"
    for sub in ("cams", "images/images_rig_cam4_undistorted", "depths/images_rig_cam4"):
        (scene / sub).mkdir(parents=True)
    (scene / "cams" / "index2prefix.txt").write_text(
        "3\n0 images_rig_cam4_undistorted/a.png\n1 images_rig_cam4_undistorted/b.png\n"
        "2 images_rig_cam4_undistorted/c.png\n")
    write_pair(str(scene / "cams" / "pair.txt"),
               [(0, [(1, 9.0), (2, 8.0)]), (1, [(0, 9.0), (2, 7.0)]), (2, [(0, 8.0), (1, 1.0)])])
    rng = np.random.default_rng(1)
    for view, name in enumerate("abc"):
        cv2.imwrite(str(scene / "images" / "images_rig_cam4_undistorted" / (name + ".png")),
                    rng.integers(0, 255, (150, 141, 3), dtype=np.uint8))
        write_cam(str(scene / "cams" / ("%08d_cam.txt" % view)),
                  _camera(100.0, 70.0, 75.0, (1.0, 0.01, 192.0, 9.0), shift=0.1 * view))
        write_pfm(str(scene / "depths" / "images_rig_cam4" / (name + ".pfm")),
                  rng.uniform(0.5, 10, (150, 141)).astype(np.float32))
    samples = data.sample_list("eth3d", str(root), 3, "training")
    assert len(samples) == 3 and sorted(samples.missing_groups) == ["delivery_area", "forest"]
    assert samples.samples[2][-1] == str(scene / "depths" / "images_rig_cam4" / "c.pfm")
    opts = data.DataOptions(dataset="eth3d", view_num=3, max_d=8, max_w=128, max_h=128)
    images, cams, depth = data.load_training_sample(samples.samples[0], opts)
    # centre crop 141x150 -> 128x128 (offsets 6, 11: Python-2 floor), then K / 4
    assert images.shape == (3, 128, 128, 3)
    assert np.array_equal(images[0], cv2.imread(samples.samples[0][0])[11:139, 6:134])
    assert cams[0, 1, :3, :3].tolist() == [[25.0, 0, 16.0], [0, 25.0, 16.0], [0, 0, 1]]
    assert depth.shape == (32, 32, 1)
    with pytest.raises(InputError, match="lower --max_w"):
        data.load_training_sample(samples.samples[0], data.DataOptions(
            dataset="eth3d", view_num=3, max_d=8, max_w=160, max_h=128))
