"""A coloured triangle mesh from a fused point cloud: normals oriented towards the cameras,
screened Poisson reconstruction, low-density parts trimmed (PyMeshLab, the optional ``mesh``
extra: ``pip install -e .[mesh]``).

1. Normals (:func:`oriented_normals`, NumPy and SciPy): each point's normal is the direction of
   least spread of its ``NORMAL_NEIGHBOURS`` nearest neighbours (the smallest eigenvector of
   their covariance), turned to face the camera centre of the view the point came from (the
   fusion knows each point's reference view), or, for a cloud without that, the nearest of the
   given camera centres; with no camera at all, away from the cloud's centre.
2. :func:`poisson` : Kazhdan and Hoppe's screened Poisson reconstruction (MeshLab's filter,
   Kazhdan's PoissonRecon code, through PyMeshLab) at octree ``depth``; the vertex colours are
   interpolated from the points'.
3. Trimming: Poisson closes the surface, so it invents a skin (a "bubble") over everything the
   cameras did not see. Each vertex has the density of samples that supported it (MeshLab
   leaves it in the vertex quality); the vertices below the ``trim`` quantile of the
   densities, and those farther from every cloud point than ``TRIM_DISTANCE`` times the
   cloud's typical spacing, go with their triangles.

The command-line uses are ``python tools/mesh.py CLOUD.ply --output mesh.ply`` and ``--mesh``
of mvsnet/depthfusion.py and mvsnet/reconstruct.py (docs/mesh.md).
"""

import io
from dataclasses import dataclass

import numpy as np

from cameras.atomic import write_bytes_atomic
from cameras.errors import InputError

INSTALL = "pip install -e .[mesh]"
DEFAULT_DEPTH = 9  # Poisson octree depth: a grid of at most 512^3
DEFAULT_TRIM = 0.1  # share of the vertices with the lowest density removed
TRIM_DISTANCE = 4.0  # vertices farther from the cloud than this many point spacings go
NORMAL_NEIGHBOURS = 16
NORMAL_CHUNK = 65536  # points per batch of the neighbour covariances (16 x 3 doubles each)
# PoissonRecon's defaults (MeshLab's): samples per octree node, weight of the screening term
SAMPLES_PER_NODE = 1.5
POINT_WEIGHT = 4.0
# one thread: the same mesh every run, and on the shared 2-core machine MeshLab's OpenMP
# threads were 9x slower than one (40 s against 4.6 s for 17,000 points at depth 8)
POISSON_THREADS = 1


def check_options(depth, trim, depth_name="--mesh_depth", trim_name="--mesh_trim"):
    """InputError unless the Poisson octree ``depth`` is 1 to 12 and the ``trim`` quantile is
    in [0, 1); the names are the flags (or words) of the messages."""
    if not 1 <= depth <= 12:
        raise InputError("%s must be 1 to 12, got %d" % (depth_name, depth))
    if not 0 <= trim < 1:
        raise InputError("%s must be in [0, 1), got %g" % (trim_name, trim))


def require_meshlab(flag="--mesh"):
    """The pymeshlab module, or InputError ``FLAG needs PyMeshLab: pip install -e .[mesh]``."""
    try:
        import pymeshlab
    except ImportError as e:
        raise InputError("%s needs PyMeshLab: %s (%s)" % (flag, INSTALL, " ".join(str(e).split()))) from None
    return pymeshlab


@dataclass
class Mesh:
    """vertices (V, 3) float64, triangles (T, 3) int32, colors (V, 3) uint8 or None."""

    vertices: np.ndarray
    triangles: np.ndarray
    colors: np.ndarray = None


def camera_centres(cameras):
    """(C, 3) world centres -R^T t of Cameras (world-to-camera extrinsics)."""
    return np.array([-c.extrinsic[:3, :3].T @ c.extrinsic[:3, 3] for c in cameras], np.float64)


def point_spacing(points, sample=20000):
    """The median distance of a point to its nearest neighbour (on a sample)."""
    from scipy.spatial import cKDTree

    points = np.asarray(points, np.float64)
    pick = points[:: max(1, len(points) // sample)]
    distances = cKDTree(points).query(pick, k=2)[0][:, 1]
    return float(np.median(distances))


def plane_normals(points, neighbours=NORMAL_NEIGHBOURS):
    """(N, 3) float64 unit normals, unoriented: for each of the (N, 3) ``points`` the
    eigenvector of the smallest eigenvalue of the covariance of its ``neighbours`` nearest
    points (itself included)."""
    from scipy.spatial import cKDTree

    points = np.asarray(points, np.float64)
    k = min(neighbours, len(points))
    tree = cKDTree(points)
    normals = np.empty_like(points)
    for start in range(0, len(points), NORMAL_CHUNK):
        near = points[tree.query(points[start:start + NORMAL_CHUNK], k=k)[1]]  # (n, k, 3)
        near -= near.mean(axis=1, keepdims=True)
        normals[start:start + NORMAL_CHUNK] = np.linalg.eigh(np.einsum("nki,nkj->nij", near, near))[1][:, :, 0]
    return normals


def oriented_normals(points, view_of_point=None, centres=None, neighbours=NORMAL_NEIGHBOURS):
    """(N, 3) float64 unit normals of a cloud, each facing the camera that saw its point.

    Args:
        points: (N, 3) world coordinates.
        view_of_point: (N,) int index into ``centres`` of the view each point came from, or
            None (then the nearest centre).
        centres: (C, 3) camera centres, or None (then the normals point away from the
            cloud's centre, right for a closed object).
        neighbours: points of the local plane fit.
    """
    points = np.asarray(points, np.float64)
    normals = plane_normals(points, neighbours)
    if centres is None or len(centres) == 0:
        towards = points.mean(axis=0) - points  # flip the ones that face the centre
        normals[np.einsum("ij,ij->i", normals, towards) > 0] *= -1
        return normals
    centres = np.asarray(centres, np.float64)
    if view_of_point is None:
        from scipy.spatial import cKDTree

        view_of_point = cKDTree(centres).query(points)[1]
    view_of_point = np.asarray(view_of_point)
    if len(view_of_point) != len(points):
        raise ValueError("view_of_point: %d entries for %d points" % (len(view_of_point), len(points)))
    towards = centres[view_of_point] - points
    normals[np.einsum("ij,ij->i", normals, towards) < 0] *= -1
    return normals


def poisson(points, normals, colors=None, depth=DEFAULT_DEPTH, trim=DEFAULT_TRIM,
            trim_distance=TRIM_DISTANCE):
    """The trimmed screened Poisson surface of an oriented cloud (see the module docstring).

    Args:
        points: (N, 3); normals: (N, 3) oriented; colors: (N, 3) uint8 or None.
        depth: octree depth (1 to 12); trim: share of the lowest-density vertices removed
            (0 to < 1); trim_distance: vertices farther than this many point spacings from
            the cloud are removed (0: keep).
    Returns:
        :class:`Mesh` (colours interpolated from the points' when given).
    """
    pymeshlab = require_meshlab()
    check_options(depth, trim, "the Poisson depth", "the trim quantile")
    points = np.asarray(points, np.float64)
    if len(points) < 4:
        raise InputError("a mesh needs at least 4 points, the cloud has %d" % len(points))
    given = dict(vertex_matrix=points, v_normals_matrix=np.asarray(normals, np.float64))
    if colors is not None:
        rgba = np.ones((len(points), 4))
        rgba[:, :3] = np.asarray(colors, np.float64) / 255.0
        given["v_color_matrix"] = rgba
    meshes = pymeshlab.MeshSet()
    meshes.add_mesh(pymeshlab.Mesh(**given))
    meshes.generate_surface_reconstruction_screened_poisson(
        depth=int(depth), scale=1.1, samplespernode=SAMPLES_PER_NODE, pointweight=POINT_WEIGHT,
        preclean=False, threads=POISSON_THREADS)
    surface = meshes.current_mesh()
    vertices = np.asarray(surface.vertex_matrix(), np.float64)
    triangles = np.asarray(surface.face_matrix()).astype(np.int32).reshape(-1, 3)
    densities = np.asarray(surface.vertex_scalar_array(), np.float64)
    keep = np.ones(len(vertices), bool)
    if trim > 0 and len(densities):
        keep &= densities >= np.quantile(densities, trim)
    if trim_distance > 0 and len(vertices):
        from scipy.spatial import cKDTree

        distance = cKDTree(points).query(vertices)[0]
        keep &= distance <= trim_distance * point_spacing(points)
    vertex_colors = None
    if colors is not None and surface.has_vertex_color():
        vertex_colors = np.clip(np.rint(surface.vertex_color_matrix()[:, :3] * 255), 0, 255).astype(np.uint8)
    return keep_vertices(Mesh(vertices, triangles, vertex_colors), keep)


def keep_vertices(mesh, keep):
    """The mesh without the vertices where ``keep`` (V,) is False and their triangles;
    unused vertices dropped, indices renumbered."""
    triangles = mesh.triangles[keep[mesh.triangles].all(axis=1)]
    used = np.zeros(len(mesh.vertices), bool)
    used[triangles.ravel()] = True
    number = np.cumsum(used) - 1
    return Mesh(mesh.vertices[used], number[triangles].astype(np.int32),
                None if mesh.colors is None else mesh.colors[used])


def mesh_ply_bytes(mesh):
    """A binary little-endian PLY: vertex x y z float32 (+ red green blue uchar), face
    vertex_indices (uchar count, int32 indices)."""
    from plyfile import PlyData, PlyElement

    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if mesh.colors is not None:
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    vertex = np.empty(len(mesh.vertices), fields)
    vertex["x"], vertex["y"], vertex["z"] = np.asarray(mesh.vertices, np.float32).T
    if mesh.colors is not None:
        vertex["red"], vertex["green"], vertex["blue"] = np.asarray(mesh.colors, np.uint8).T
    face = np.empty(len(mesh.triangles), [("vertex_indices", "<i4", (3,))])
    face["vertex_indices"] = mesh.triangles
    out = io.BytesIO()
    PlyData([PlyElement.describe(vertex, "vertex"), PlyElement.describe(face, "face")],
            text=False, byte_order="<").write(out)
    return out.getvalue()


def write_mesh(path, mesh):
    """Write ``mesh`` as a PLY (:func:`mesh_ply_bytes`), atomically."""
    write_bytes_atomic(path, mesh_ply_bytes(mesh))


def mesh_cloud(points, colors=None, view_of_point=None, centres=None, depth=DEFAULT_DEPTH,
               trim=DEFAULT_TRIM, log=None):
    """Normals, Poisson, trimming in one call (see the module docstring); returns a Mesh.
    ``log``: one line with the counts and seconds."""
    import time

    start = time.time()
    points = np.asarray(points, np.float64)
    if len(points) < 4:
        raise InputError("a mesh needs at least 4 points, the cloud has %d" % len(points))
    normals = oriented_normals(points, view_of_point, centres)
    mesh = poisson(points, normals, colors, depth, trim)
    if log is not None:
        how = ("towards each point's view" if view_of_point is not None else
               "towards the nearest camera" if centres is not None else "away from the centre")
        log("mesh: %d vertices, %d triangles from %d points (normals %s, Poisson depth %d, "
            "trim %g), %.1f s" % (len(mesh.vertices), len(mesh.triangles), len(points), how,
                                 depth, trim, time.time() - start))
    return mesh


def mesh_of_fused_cloud(dense_folder, cloud, depth, trim, log=None):
    """The mesh of a :class:`~mvsnet.pointcloud.fusion.FusedCloud` of ``dense_folder``: each
    point's normal faces the centre of the reference view that made it (the points are in view
    order, ``cloud.view_points`` of each)."""
    from mvsnet.pointcloud.views import DenseOutput

    out = DenseOutput(dense_folder)
    if len(cloud.points) < 4:
        raise InputError("the fused cloud has %d points, too few for a mesh"
                         % len(cloud.points), dense_folder)
    centres = np.array([out.geometry(name).center for name in out.names])
    views = np.repeat(np.arange(len(cloud.view_points)), cloud.view_points)
    surface = mesh_cloud(cloud.points, cloud.colors, views, centres, depth, trim, log=log)
    if len(surface.triangles) == 0:
        raise InputError("no surface left after trimming (lower the trim quantile)", dense_folder)
    return surface
