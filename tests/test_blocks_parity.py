"""UniNetDS2, UniNetDS2GN and depth_refine against the original graph.

tests/fixtures/blocks/: random weights (TF1 names; the GN tower under a ``gn/`` scope)
and the outputs of the ORIGINAL ``UniNetDS2``, ``UniNetDS2GN`` and ``depth_refine``,
made by ``make_blocks_reference.py`` with the oracle harness; compared up to float noise
(tests/tolerances.py).
"""

import os

import numpy as np
import pytest
import tensorflow as tf
import tolerances as tol

from mvsnet import checkpoint as ck
from mvsnet.network.model import build_model

BLOCKS = os.path.join(os.path.dirname(__file__), "fixtures", "blocks")


@pytest.fixture(scope="module")
def ref():
    with np.load(os.path.join(BLOCKS, "blocks.npz")) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def stored():
    return ck.read_tf1_checkpoint(os.path.join(BLOCKS, "model.ckpt-0"))


def _load_blocks(model, stored, blocks, prefix=""):
    names = ck.model_tf1_names(model)
    wanted = {n: v for n, v in names.items()
              if any(v.path.split("/").count(b) for b in blocks)}
    for name, var in wanted.items():
        var.assign(stored[prefix + name])
    return len(wanted)


@pytest.mark.parametrize("tower,key,prefix,count", [
    ("UniNetDS2", "uninet_bn", "", 36), ("UniNetDS2GN", "uninet_gn", "gn/", 22)])
def test_uninet_towers(ref, stored, tower, key, prefix, count):
    model = build_model("3DCNNs", feature_tower=tower)
    assert _load_blocks(model, stored, ["feature_tower"], prefix) == count
    out = tf.function(lambda x: model.feature_tower(x))(ref["image"]).numpy()
    assert out.shape == (1, 16, 20, 32)
    tol.assert_features_close(out, ref[key])


def test_depth_refine(ref, stored):
    model = build_model("3DCNNs", refinement=True)
    assert _load_blocks(model, stored, ["refine_net"]) == 11
    refined = tf.function(model.depth_refine)(ref["depth"], ref["image"], int(ref["depth_num"]),
                                              ref["depth_start"], ref["depth_interval"]).numpy()
    tol.assert_features_close(refined, ref["refined"])
