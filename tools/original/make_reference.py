"""Inputs and outputs of the ORIGINAL graph for one checkpoint, as an .npz (a parity reference).

usage: ORACLE_PY make_reference.py [--orig_repo ORIG_REPO] CKPT OUT.npz --scene DIR
           [--regularization GRU|3DCNNs] [--views 3] [--height 128] [--width 160]
           [--depth_num 32] [--ref 0]
       ORACLE_PY make_reference.py [--orig_repo ORIG_REPO] CKPT OUT.npz --inputs REF.npz
           [--regularization GRU|3DCNNs]

Restores CKPT (a TF1 checkpoint in the released layout, e.g. from make_ckpt.py) into the
original graphs and records, for inputs cut from DIR:
  GRU:    inference_winner_take_all (inverse_depth True and False) -> wta_depth_inv/lin,
          wta_prob_inv/lin; inference_prob_recurrent + mvsnet_classification_loss ->
          prob_volume, loss, mae, less_one, less_three, wta_train_depth, grad/<var>
  3DCNNs: inference_mem (test.py's path) -> depth, prob; inference + mvsnet_regression_loss
          (training path) -> train_depth, train_prob, loss, less_one, less_three, grad/<var>
plus the inputs: images, cams, gt_depth, depth_start, depth_interval, depth_end, depth_num.

DIR is a dense folder (images/%08d.jpg, cams/%08d_cam.txt, pair.txt) with the ground truth
of the reference view, gt/%08d_depth.npy (float32, image size, 0 = invalid). The reference
view REF and its first VIEWS-1 sources (pair.txt) are resized to WIDTHxHEIGHT and centred per
image; cameras are scaled to the 1/4 feature map; the depth range is the ground truth of the
reference view at the 1/4 map widened to [0.95 min, 1.02 max], DEPTH_NUM planes.
With --inputs, the inputs (images, cams, gt_depth, depth_num) are those stored in REF.npz, an
earlier output of this script: the outputs are recomputed for exactly the same inputs.
"""
import argparse
import os
import sys

import cv2
import numpy as np

import original

GRAD_VARS = ["prob_conv/kernel", "conv_gru1/Gates/conv/kernel", "conv_gru3/Output/LayerNorm/gamma",
             "2dconv0_1/kernel", "conv10_2/kernel", "3dconv0_1/kernel", "3dconv6_2/kernel"]


def read_cam(path):
    words = open(path).read().split()
    cam = np.zeros((2, 4, 4))
    cam[0] = np.array(words[1:17], float).reshape(4, 4)
    cam[1, :3, :3] = np.array(words[18:27], float).reshape(3, 3)
    return cam


def view_order(scene, ref, views):
    path = os.path.join(scene, "pair.txt")
    try:
        words = open(path).read().split()
        pos = 1
        for _ in range(int(words[0])):
            r, k = int(words[pos]), int(words[pos + 1])
            sources = [int(words[pos + 2 + 2 * j]) for j in range(k)]
            pos += 2 + 2 * k
            if r == ref:
                if len(sources) < views - 1:
                    raise original.HarnessError(path, "view %d has %d sources, %d needed"
                                                % (ref, len(sources), views - 1))
                return [r] + sources[:views - 1]
    except (OSError, ValueError, IndexError) as err:
        raise original.HarnessError(path, "unreadable pair file (%s)" % err)
    raise original.HarnessError(path, "no reference view %d" % ref)


def need_file(path):
    if not os.path.isfile(path):
        raise original.HarnessError(path, "missing")
    return path


def scene_inputs(scene, ref, views, H, W, D):
    imgs, cams = [], []
    for v in view_order(scene, ref, views):
        img = cv2.imread(need_file(os.path.join(scene, "images", "%08d.jpg" % v)))
        if img is None:
            raise original.HarnessError(os.path.join(scene, "images", "%08d.jpg" % v), "unreadable image")
        img = img.astype(np.float32)
        sx, sy = W / img.shape[1], H / img.shape[0]
        img = cv2.resize(img, (W, H), interpolation=cv2.INTER_LINEAR)
        img = (img - img.mean((0, 1))) / (img.std((0, 1)) + 1e-8)
        cam = read_cam(need_file(os.path.join(scene, "cams", "%08d_cam.txt" % v)))
        cam[1, 0, :3] *= sx * 0.25  # full-res image -> network image -> 1/4 feature map
        cam[1, 1, :3] *= sy * 0.25
        imgs.append(img)
        cams.append(cam)
    gt = np.load(need_file(os.path.join(scene, "gt", "%08d_depth.npy" % ref)))
    gt = cv2.resize(gt, (W // 4, H // 4), interpolation=cv2.INTER_NEAREST)
    valid = gt[gt > 0]
    if valid.size == 0:
        raise original.HarnessError(os.path.join(scene, "gt", "%08d_depth.npy" % ref), "no valid depth")
    dmin, dmax = float(valid.min()) * 0.95, float(valid.max()) * 1.02
    cams[0][1, 3, :] = [dmin, (dmax - dmin) / (D - 1), D, dmax]
    gt = np.where((gt > dmin) & (gt < dmax), gt, 0)
    return (np.stack(imgs)[None].astype(np.float32), np.stack(cams)[None].astype(np.float32),
            gt[None, :, :, None].astype(np.float32))


def main():
    repo, argv = original.repo_from_argv(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ckpt")
    ap.add_argument("out")
    ap.add_argument("--regularization", default="GRU", choices=("GRU", "3DCNNs"))
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--scene", help="dense folder with gt/ of the reference view")
    source.add_argument("--inputs", help="take the inputs stored in this earlier output")
    ap.add_argument("--views", type=int, default=3)
    ap.add_argument("--height", type=int, default=128)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--depth_num", type=int, default=32)
    ap.add_argument("--ref", type=int, default=0)
    a = ap.parse_args(argv)
    if a.inputs:
        try:
            with np.load(a.inputs) as z:
                images, cams, gt = z["images"], z["cams"], z["gt_depth"]
                a.depth_num = int(z["depth_num"])
        except (OSError, ValueError, KeyError) as err:
            raise original.HarnessError(a.inputs, "not an output of make_reference.py (%s)" % err)
        _, a.views, a.height, a.width, _ = images.shape
    V, H, W, D = a.views, a.height, a.width, a.depth_num
    if V < 2 or H % 4 or W % 4 or H < 4 or W < 4 or D < 2:
        raise original.HarnessError("--views/--height/--width/--depth_num",
                                    "need views >= 2, height and width multiples of 4, depth_num >= 2")
    original.need_checkpoint(a.ckpt)
    if a.scene:
        images, cams, gt = scene_inputs(a.scene, a.ref, V, H, W, D)
    model, loss = original.load(repo)
    tf = original.tf
    F = original.FLAGS
    F.view_num, F.max_h, F.max_w, F.batch_size, F.max_d = V, H, W, 1, D
    out = {"images": images, "cams": cams, "gt_depth": gt}
    ds, di = cams[:, 0, 1, 3, 0], cams[:, 0, 1, 3, 1]
    de = ds + (D - 1) * di
    out.update(depth_start=ds, depth_interval=di, depth_end=de, depth_num=np.int32(D))

    def run(build, fetch_names):
        with tf.Graph().as_default():
            outs = build(tf.constant(images), tf.constant(cams))
            saver = tf.train.Saver(tf.global_variables())
            with tf.Session() as sess:
                sess.run(tf.local_variables_initializer())
                saver.restore(sess, a.ckpt)
                vals = sess.run(outs)
        return vals if isinstance(vals, dict) else dict(zip(fetch_names, vals))

    def grads_of(total):
        return {"grad/" + v.op.name: tf.gradients(total, v)[0]
                for v in tf.trainable_variables() if v.op.name in GRAD_VARS}

    if a.regularization == "GRU":
        for inv in (True, False):
            r = run(lambda i, c: model.inference_winner_take_all(
                i, c, D, tf.constant(ds), tf.constant(de), reg_type="GRU", inverse_depth=inv),
                ["depth", "prob"])
            tag = "inv" if inv else "lin"
            out["wta_depth_" + tag], out["wta_prob_" + tag] = r["depth"], r["prob"]

        def build_train(i, c):
            pv = model.inference_prob_recurrent(i, c, D, tf.constant(ds), tf.constant(di))
            lo, mae, l1, l3, wta = loss.mvsnet_classification_loss(
                pv, tf.constant(gt), D, tf.constant(ds), tf.constant(di))
            res = {"prob_volume": pv, "loss": lo, "mae": mae, "less_one": l1, "less_three": l3,
                   "wta_train_depth": wta}
            res.update(grads_of(lo))
            return res
        out.update(run(build_train, None))
    else:
        r = run(lambda i, c: model.inference_mem(i, c, D, tf.constant(ds), tf.constant(di)),
                ["depth", "prob"])
        out["depth"], out["prob"] = r["depth"], r["prob"]

        def build_train(i, c):
            dm, pm = model.inference(i, c, D, tf.constant(ds), tf.constant(di))
            lo, l1, l3 = loss.mvsnet_regression_loss(dm, tf.constant(gt), tf.constant(di))
            res = {"train_depth": dm, "train_prob": pm, "loss": lo, "less_one": l1, "less_three": l3}
            res.update(grads_of(lo))
            return res
        out.update(run(build_train, None))

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **out)
    original.replace_atomically(write, a.out)
    print(a.out, " ".join(sorted(out)))


if __name__ == "__main__":
    original.main_guard(main)
