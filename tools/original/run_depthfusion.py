"""Run the ORIGINAL mvsnet/depthfusion.py (probability filter, gipuma conversion, fusibile).

usage: ORACLE_PY run_depthfusion.py [--orig_repo ORIG_REPO] --dense_folder D --fusibile_exe_path EXE
           [--prob_threshold 0.8] [--disp_threshold 0.25] [--num_consistent 3]

D is a dense folder on which the original test.py has run (D/depths_mvsnet/). Writes what the
original writes: D/depths_mvsnet/*_prob_filtered.pfm and D/points_mvsnet/ (cams/*.P, images/,
2333__*/disp.dmb + normals.dmb), then runs EXE with the original's command line (through
os.system, as the original). fusibile itself needs CUDA; a stand-in executable that records its
arguments is enough to check everything before it. str() of NumPy floats in that command line
is NumPy's shortest repr, as with the NumPy >= 1.14 the original ran with.
"""
import os
import sys

import original


def main():
    repo, argv = original.repo_from_argv(sys.argv[1:])
    argv = original.absolute_paths(argv, ("--dense_folder", "--fusibile_exe_path"))
    folder = original.flag_value(argv, "--dense_folder")
    original.need_dense_folder(folder)
    if not os.path.isdir(os.path.join(folder, "depths_mvsnet")):
        raise original.HarnessError(os.path.join(folder, "depths_mvsnet"),
                                    "missing (run the original test.py on this folder first)")
    exe = original.flag_value(argv, "--fusibile_exe_path")
    if not exe or not os.access(exe, os.X_OK):
        raise original.HarnessError(exe or "--fusibile_exe_path", "not an executable")
    root = original.materialize(repo, extra_files=["mvsnet/depthfusion.py"], real_flags=True)
    original.run_script(root, "mvsnet/depthfusion.py", argv)


if __name__ == "__main__":
    original.main_guard(main)
