"""Synthetic multi-view scenes with exact depth, for tests and try-outs of the R-MVSNet port.

A scene is a few textured primitives (oriented boxes, spheres, finite planes) in front of a
textured back plane, ray-cast analytically in float64 with numpy, so depth is exact up to
rounding; surfaces are Lambertian with view-independent shading, so photo-consistency holds.
Cameras follow the MVSNet convention: world-to-camera extrinsic ``[[R, t], [0, 0, 0, 1]]``,
pixel ``x ~ K (R X + t)``, integer pixel coordinates are pixel centres, depth is the camera z
of the first surface (0 = none).

Modules:
  scene     textures, primitives, :class:`Scene`, :func:`make_scene`, ray casting, rendering
  cameras   look-at, intrinsics, orbit and DTU-like cameras, project / back-project
  views     colmap2mvsnet-style view-selection scores, :func:`select_views`
  layouts   the dense MVSNet test layout (with gt/ depth and cloud), the DTU training layout
  colmap    COLMAP sparse workspaces of the same scenes (needs pycolmap)
  cli       ``python -m tools.synthetic {dense,dtu,colmap} OUT ...``

The names below are re-exported here: ``from tools import synthetic; synthetic.write_dense(...)``.
"""
from tools.synthetic.cameras import (DTU_INTRINSIC_REL, backproject, camera_center, dtu_cameras,
                                     intrinsic_matrix, look_at, orbit_cameras, pixel_rays, project)
from tools.synthetic.cli import build_parser, main
from tools.synthetic.layouts import (DTU_BRIGHTNESS, DTU_DEPTH_MAX, DTU_DEPTH_MIN, View, dense_scene,
                                     depth_values, dtu_scan_scene, format_cam, format_pair, gt_points,
                                     write_dense, write_dtu)
from tools.synthetic.scene import (EPS, NOISE_PERIOD, Box, Plane, Scene, Sphere, Texture, cast,
                                   make_scene, noise_table, random_rotation, random_texture, render,
                                   to_uint8, value_noise)
from tools.synthetic.views import SIGMA1, SIGMA2, THETA0, select_views, view_selection_scores

__all__ = [
    "DTU_INTRINSIC_REL", "backproject", "camera_center", "dtu_cameras", "intrinsic_matrix", "look_at",
    "orbit_cameras", "pixel_rays", "project",
    "build_parser", "main",
    "DTU_BRIGHTNESS", "DTU_DEPTH_MAX", "DTU_DEPTH_MIN", "View", "dense_scene", "depth_values",
    "dtu_scan_scene", "format_cam", "format_pair", "gt_points", "write_dense", "write_dtu",
    "EPS", "NOISE_PERIOD", "Box", "Plane", "Scene", "Sphere", "Texture", "cast", "make_scene",
    "noise_table", "random_rotation", "random_texture", "render", "to_uint8", "value_noise",
    "SIGMA1", "SIGMA2", "THETA0", "select_views", "view_selection_scores",
]
