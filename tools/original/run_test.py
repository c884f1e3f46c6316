"""Run the ORIGINAL mvsnet/test.py (depth inference) on a dense folder.

usage: ORACLE_PY run_test.py [--orig_repo ORIG_REPO] --dense_folder D
           --pretrained_model_ckpt_path PREFIX --ckpt_step STEP [other flags of the original test.py]

Every flag but --orig_repo goes to the original test.py unchanged (its defaults apply:
--regularization GRU, --max_d 256, --max_w 1600, --max_h 1200, --view_num 5, ...). Its
outputs land where the original writes them: D/depths_mvsnet/ (%08d_init.pfm, %08d_prob.pfm,
%08d.jpg, %08d.txt). Run it on a copy of a scene you want to keep unchanged.
"""
import sys

import original


def main():
    repo, argv = original.repo_from_argv(sys.argv[1:])
    argv = original.absolute_paths(argv, ("--dense_folder", "--pretrained_model_ckpt_path"))
    original.need_dense_folder(original.flag_value(argv, "--dense_folder"))
    # the original's defaults (mvsnet/test.py) when the flags are not given
    prefix = original.flag_value(argv, "--pretrained_model_ckpt_path",
                                 "/data/tf_model/3DCNNs/BlendedMVS/blended_augmented/model.ckpt")
    original.need_checkpoint("%s-%s" % (prefix, original.flag_value(argv, "--ckpt_step", "150000")))
    root = original.materialize(repo, real_flags=True)
    original.run_script(root, "mvsnet/test.py", argv)


if __name__ == "__main__":
    original.main_guard(main)
