#!/usr/bin/env python
"""docs/images/demo_side_by_side.png: reference image | estimated depth | true depth | probability.

    python docs/images/make_demo_figure.py demo_scene docs/images/demo_side_by_side.png [--view 0]

Reads the outputs of mvsnet/test.py (SCENE/depths_mvsnet/%08d.jpg, %08d_init.pfm,
%08d_prob.pfm) and the ground truth of tools/synthetic (SCENE/gt/%08d_depth.npy, taken
at the 1/4-scale pixels of the depth map). Estimated and true depth share one colour scale
(mvsnet/visualize.py's rainbow colour map); the probability is coloured over 0..1 with
the same map. Each panel is enlarged 2x (nearest neighbour).
"""

import argparse
import os

import cv2
import numpy as np

from cameras.atomic import write_bytes_atomic
from cameras.pfm import read_pfm
from mvsnet.colormap import colorize, rainbow_lut

ZOOM = 2
GAP = 6
LABEL_HEIGHT = 22


def panels(scene, view):
    out = os.path.join(scene, "depths_mvsnet")
    image = cv2.imread(os.path.join(out, "%08d.jpg" % view))[:, :, ::-1]
    depth = read_pfm(os.path.join(out, "%08d_init.pfm" % view))
    prob = read_pfm(os.path.join(out, "%08d_prob.pfm" % view))
    truth = np.load(os.path.join(scene, "gt", "%08d_depth.npy" % view))[::4, ::4]
    truth = np.where(truth > 0, truth, np.nan)
    both = colorize(np.hstack([depth, truth]))          # one colour scale for both
    lut = rainbow_lut()
    prob_rgb = lut[np.clip((prob * len(lut)).astype(np.int64), 0, len(lut) - 1)]
    width = depth.shape[1]
    return [("reference image (1/4)", image), ("estimated depth", both[:, :width]),
            ("true depth", both[:, width:]), ("probability 0..1", prob_rgb)]


def compose(items):
    tiles = []
    for label, rgb in items:
        rgb = np.repeat(np.repeat(np.asarray(rgb, np.uint8), ZOOM, axis=0), ZOOM, axis=1)
        strip = np.full((LABEL_HEIGHT, rgb.shape[1], 3), 255, np.uint8)
        cv2.putText(strip, label, (4, LABEL_HEIGHT - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                    cv2.LINE_AA)
        tiles.append(np.vstack([strip, rgb]))
    gap = np.full((tiles[0].shape[0], GAP, 3), 255, np.uint8)
    row = [tiles[0]]
    for tile in tiles[1:]:
        row += [gap, tile]
    return np.hstack(row)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scene")
    parser.add_argument("output")
    parser.add_argument("--view", type=int, default=0)
    args = parser.parse_args()
    figure = compose(panels(args.scene, args.view))
    ok, png = cv2.imencode(".png", np.ascontiguousarray(figure[:, :, ::-1]))
    assert ok
    write_bytes_atomic(args.output, png.tobytes())
    print("wrote %s (%dx%d)" % (args.output, figure.shape[1], figure.shape[0]))


if __name__ == "__main__":
    main()
