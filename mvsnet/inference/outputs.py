"""The files depth inference writes into ``DENSE/depths_mvsnet/``, as the original test.py:
``%08d_init.pfm`` (depth), ``%08d_prob.pfm``, ``%08d.jpg`` (1/4-scale reference image),
``%08d.txt`` (1/4-scale camera) and, with refinement, ``%08d_refined.pfm`` (the names:
:mod:`cameras.layout`); each written to a temporary name and renamed. NumPy only.
"""

import os

import numpy as np

from cameras import layout
from cameras.atomic import write_bytes_atomic
from cameras.camfile import write_cam
from cameras.checks import describe_non_finite
from cameras.errors import InputError
from cameras.pfm import write_pfm

def make_output_folder(dense_folder):
    """Create ``DENSE/depths_mvsnet`` (as the original); InputError when it cannot be."""
    folder = layout.depth_folder(dense_folder)
    if os.path.isdir(folder):
        return folder
    if os.path.exists(folder):
        raise InputError("exists but is not a folder; cannot write the depth maps there", folder)
    try:
        os.mkdir(folder)
    except OSError as e:
        raise InputError("cannot create the output folder: %s" % (e.strerror or e), folder) from None
    return folder


def bytescale(image):
    """scipy.misc.bytescale of a float image as scipy.misc.imsave applied it: min..max of the
    whole array stretched to 0..255 (a constant image becomes 0), rounded by +0.5 after
    clipping, in the array's own float precision."""
    image = np.asarray(image)
    cmin = image.min()
    cmax = image.max()
    cscale = cmax - cmin
    if cscale == 0:
        cscale = 1
    scale = 255.0 / cscale
    data = (image - cmin) * scale
    return (data.clip(0, 255) + 0.5).astype(np.uint8)


def jpeg_bytes(rgb_uint8):
    """The JPEG imageio / Pillow write with their default settings (quality 75)."""
    import imageio.v2 as iio

    return iio.imwrite("<bytes>", rgb_uint8, format="jpg")


def reference_image_jpeg(scaled_ref_image):
    """The ``%08d.jpg`` of the original: the 1/4-scale reference image (BGR) as float32,
    converted to RGB and saved with scipy.misc.imsave (bytescaled min..max)."""
    rgb = np.asarray(scaled_ref_image, dtype=np.float32)[:, :, ::-1]
    return jpeg_bytes(bytescale(rgb))


def output_paths(folder, ref_index):
    """{kind: path} of the files written for one reference view (:data:`cameras.layout.DEPTH_FILES`)."""
    return layout.depth_files(folder, layout.view_name(ref_index))


def complete(folder, ref_index):
    """Whether every file that a run without refinement writes for ``ref_index`` exists."""
    return all(os.path.isfile(path) for kind, path in output_paths(folder, ref_index).items()
               if kind != "refined")


def check_view_maps(folder, view_ids, maps):
    """InputError unless every map of one reference view is finite, before anything of it
    is written: ``maps`` is {kind: array} ('init' depth, 'prob', 'refined'), ``view_ids``
    the reference view then its source views. The error names the file not written and
    the views whose images and cameras to look at."""
    for kind, array in maps.items():
        if array is None:
            continue
        problem = describe_non_finite(np.squeeze(array), "pixels")
        if problem is not None:
            ref = view_ids[0]
            sources = [v for v in dict.fromkeys(view_ids[1:]) if v != ref]   # pair.txt order
            raise InputError("not written: the network's %s map of reference view %d holds %s; "
                             "its inputs are view %d and source view(s) %s (images/%%08d.jpg, "
                             "cams/%%08d_cam.txt)"
                             % ({"init": "depth", "prob": "probability"}.get(kind, kind), ref, problem,
                                ref, ", ".join(str(s) for s in sources) or "none"),
                             output_paths(folder, ref)[kind])


def write_view_outputs(folder, ref_index, depth, prob, scaled_ref_image, scaled_ref_cam, refined=None):
    """Write the files of one reference view, each atomically, as the original:
    ``%08d_init.pfm`` (depth), ``%08d_prob.pfm``, ``%08d.jpg`` (1/4-scale reference image,
    bytescaled), ``%08d.txt`` (1/4-scale reference camera, float32 values) and, with
    refinement, ``%08d_refined.pfm``. Returns the paths written."""
    paths = output_paths(folder, ref_index)
    write_pfm(paths["init"], np.ascontiguousarray(np.squeeze(depth), dtype=np.float32))
    write_pfm(paths["prob"], np.ascontiguousarray(np.squeeze(prob), dtype=np.float32))
    write_bytes_atomic(paths["image"], reference_image_jpeg(scaled_ref_image))
    write_cam(paths["cam"], np.asarray(scaled_ref_cam, dtype=np.float32))
    written = [paths["init"], paths["prob"], paths["image"], paths["cam"]]
    if refined is not None:
        write_pfm(paths["refined"], np.ascontiguousarray(np.squeeze(refined), dtype=np.float32))
        written.append(paths["refined"])
    return written
