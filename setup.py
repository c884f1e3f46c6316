"""Install the R-MVSNet TF2 port: packages mvsnet and cameras (tools/ is a folder of scripts
run from the repository root, not installed)."""

import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_requirements():
    """Runtime requirements, one per line in requirements.txt (comments and blanks skipped)."""
    with open(os.path.join(HERE, "requirements.txt"), encoding="utf-8") as f:
        lines = (line.split("#", 1)[0].strip() for line in f)
        return [line for line in lines if line]


# The released R-MVSNet GRU weights (weights/README.md). A checkout or `pip install -e .` reads
# them in place; `pip install .` copies them to <prefix>/share/rmvsnet-tf2/weights/, the
# second place mvsnet.weights.released_gru_checkpoint() looks.
WEIGHTS = "weights/rmvsnet_gru_dtu"
WEIGHT_FILES = ["checkpoint", "model.ckpt-100000.index", "model.ckpt-100000.data-00000-of-00001"]

# Optional extras (docs/index.md#dependencies): the base install stays lean.
EXTRAS = {
    # Dask distributed: the depth maps of large scenes on a cluster (mvsnet/cluster.py,
    # test.py --cluster; docs/distributed.md)
    "cluster": ["distributed"],
    # meshes of the fused clouds (mvsnet/pointcloud/mesh.py: MeshLab's screened Poisson)
    "mesh": ["pymeshlab"],
}
# The test suite's own tools; the "test" extra (the README's install command) adds every
# optional extra, so that the suite tests them all.
TEST_TOOLS = ["pytest", "hypothesis", "pytest-xdist"]

setup(
    name="rmvsnet-tf2",
    version="0.1.0",
    description="R-MVSNet / MVSNet (Yao et al.) ported to TensorFlow 2 / Keras 3",
    packages=find_packages(include=["mvsnet", "mvsnet.*", "cameras", "cameras.*"]),
    python_requires=">=3.11",
    install_requires=read_requirements(),
    extras_require=dict(EXTRAS, test=TEST_TOOLS + sorted({p for extra in EXTRAS.values() for p in extra})),
    # the original's scripts, also as commands (python mvsnet/test.py and python -m mvsnet.test work too)
    entry_points={"console_scripts": [
        "mvsnet-%s = mvsnet.%s:run" % (name, name)
        for name in ("test", "train", "validate", "visualize", "depthfusion", "colmap2mvsnet", "reconstruct",
                     "cluster")]},
    data_files=[("share/rmvsnet-tf2/" + WEIGHTS, [WEIGHTS + "/" + f for f in WEIGHT_FILES]),
                ("share/rmvsnet-tf2/weights", ["weights/README.md"])],
)
