"""PLY point clouds: binary little-endian ``x y z`` float32, ``nx ny nz`` float32 when
normals are given, ``red green blue`` uchar when colours are given.

Reading and writing go through plyfile (a small, maintained NumPy-based PLY library) so
that any PLY a user brings for evaluation (ASCII or binary, either byte order, extra
properties, faces) reads correctly; writing is atomic (cameras.atomic).
"""

import io

import numpy as np

from cameras.atomic import open_input, write_bytes_atomic
from cameras.checks import check_finite_array
from cameras.errors import InputError


def ply_bytes(points, colors=None, normals=None):
    """The bytes of a binary little-endian PLY with one ``vertex`` element."""
    from plyfile import PlyData, PlyElement

    points = np.asarray(points, dtype=np.float32).reshape(-1, 3)
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if normals is not None:
        normals = np.asarray(normals, dtype=np.float32).reshape(-1, 3)
        if len(normals) != len(points):
            raise ValueError("normals: %d rows for %d points" % (len(normals), len(points)))
        fields += [("nx", "<f4"), ("ny", "<f4"), ("nz", "<f4")]
    if colors is not None:
        colors = np.asarray(colors).reshape(-1, 3)
        if len(colors) != len(points):
            raise ValueError("colors: %d rows for %d points" % (len(colors), len(points)))
        if colors.dtype != np.uint8:
            raise ValueError("colors must be uint8, got %s" % colors.dtype)
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    vertex = np.empty(len(points), dtype=fields)
    vertex["x"], vertex["y"], vertex["z"] = points.T
    if normals is not None:
        vertex["nx"], vertex["ny"], vertex["nz"] = normals.T
    if colors is not None:
        vertex["red"], vertex["green"], vertex["blue"] = colors.T
    out = io.BytesIO()
    PlyData([PlyElement.describe(vertex, "vertex")], text=False, byte_order="<").write(out)
    return out.getvalue()


def write_ply(path, points, colors=None, normals=None):
    """Write a point cloud (see :func:`ply_bytes`) atomically."""
    write_bytes_atomic(path, ply_bytes(points, colors, normals))


def read_ply(path):
    """(points (N, 3) float64, colors (N, 3) uint8 or None, normals (N, 3) float32 or None)
    of the ``vertex`` element of any PLY file. InputError naming the file when it is
    missing, not a PLY point cloud, or a position or normal is nan or inf."""
    return _vertex_arrays(_read(path), path)


def read_mesh(path):
    """(points (N, 3) float64, colors (N, 3) uint8 or None, triangles (T, 3) int64 or None:
    the ``face`` element's ``vertex_indices`` (or ``vertex_index``) when every face is a
    triangle with valid indices). InputError naming the file otherwise (read_ply's checks,
    and faces that are not triangles or name missing vertices)."""
    ply = _read(path, TRIANGLES)
    points, colors, _ = _vertex_arrays(ply, path)
    try:
        face = ply["face"]
    except KeyError:
        return points, colors, None
    names = [p.name for p in face.properties if p.name in ("vertex_indices", "vertex_index")]
    if not names:
        raise InputError("PLY face element lacks vertex_indices", path)
    data = face.data[names[0]]
    if data.dtype == object:  # read without the triangle fast path: faces of other sizes
        if len(data) and not all(len(f) == 3 for f in data):
            raise InputError("PLY faces must all be triangles", path)
        data = np.array([list(f) for f in data], np.int64).reshape(-1, 3)
    triangles = np.asarray(data, np.int64).reshape(-1, 3)
    if len(triangles) and (triangles.min() < 0 or triangles.max() >= len(points)):
        raise InputError("PLY faces refer to vertices that do not exist (%d vertices)"
                         % len(points), path)
    return points, colors, triangles


TRIANGLES = {"face": {"vertex_indices": 3, "vertex_index": 3}}


def _read(path, known_list_len=None):
    """The PlyData of ``path``, memory-mapped where plyfile can (binary elements without
    lists, or with lists of the lengths in ``known_list_len``)."""
    from plyfile import PlyData

    with open_input(path, "PLY file") as stream:
        try:
            # a real file: plyfile memory-maps binary elements without lists (a BytesIO would
            # be read one property of one vertex at a time, minutes for 10 million points)
            ply = PlyData.read(stream, mmap="c", known_list_len=known_list_len or {})
            for element in ply.elements:
                element.data  # noqa: B018 -- read now, while the file is open
            return ply
        except Exception as e:  # plyfile raises several types for malformed files
            if known_list_len and "unexpected list length" in str(e):
                return _read(path)
            raise InputError("not a readable PLY file: %s" % " ".join(str(e).split())[:200],
                             path) from None


def _vertex_arrays(ply, path):
    try:
        vertex = ply["vertex"]
    except KeyError:
        raise InputError("PLY file has no 'vertex' element", path) from None
    names = set(p.name for p in vertex.properties)
    if not {"x", "y", "z"} <= names:
        raise InputError("PLY vertex element lacks x, y, z properties", path)
    v = vertex.data
    points = np.stack([v["x"], v["y"], v["z"]], axis=1).astype(np.float64)
    colors = normals = None
    if {"red", "green", "blue"} <= names:
        colors = np.stack([v["red"], v["green"], v["blue"]], axis=1).astype(np.uint8)
    if {"nx", "ny", "nz"} <= names:
        normals = np.stack([v["nx"], v["ny"], v["nz"]], axis=1).astype(np.float32)
    check_finite_array(points, path, "the vertex positions (x, y, z)", "values")
    if normals is not None:
        check_finite_array(normals, path, "the vertex normals (nx, ny, nz)", "values")
    return points, colors, normals
