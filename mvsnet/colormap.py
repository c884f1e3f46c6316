"""Colour maps of the pictures (visualize.py's maps, the point-cloud renderer): NumPy only."""

import numpy as np


def rainbow_lut(n=256):
    """matplotlib's 'rainbow' colour map as an (n, 3) uint8 table: red |2x - 0.5|,
    green sin(pi x), blue cos(pi x / 2), clipped to [0, 1]."""
    x = np.linspace(0.0, 1.0, n)
    rgb = np.stack([np.abs(2 * x - 0.5), np.sin(x * np.pi), np.cos(x * np.pi / 2)], axis=1)
    return (np.clip(rgb, 0.0, 1.0) * 255).astype(np.uint8)


def colorize(depth, lut=None):
    """(H, W) float map -> (H, W, 3) uint8 RGB: min..max of the finite values over the lut
    (a constant map takes the lowest colour), non-finite pixels black."""
    lut = rainbow_lut() if lut is None else lut
    depth = np.asarray(depth, dtype=np.float64)
    finite = np.isfinite(depth)
    out = np.zeros(depth.shape + (3,), np.uint8)
    if not finite.any():
        return out
    values = depth[finite]
    out[finite] = map_values(values, values.min(), values.max(), lut)
    return out


def map_values(values, lo, hi, lut=None):
    """(N,) values -> (N, 3) uint8 through ``lut`` (K, 3) (default rainbow): lo..hi
    stretched over the table, values outside clipped to its ends (lo == hi: the lowest
    colour)."""
    lut = rainbow_lut() if lut is None else lut
    values = np.asarray(values, np.float64)
    norm = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
    index = np.clip((np.nan_to_num(norm) * len(lut)).astype(np.int64), 0, len(lut) - 1)
    return lut[index]
