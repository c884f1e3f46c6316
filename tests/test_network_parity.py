"""The port against outputs of the ORIGINAL TF1 graph (tests/fixtures/README.md).

ref_gru.npz / ref_3dcnns.npz: the shared references (3 views, 128x160, 32 planes);
ref_gru_v2.npz / ref_3dcnns_v4.npz: other view counts, sizes and depth counts, made
with the oracle harness.  Weights: the slot-free fixture checkpoints.
"""

import os

import pytest
import tolerances as tol

from mvsnet import checkpoint
from mvsnet.network.model import build_model
from tools import parity

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
CKPT = {"GRU": os.path.join(FIXTURES, "ckpt_gru", "model.ckpt-100000"),
        "3DCNNs": os.path.join(FIXTURES, "ckpt_3dcnns", "model.ckpt-100000")}
# gradients shown (tools/parity.py doc, tests/tolerances.py) to move by more than 1e-3 under
# 1e-6 input noise or on another CPU
ILL_CONDITIONED = {"grad/" + name for name in tol.ILL_CONDITIONED_GRADS}

CASES = [("GRU", "ref_gru.npz"), ("GRU", "ref_gru_v2.npz"),
         ("3DCNNs", "ref_3dcnns.npz"), ("3DCNNs", "ref_3dcnns_v4.npz")]

_models = {}
_outputs = {}   # the port's outputs per reference, computed once per test process


def _port_outputs(regularization, name):
    """(reference, the port's outputs on it); a fresh dict of the outputs for each caller."""
    if name not in _outputs:
        ref = parity.load_reference(os.path.join(FIXTURES, name))
        _outputs[name] = ref, parity.run_port(_model(regularization), ref)
    ref, out = _outputs[name]
    return ref, dict(out)


def _model(regularization):
    if regularization not in _models:
        model = build_model(regularization)
        checkpoint.load_weights(model, CKPT[regularization])
        _models[regularization] = model
    return _models[regularization]


@pytest.mark.parametrize("regularization,name", CASES)
def test_port_matches_original_graph(regularization, name):
    ref, out = _port_outputs(regularization, name)
    model = _model(regularization)
    expected = {k for k in ref if k not in parity.INPUT_KEYS}
    assert set(out) == expected, "keys the port did not produce: %s" % (expected - set(out))
    rows = parity.compare(ref, out)
    strict_failures = [(k, text) for k, text, verdict in rows
                       if verdict != "ok" and k not in ILL_CONDITIONED]
    assert not strict_failures
    noisy = [k for k, _, verdict in rows if verdict == "FAIL" and k in ILL_CONDITIONED]
    if noisy:  # within twice the gradient's own float-noise sensitivity
        rows = parity.compare(ref, out, parity.grad_sensitivity(model, ref, out, noisy))
        assert all(verdict in ("ok", "ok~") for _, _, verdict in rows)


def test_parity_flags_a_wrong_output():
    ref, out = _port_outputs("3DCNNs", "ref_3dcnns.npz")   # the outputs the test above passed
    out["prob"] = out["prob"] + 2e-4
    out["depth"] = out["depth"] * 1.01
    verdicts = {k: v for k, _, v in parity.compare(ref, out)}
    assert verdicts["prob"] == "FAIL" and verdicts["depth"] == "FAIL"
    assert verdicts["train_prob"] == "ok"
