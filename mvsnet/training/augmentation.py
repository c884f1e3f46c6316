"""Online photometric augmentation of the original (mvsnet/photometric_augmentation.py
and ``online_augmentation`` of train.py), in TensorFlow 2.

Images are float32 (H, W, 3) in 0..255 (before standardisation).  Primitives and the
parameters train.py gives them (:data:`CONFIG`):

* random_brightness: add U(-50, 50), clip to 0..255;
* random_contrast: ``tf.image.random_contrast`` with a factor in U(0.3, 1.5), clip;
* additive_gaussian_noise: N(0, s) with s ~ U(0, 10), clip;
* additive_speckle_noise: each value to 0 with probability p, to 255 with p,
  p ~ U(0, 0.0035);
* additive_shade: 20 random filled ellipses, blurred (odd kernel in [100, 150]), darken or
  lighten by a transparency in U(-0.5, 0.5);
* motion_blur: a horizontal, vertical or diagonal line kernel of odd size <= 3 with
  Gaussian weights.

Like the original, only :data:`AUGMENTATIONS` (brightness, contrast, motion blur) are
applied -- the original lists the three others but leaves them commented out -- once
each, in a random order per image.
"""

import cv2
import numpy as np
import tensorflow as tf

ALL_PRIMITIVES = ("additive_gaussian_noise", "additive_speckle_noise", "random_brightness",
                  "random_contrast", "additive_shade", "motion_blur")
AUGMENTATIONS = ("random_brightness", "random_contrast", "motion_blur")
CONFIG = {
    "random_brightness": {"max_abs_change": 50},
    "random_contrast": {"strength_range": (0.3, 1.5)},
    "additive_gaussian_noise": {"stddev_range": (0, 10)},
    "additive_speckle_noise": {"prob_range": (0, 0.0035)},
    "additive_shade": {"transparency_range": (-0.5, 0.5), "kernel_size_range": (100, 150)},
    "motion_blur": {"max_kernel_size": 3},
}


def additive_gaussian_noise(image, stddev_range=(5, 95)):
    stddev = tf.random.uniform((), *stddev_range)
    noise = tf.random.normal(tf.shape(image), stddev=stddev)
    return tf.clip_by_value(image + noise, 0, 255)


def additive_speckle_noise(image, prob_range=(0.0, 0.005)):
    prob = tf.random.uniform((), *prob_range)
    sample = tf.random.uniform(tf.shape(image))
    noisy = tf.where(sample <= prob, tf.zeros_like(image), image)
    return tf.where(sample >= (1.0 - prob), 255.0 * tf.ones_like(image), noisy)


def random_brightness(image, max_abs_change=50):
    return tf.clip_by_value(tf.image.random_brightness(image, max_abs_change), 0, 255)


def random_contrast(image, strength_range=(0.5, 1.5)):
    return tf.clip_by_value(tf.image.random_contrast(image, *strength_range), 0, 255)


def _shade_numpy(img, nb_ellipses, transparency_range, kernel_size_range):
    min_dim = min(img.shape[:2]) // 4          # Python 2 integer division, as the original ran
    mask = np.zeros(img.shape[:2], np.uint8)
    for _ in range(nb_ellipses):
        ax = int(max(np.random.rand() * min_dim, min_dim // 5))
        ay = int(max(np.random.rand() * min_dim, min_dim // 5))
        max_rad = max(ax, ay)
        x = np.random.randint(max_rad, img.shape[1] - max_rad)
        y = np.random.randint(max_rad, img.shape[0] - max_rad)
        angle = np.random.rand() * 90
        cv2.ellipse(mask, (x, y), (ax, ay), angle, 0, 360, 255, -1)
    transparency = np.random.uniform(*transparency_range)
    kernel_size = np.random.randint(*kernel_size_range)
    if kernel_size % 2 == 0:
        kernel_size += 1
    mask = cv2.GaussianBlur(mask.astype(np.float32), (kernel_size, kernel_size), 0)
    shaded = img * (1 - transparency * mask[..., np.newaxis] / 255.0)
    return np.clip(shaded, 0, 255).astype(np.float32)


def additive_shade(image, nb_ellipses=20, transparency_range=(-0.5, 0.8),
                   kernel_size_range=(250, 350)):
    shaded = tf.numpy_function(
        lambda img: _shade_numpy(img, nb_ellipses, transparency_range, kernel_size_range),
        [image], tf.float32)
    return tf.reshape(shaded, tf.shape(image))


def motion_blur_kernel(mode, ksize):
    """The original's blur kernel: a line ('h', 'v', 'diag_down', 'diag_up') of odd size
    ``ksize`` weighted by a Gaussian of variance ksize^2 / 16, normalised to sum 1."""
    center = (ksize - 1) // 2
    kernel = np.zeros((ksize, ksize))
    if mode == "h":
        kernel[center, :] = 1.0
    elif mode == "v":
        kernel[:, center] = 1.0
    elif mode == "diag_down":
        kernel = np.eye(ksize)
    elif mode == "diag_up":
        kernel = np.flip(np.eye(ksize), 0)
    var = ksize * ksize / 16.0
    grid = np.repeat(np.arange(ksize)[:, np.newaxis], ksize, axis=-1)
    gaussian = np.exp(-(np.square(grid - center) + np.square(grid.T - center)) / (2.0 * var))
    kernel = kernel * gaussian
    return kernel / np.sum(kernel)


def _motion_blur_numpy(img, max_kernel_size):
    mode = np.random.choice(["h", "v", "diag_down", "diag_up"])
    ksize = np.random.randint(0, (max_kernel_size + 1) // 2) * 2 + 1  # odd
    return cv2.filter2D(img, -1, motion_blur_kernel(mode, ksize)).astype(np.float32)


def motion_blur(image, max_kernel_size=10):
    blurred = tf.numpy_function(lambda img: _motion_blur_numpy(img, max_kernel_size),
                                [image], tf.float32)
    return tf.reshape(blurred, tf.shape(image))


def online_augmentation(image, primitives=AUGMENTATIONS, config=None, random_order=True):
    """Apply every primitive once, in a random order (``random_order``), to one
    (H, W, 3) float32 image in 0..255, with the parameters of ``config`` (default
    :data:`CONFIG`, train.py's)."""
    config = CONFIG if config is None else config
    functions = [globals()[name] for name in primitives]
    settings = [dict(config.get(name, {})) for name in primitives]
    image = tf.convert_to_tensor(image, tf.float32)
    order = tf.range(len(primitives))
    if random_order:
        order = tf.random.shuffle(order)
    for i in range(len(primitives)):
        branches = [lambda f=f, c=c, x=image: f(x, **c) for f, c in zip(functions, settings)]
        image = tf.ensure_shape(tf.switch_case(order[i], branches), image.shape)
    return image
