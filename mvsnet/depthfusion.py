#!/usr/bin/env python
"""Depth maps of a dense folder to one coloured point cloud, as the original mvsnet/depthfusion.py.

    python mvsnet/depthfusion.py --dense_folder SCENE [--prob_threshold 0.8]
        [--disp_threshold 0.25] [--num_consistent 3]            # built-in fusion, no CUDA
    python mvsnet/depthfusion.py --dense_folder SCENE --fusibile_exe_path FUSIBILE ...

Reads what mvsnet/test.py wrote in SCENE/depths_mvsnet/ (the views are the files of
SCENE/images/). Without --fusibile_exe_path: fuses the depth maps on the CPU with
fusibile's algorithm (--fusion_mode fusibile, the default), the PyTorch ports' photometric
+ geometric filter (--fusion_mode normal; `consistency` is its earlier variant) or the
dynamic consistency check of AA-RMVSNet / TransMVSNet (--fusion_mode dynamic) and writes
SCENE/points_mvsnet/fused.ply (with --fusion_masks, per-view mask PNGs in
SCENE/points_mvsnet/mask/; --preview: also preview.png next to it, docs/rendering.md;
--mesh: also fused_mesh.ply, docs/mesh.md). With --fusibile_exe_path: writes the original's files
(depths_mvsnet/*_prob_filtered.pfm, points_mvsnet/cams, images, 2333__*/disp.dmb and
normals.dmb), runs fusibile and reports the final3d_model.ply it wrote.
Bad input: one line "error: PATH: problem" on stderr, exit code 1. See docs/pointclouds.md.
"""

import os
import sys

from absl import flags

from cameras import layout
from cameras.errors import InputError
from mvsnet import checks, cli, options
from mvsnet.pointcloud.cloud import FusionOptions, pointcloud

FLAGS = flags.FLAGS
# flags of the built-in fusion that the fusibile route does not take
BUILTIN_ONLY = ("fusion_mode", "output", "fusion_masks", "preview", "mesh", "mesh_depth",
                "mesh_trim")


def define_flags():
    """The original's flags (names and defaults; no fusibile path by default: the built-in
    fusion runs) plus the built-in fusion's options, generated from
    :class:`mvsnet.pointcloud.cloud.FusionOptions`. Defined only when run as a script."""
    flags.DEFINE_string("dense_folder", None, "Dense folder on which mvsnet/test.py has run.")
    options.define_flags(FusionOptions)


def run_fusibile_route(dense_folder, opts):
    """The original's route: Gipuma files, then fusibile (``opts.fusibile_exe_path``)."""
    from mvsnet.pointcloud import gipuma

    exe = opts.fusibile_exe_path
    gipuma.check_executable(exe)
    out = gipuma.export_gipuma(dense_folder, opts.prob_threshold, log=_log, warn=_warn)
    _log("Run depth map fusion & filter")
    ply = gipuma.run_fusibile(exe, layout.point_folder(out.dense_folder),
                              opts.disp_threshold, opts.num_consistent, log=_log)
    _log("point cloud: %s" % ply)
    return ply


def extra_outputs(output, mesh, preview):
    """(mesh PLY path or None, preview PNG path or None) of the built-in fusion's OUTPUT."""
    return (os.path.splitext(output)[0] + "_mesh.ply" if mesh else None,
            os.path.join(os.path.dirname(os.path.abspath(output)), "preview.png") if preview else None)


def run_builtin(dense_folder, opts):
    """The built-in fusion (:func:`mvsnet.pointcloud.cloud.pointcloud`), then with
    ``opts.mesh`` the mesh and with ``opts.preview`` the picture; returns the PLY path."""
    output = opts.output or layout.fused_ply(dense_folder)
    mesh_path, preview_path = extra_outputs(output, opts.mesh, opts.preview)
    if opts.mesh:  # before the long work
        from mvsnet.pointcloud import mesh as meshing

        meshing.require_meshlab()
    cloud, output, seconds = pointcloud(dense_folder, opts, log=_log, warn=_warn)
    _log("fused %d points from %d views in %.1f s (%s mode) -> %s"
         % (len(cloud.points), len(cloud.view_points), seconds, opts.fusion_mode, output))
    surface = None
    if opts.mesh:
        surface = meshing.mesh_of_fused_cloud(dense_folder, cloud, opts.mesh_depth, opts.mesh_trim, _log)
        meshing.write_mesh(mesh_path, surface)
        _log("mesh: %s" % mesh_path)
    if opts.preview:
        from mvsnet.pointcloud import preview as pictures

        pictures.write_preview(preview_path, dense_folder, cloud.points, cloud.colors, surface)
        _log("preview: %s" % preview_path)
    return output


def _log(line):
    print(line, flush=True)


def _warn(line):
    sys.stdout.flush()
    print("warning: " + line, file=sys.stderr, flush=True)


def main(argv):
    cli.reject_extra_arguments(argv)
    if not FLAGS.dense_folder:
        raise InputError("--dense_folder is required")
    opts = options.from_flags(FusionOptions, FLAGS)
    opts.check()
    builtin_only = [name for name in BUILTIN_ONLY if FLAGS[name].present]
    if opts.fusibile_exe_path:
        if builtin_only:
            raise InputError("--%s: options of the built-in fusion; not with --fusibile_exe_path"
                             % ", --".join(builtin_only))
        run_fusibile_route(FLAGS.dense_folder, opts)
    else:
        output = opts.output or layout.fused_ply(FLAGS.dense_folder)
        for path, flag in zip(extra_outputs(output, opts.mesh, opts.preview), ("--mesh", "--preview")):
            if path and os.path.isdir(os.path.dirname(os.path.abspath(path))):
                checks.check_output_file(path, flag)
        run_builtin(FLAGS.dense_folder, opts)


def run():
    """Console entry point ``mvsnet-depthfusion``."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
