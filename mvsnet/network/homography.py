"""Differentiable homographies and feature warping (``mvsnet/homography_warping.py``).

Cameras are the original packed (B, 2, 4, 4) arrays at the boundary: ``cam[:, 0]`` the
world-to-camera extrinsic [R | t], ``cam[:, 1, :3, :3]`` the intrinsic K (already scaled
to the feature map).  A homography ``src_from_ref`` maps a pixel of the reference
feature map (image coordinates, pixel centres at +0.5) to the source view, for the
fronto-parallel plane at one depth of the reference camera.
"""

import tensorflow as tf


def depth_samples(depth_start, depth_num, depth_interval=None, depth_end=None, inverse=False):
    """Depth of every plane of the sweep, (B, D).

    Linear: ``start + d * interval`` (``get_homographies``).  Inverse:
    ``1 / linspace(1/start, 1/end, D)`` (``get_homographies_inv_depth``).
    depth_start, depth_interval, depth_end: (B,).
    """
    depth_start = tf.convert_to_tensor(depth_start, tf.float32)
    if inverse:
        if depth_end is None:
            raise ValueError("inverse depth sampling needs depth_end")
        inv = tf.linspace(1.0 / depth_start, 1.0 / tf.convert_to_tensor(depth_end, tf.float32),
                          tf.cast(depth_num, tf.int32), axis=1)
        return 1.0 / inv
    if depth_interval is None:
        raise ValueError("linear depth sampling needs depth_interval")
    steps = tf.cast(tf.range(tf.cast(depth_num, tf.int32)), tf.float32)
    return depth_start[:, None] + steps[None, :] * tf.convert_to_tensor(depth_interval, tf.float32)[:, None]


def get_homographies(ref_cam, src_cam, depths):
    """Plane-sweep homographies src_from_ref, (B, D, 3, 3).

    H(d) = K_src R_src (I - (c_src - c_ref) n^T / d) R_ref^T K_ref^-1, n = R_ref[2] (the
    reference optical axis), c = -R^T t the camera centres.
    ref_cam, src_cam: (B, 2, 4, 4); depths: (B, D) from :func:`depth_samples`.
    """
    ref_cam = tf.convert_to_tensor(ref_cam, tf.float32)
    src_cam = tf.convert_to_tensor(src_cam, tf.float32)
    tf.debugging.assert_rank(ref_cam, 4, message="ref_cam must be (B, 2, 4, 4)")
    tf.debugging.assert_rank(depths, 2, message="depths must be (B, D)")
    r_ref, t_ref, k_ref = ref_cam[:, 0, :3, :3], ref_cam[:, 0, :3, 3:4], ref_cam[:, 1, :3, :3]
    r_src, t_src, k_src = src_cam[:, 0, :3, :3], src_cam[:, 0, :3, 3:4], src_cam[:, 1, :3, :3]
    # 1. camera centres and the reference fronto-parallel normal
    r_ref_t = tf.transpose(r_ref, [0, 2, 1])
    c_ref = -tf.matmul(r_ref_t, t_ref)
    c_src = -tf.matmul(tf.transpose(r_src, [0, 2, 1]), t_src)
    normal = r_ref[:, 2:3, :]                                          # (B, 1, 3)
    baseline_normal = tf.matmul(c_src - c_ref, normal)                # (B, 3, 3)
    # 2. per-depth plane-induced homography, evaluated in the original's order
    plane = tf.eye(3, batch_shape=tf.shape(depths)) - baseline_normal[:, None] / depths[:, :, None, None]
    back_project = tf.matmul(r_ref_t, tf.linalg.inv(k_ref))[:, None]
    return tf.matmul(k_src[:, None], tf.matmul(r_src[:, None], tf.matmul(plane, back_project)))


def _pixel_homography(homography):
    """Image-coordinate homography (centres at +0.5) -> pixel-index one, flattened (B, 8).

    ``tf.contrib.image.transform`` works on pixel indices; the original re-expresses
    the homography with the 0.5-pixel shift on both sides, then normalises by h22.
    """
    h = tf.reshape(homography, [-1, 9])
    a0, a1, a2, b0, b1, b2, c0, c1, c2 = tf.unstack(h, axis=1)
    shifted = tf.stack([
        a0 - c0 / 2, a1 - c1 / 2, (a0 + a1) / 2 + a2 - (c0 + c1) / 4 - c2 / 2,
        b0 - c0 / 2, b1 - c1 / 2, (b0 + b1) / 2 + b2 - (c0 + c1) / 4 - c2 / 2,
        c0, c1, c2 + (c0 + c1) / 2], axis=1)
    return shifted[:, :8] / shifted[:, 8:9]


def warp_transform(feature, homography):
    """Warp a source feature map into the reference view (``tf_transform_homography``).

    Bilinear, zero outside the source image.  feature: (B, H, W, C); homography (B, 3, 3)
    src_from_ref in image coordinates.  Returns (B, H, W, C).
    """
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=feature, transforms=_pixel_homography(homography),
        output_shape=tf.shape(feature)[1:3], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT")


def warp_planes(feature, homographies):
    """:func:`warp_transform` of one source feature map for a chunk of K depth planes at once,
    as a gather: feature (B, H, W, C), homographies (B, K, 3, 3) -> (B, K, H, W, C).

    The kernel's formula (ImageProjectiveTransformV3, bilinear, fill 0), term by term:
    k = t6 x + t7 y + 1, source point ((t0 x + t1 y + t2) / k, (t3 x + t4 y + t5) / k), its
    four neighbours read with fill 0 outside the map, weighted along x then along y, and the
    fill value where k == 0.  Meant to run XLA-compiled (:mod:`mvsnet.network.cost_volume`
    ``variance_cost_planes``): the graph optimiser and XLA may reorder or fuse (multiply-add)
    a few of these float operations, so values can differ from the kernel in the last bits.
    """
    shape = tf.shape(feature)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    planes = tf.shape(homographies)[1]
    hf, wf = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    t = _pixel_homography(tf.reshape(homographies, [-1, 3, 3]))           # (B*K, 8)
    t = [tf.reshape(t[:, i], [batch, planes, 1, 1]) for i in range(8)]
    xs = tf.reshape(tf.cast(tf.range(width), tf.float32), [1, 1, 1, -1])
    ys = tf.reshape(tf.cast(tf.range(height), tf.float32), [1, 1, -1, 1])
    projection = t[6] * xs + t[7] * ys + 1.0
    x = (t[0] * xs + t[1] * ys + t[2]) / projection                        # (B, K, H, W)
    y = (t[3] * xs + t[4] * ys + t[5]) / projection
    x0, y0 = tf.floor(x), tf.floor(y)
    x1, y1 = x0 + 1, y0 + 1
    finite = tf.not_equal(projection, 0.0)
    rows = tf.reshape(feature, [-1, channels])
    offset = tf.reshape(tf.range(batch) * height * width, [-1, 1, 1, 1])

    def read(yy, xx):
        inside = (yy >= 0) & (yy < hf) & (xx >= 0) & (xx < wf) & finite
        index = tf.cast(tf.where(inside, yy, 0.0), tf.int32) * width + \
            tf.cast(tf.where(inside, xx, 0.0), tf.int32) + offset
        values = tf.gather(rows, index)                                    # (B, K, H, W, C)
        return tf.where(inside[..., None], values, 0.0)

    wx0, wx1 = (x1 - x)[..., None], (x - x0)[..., None]
    top = wx0 * read(y0, x0) + wx1 * read(y0, x1)
    bottom = wx0 * read(y1, x0) + wx1 * read(y1, x1)
    out = (y1 - y)[..., None] * top + (y - y0)[..., None] * bottom
    return tf.where(finite[..., None], out, 0.0)


def warp_gather(feature, homography):
    """The original's gather-based ``homography_warping`` (unused by its inference modes).

    Bilinear with both neighbours clamped into the image *before* the weights are
    taken, as the original: outside the image the weights cancel to zero, and on the
    last row/column (x1 clamped onto x0) every weight is zero.  Same arguments as
    :func:`warp_transform`."""
    shape = tf.shape(feature)
    batch, height, width = shape[0], shape[1], shape[2]
    # 1. pixel-centre grid (x + 0.5, y + 0.5, 1) of the reference view
    xs = tf.linspace(0.5, tf.cast(width, tf.float32) - 0.5, width)
    ys = tf.linspace(0.5, tf.cast(height, tf.float32) - 0.5, height)
    gx, gy = tf.meshgrid(xs, ys)
    grid = tf.stack([tf.reshape(gx, [-1]), tf.reshape(gy, [-1]), tf.ones([height * width])], 0)
    grid = tf.tile(grid[None], [batch, 1, 1])                        # (B, 3, HW)
    # 2. project into the source view
    warped = tf.matmul(homography[:, :2, :], grid)
    div = tf.matmul(homography[:, 2:3, :], grid)
    div = div + tf.cast(tf.equal(div, 0.0), tf.float32) * 1e-7
    warped = warped / div
    x = tf.reshape(warped[:, 0], [-1]) - 0.5
    y = tf.reshape(warped[:, 1], [-1]) - 0.5
    # 3. bilinear interpolation with clamped neighbours
    x0 = tf.cast(tf.floor(x), tf.int32)
    y0 = tf.cast(tf.floor(y), tf.int32)
    x1, y1 = x0 + 1, y0 + 1
    x0c, x1c = tf.clip_by_value(x0, 0, width - 1), tf.clip_by_value(x1, 0, width - 1)
    y0c, y1c = tf.clip_by_value(y0, 0, height - 1), tf.clip_by_value(y1, 0, height - 1)
    b = tf.repeat(tf.range(batch), height * width)

    def pick(yy, xx):
        return tf.gather_nd(feature, tf.stack([b, yy, xx], axis=1))

    x0f, x1f = tf.cast(x0c, tf.float32), tf.cast(x1c, tf.float32)
    y0f, y1f = tf.cast(y0c, tf.float32), tf.cast(y1c, tf.float32)
    out = tf.add_n([((y1f - y) * (x1f - x))[:, None] * pick(y0c, x0c),
                    ((y1f - y) * (x - x0f))[:, None] * pick(y0c, x1c),
                    ((y - y0f) * (x1f - x))[:, None] * pick(y1c, x0c),
                    ((y - y0f) * (x - x0f))[:, None] * pick(y1c, x1c)])
    return tf.reshape(out, shape)
