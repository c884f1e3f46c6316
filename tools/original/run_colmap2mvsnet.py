"""Run the ORIGINAL mvsnet/colmap2mvsnet.py (COLMAP sparse model -> MVSNet dense folder).

usage: ORACLE_PY run_colmap2mvsnet.py [--orig_repo ORIG_REPO] --dense_folder COLMAP_DENSE
           [--max_d N] [--interval_scale S] [--theta0 ...] [other flags of the original]

Every flag but --orig_repo goes to the original unchanged. It writes what the original writes:
COLMAP_DENSE/images/ (renamed copies), cams/ and pair.txt. The only shim: np.asscalar (removed
from NumPy) is restored as ``np.asarray(a).item()``, which is what it did.
"""
import os
import sys

import numpy as np

import original


def main():
    repo, argv = original.repo_from_argv(sys.argv[1:])
    argv = original.absolute_paths(argv, ("--dense_folder",))
    folder = original.flag_value(argv, "--dense_folder")
    if not folder:
        raise original.HarnessError("--dense_folder", "required")
    for rel in ("images", "sparse"):
        if not os.path.isdir(os.path.join(folder, rel)):
            raise original.HarnessError(os.path.join(folder, rel),
                                        "missing (a COLMAP dense folder has images/ and sparse/)")
    np.asscalar = lambda a: np.asarray(a).item()
    # only this file: it imports no other file of the original and no TensorFlow
    root = original.materialize(repo, extra_files=["mvsnet/colmap2mvsnet.py"])
    original.run_script(root, "mvsnet/colmap2mvsnet.py", argv)


if __name__ == "__main__":
    original.main_guard(main)
