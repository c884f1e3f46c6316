"""View selection of the synthetic scenes, scored like colmap2mvsnet.py but with exact visibility.

The score of source view j for reference view i sums, over the surface points of i's depth
map that j sees unoccluded inside its image, the piecewise Gaussian of the triangulation
angle theta: ``exp(-(theta - THETA0)^2 / (2 sigma^2))`` with sigma = SIGMA1 for
theta <= THETA0 and SIGMA2 above (degrees), as the original colmap2mvsnet.py scores its
sparse points.
"""
import numpy as np

from tools.synthetic.cameras import backproject, camera_center, project
from tools.synthetic.scene import EPS

# colmap2mvsnet view selection: piecewise Gaussian on the triangulation angle (degrees)
THETA0, SIGMA1, SIGMA2 = 5.0, 1.0, 10.0


def view_selection_scores(scene, intrinsics, extrinsics, depths, stride=4):
    """colmap2mvsnet-style view-selection scores.

    For the points of view i's depth map (every ``stride``-th pixel, back-projected at their
    exact depth) that view j sees unoccluded (a ray is cast from j) and inside its image
    (pixel centres in [0, W-1] x [0, H-1]), sum the piecewise Gaussian of the triangulation
    angle. Depth maps may be at any resolution as long as the intrinsics match them.

    Args:
        scene: the :class:`tools.synthetic.scene.Scene` the depth maps were rendered from.
        intrinsics: V intrinsics K (3, 3), one per depth map.
        extrinsics: V world-to-camera extrinsics (4, 4).
        depths: V depth maps (H_i, W_i) (camera z, 0 = no surface).
        stride: pixel step of the sampled points.

    Returns:
        score (V, V) float64: ``score[i, j]`` is the score of source j for reference i
        (0 on the diagonal).
    """
    nv = len(extrinsics)
    score = np.zeros((nv, nv))
    centers = [camera_center(e) for e in extrinsics]
    for i in range(nv):
        d = depths[i][::stride, ::stride]
        vv, uu = np.mgrid[0:depths[i].shape[0]:stride, 0:depths[i].shape[1]:stride]
        m = d > 0
        pts = backproject(intrinsics[i], extrinsics[i], uu[m], vv[m], d[m])
        for j in range(nv):
            if j == i:
                continue
            h, w = depths[j].shape
            pix, z = project(intrinsics[j], extrinsics[j], pts)
            ok = (z > EPS) & (pix[:, 0] >= 0) & (pix[:, 0] <= w - 1) & (pix[:, 1] >= 0) & (pix[:, 1] <= h - 1)
            if not np.any(ok):
                continue
            p = pts[ok]
            s, _ = scene.intersect(centers[j], (p - centers[j]) / z[ok][:, None])
            vis = s >= z[ok] * (1.0 - 1e-6)
            p = p[vis]
            a = centers[i] - p
            b = centers[j] - p
            cosang = np.einsum("ij,ij->i", a, b) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
            theta = np.degrees(np.arccos(np.clip(cosang, -1.0, 1.0)))
            sig = np.where(theta <= THETA0, SIGMA1, SIGMA2)
            score[i, j] = float(np.sum(np.exp(-(theta - THETA0) ** 2 / (2.0 * sig ** 2))))
    return score


def select_views(score, num_src=10, fill=False):
    """Best sources of every view.

    Args:
        score: (V, V) scores from :func:`view_selection_scores`.
        num_src: at most this many sources per view.
        fill: repeat the sources cyclically up to exactly ``num_src`` (the original DTU
            training reader expects 10 per view).

    Returns:
        ``[(ref, [(src, score), ...]), ...]`` for ref = 0 .. V-1, sources by decreasing
        score (ties: lower id first); the layout :func:`cameras.pair.read_pair` returns.
    """
    pairs = []
    nv = len(score)
    for i in range(nv):
        others = [j for j in range(nv) if j != i]
        others.sort(key=lambda j: (-score[i, j], j))
        src = [(j, float(score[i, j])) for j in others[:num_src]]
        if fill and src:
            while len(src) < num_src:
                src.append(src[len(src) % len(others)])
        pairs.append((i, src))
    return pairs
