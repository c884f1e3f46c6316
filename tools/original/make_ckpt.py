"""A random-weight TF1 checkpoint laid out exactly like the released tf_model_19307 ones.

usage: ORACLE_PY make_ckpt.py [--orig_repo ORIG_REPO] OUT_PREFIX [--regularization GRU|3DCNNs]
           [--step 100000] [--seed 1]

Builds the ORIGINAL training graph (GRU: inference_prob_recurrent + classification loss;
3DCNNs: inference + regression loss) with RMSPropOptimizer and global_step, as the original
train.py does, so the variables are the released ones: the same names, shapes and dtypes,
RMSProp slots (.../RMSProp, .../RMSProp_1) and global_step (= STEP). Every variable is then
filled with RANDOM values (kernels He-normal, gamma 1 + 0.3 N, moving variance U(0.5, 2),
beta / bias / moving mean / slots 0.2 N; NumPy default_rng(SEED), in graph order), so a wrong
name, a transpose or a swapped norm cannot hide in a parity test. Writes OUT_PREFIX-STEP.index,
.data-00000-of-00001 and the folder's `checkpoint` file (no .meta graph).
"""
import argparse
import os
import shutil
import sys
import tempfile

import numpy as np

import original


def main():
    repo, argv = original.repo_from_argv(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("prefix")
    ap.add_argument("--regularization", default="GRU", choices=("GRU", "3DCNNs"))
    ap.add_argument("--step", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    model, loss = original.load(repo)
    tf = original.tf
    F = original.FLAGS
    F.view_num, F.max_h, F.max_w, F.batch_size = 3, 64, 128, 1   # shapes do not depend on these
    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, [1, 3, 64, 128, 3])
        cams = tf.placeholder(tf.float32, [1, 3, 2, 4, 4])
        ds = tf.placeholder(tf.float32, [1])
        di = tf.placeholder(tf.float32, [1])
        gt = tf.placeholder(tf.float32, [1, 16, 32, 1])
        if a.regularization == "GRU":
            pv = model.inference_prob_recurrent(images, cams, 8, ds, di, True)
            total = loss.mvsnet_classification_loss(pv, gt, 8, ds, di)[0]
        else:
            depth, _ = model.inference(images, cams, 8, ds, di, True)
            total = loss.mvsnet_regression_loss(depth, gt, di)[0]
        gs = tf.Variable(0, trainable=False, name="global_step")
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            tf.train.RMSPropOptimizer(0.001).minimize(total, global_step=gs)
        rng = np.random.default_rng(a.seed)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for v in tf.global_variables():
                shape = v.shape.as_list()
                name = v.op.name
                if name == "global_step":
                    val = np.int64(a.step)
                elif name.endswith("kernel"):
                    fan_in = np.prod(shape[:-1]) if "conv" in name else shape[0]
                    val = rng.normal(0, np.sqrt(2.0 / fan_in), shape)
                elif name.endswith("gamma"):
                    val = 1.0 + 0.3 * rng.normal(size=shape)
                elif name.endswith("moving_variance"):
                    val = rng.uniform(0.5, 2.0, shape)
                else:  # beta, bias, moving_mean, optimizer slots
                    val = 0.2 * rng.normal(size=shape)
                v.load(np.asarray(val, v.dtype.as_numpy_dtype), sess)
            # saved under a temporary folder beside the output, then renamed into place
            folder = os.path.dirname(os.path.abspath(a.prefix))
            os.makedirs(folder, exist_ok=True)
            tmp = tempfile.mkdtemp(prefix=".tmp_ckpt_", dir=folder)
            try:
                tf.train.Saver(tf.global_variables(), save_relative_paths=True).save(
                    sess, os.path.join(tmp, os.path.basename(a.prefix)), global_step=a.step,
                    write_meta_graph=False)
                for name in os.listdir(tmp):
                    os.replace(os.path.join(tmp, name), os.path.join(folder, name))
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    print("%s-%d" % (a.prefix, a.step))


if __name__ == "__main__":
    original.main_guard(main)
