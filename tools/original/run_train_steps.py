"""Training steps of the ORIGINAL train.py graph from a given state (the original side of
tools/benchmark_training.py).

usage: ORACLE_PY run_train_steps.py [--orig_repo ORIG_REPO] JOB.json

JOB.json: {"inputs": NPZ with images (B,V,H,W,3, already standardised), cams (B,V,2,4,4),
depth (B,H/4,W/4,1); "ckpt": initial TF1 checkpoint (weights, RMSProp slots, global_step);
"final": prefix for the state after the steps; "regularization": "GRU"|"3DCNNs";
"refinement": bool; "max_d", "base_lr", "stepvalue", "gamma", "warmup", "steps"}.

Builds what the original train.py builds for one tower -- inference_prob_recurrent +
classification loss (GRU) or inference (+ depth_refine) + regression loss (3DCNNs),
exponential_decay, RMSPropOptimizer, compute_gradients / apply_gradients with global_step --
restores "ckpt", runs warmup + steps steps on the same batch and saves "final". Prints one line
``RESULT {"times": [...], "losses": [...], "tf": VERSION}``.
"""
import json
import os
import sys
import time

import numpy as np

import original

KEYS = ("inputs", "ckpt", "final", "regularization", "refinement", "max_d", "base_lr",
        "stepvalue", "gamma", "warmup", "steps")


def main():
    repo, argv = original.repo_from_argv(sys.argv[1:])
    if len(argv) != 1:
        raise original.HarnessError("JOB.json", "usage: run_train_steps.py [--orig_repo PATH] JOB.json")
    try:
        args = json.load(open(argv[0]))
    except (OSError, ValueError) as err:
        raise original.HarnessError(argv[0], "unreadable job file (%s)" % err)
    missing = [k for k in KEYS if k not in args]
    if missing:
        raise original.HarnessError(argv[0], "missing keys: %s" % ", ".join(missing))
    original.need_checkpoint(args["ckpt"])
    model, losses = original.load(repo)
    tf = original.tf
    F = original.FLAGS
    data = np.load(args["inputs"])
    images_np, cams_np, depth_np = data["images"], data["cams"], data["depth"]
    B, V, H, W, _ = images_np.shape
    D = args["max_d"]
    F.view_num, F.max_h, F.max_w, F.batch_size, F.max_d = V, H, W, B, D
    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, images_np.shape)
        cams = tf.placeholder(tf.float32, cams_np.shape)
        depth_image = tf.placeholder(tf.float32, depth_np.shape)
        # as the original train.py
        global_step = tf.Variable(0, trainable=False, name="global_step")
        lr_op = tf.train.exponential_decay(args["base_lr"], global_step=global_step,
                                           decay_steps=args["stepvalue"], decay_rate=args["gamma"],
                                           name="lr")
        opt = tf.train.RMSPropOptimizer(learning_rate=lr_op)
        with tf.name_scope("Model_tower0"):
            depth_start = tf.reshape(tf.slice(cams, [0, 0, 1, 3, 0], [B, 1, 1, 1, 1]), [B])
            depth_interval = tf.reshape(tf.slice(cams, [0, 0, 1, 3, 1], [B, 1, 1, 1, 1]), [B])
            if args["regularization"] == "GRU":
                prob_volume = model.inference_prob_recurrent(images, cams, D, depth_start,
                                                             depth_interval, True)
                loss = losses.mvsnet_classification_loss(prob_volume, depth_image, D, depth_start,
                                                         depth_interval)[0]
            else:
                depth_map, _ = model.inference(images, cams, D, depth_start, depth_interval, True)
                refined = depth_map
                if args["refinement"]:
                    ref_image = tf.squeeze(tf.slice(images, [0, 0, 0, 0, 0], [-1, 1, -1, -1, 3]), axis=1)
                    refined = model.depth_refine(depth_map, ref_image, D, depth_start, depth_interval, True)
                loss0 = losses.mvsnet_regression_loss(depth_map, depth_image, depth_interval)[0]
                loss1 = losses.mvsnet_regression_loss(refined, depth_image, depth_interval)[0]
                loss = (loss0 + loss1) / 2
            grads = opt.compute_gradients(loss)
        train_op = opt.apply_gradients(grads, global_step=global_step)
        saver = tf.train.Saver(tf.global_variables())
        feed = {images: images_np, cams: cams_np, depth_image: depth_np}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            saver.restore(sess, args["ckpt"])
            times, values = [], []
            for _ in range(args["warmup"] + args["steps"]):
                start = time.time()
                _, value = sess.run([train_op, loss], feed)
                times.append(time.time() - start)
                values.append(float(value))
            os.makedirs(os.path.dirname(os.path.abspath(args["final"])), exist_ok=True)
            saver.save(sess, args["final"], write_meta_graph=False)
    print("RESULT " + json.dumps({"times": times, "losses": values, "tf": tf.__version__}))


if __name__ == "__main__":
    original.main_guard(main)
