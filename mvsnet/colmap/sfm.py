"""Structure from motion on the CPU with pycolmap: SIFT features, matching, incremental
mapping, then undistortion into a COLMAP dense workspace (``images/``, ``sparse/``).

pycolmap is imported inside the functions only.
"""

import dataclasses
import os
import shutil
import time

from cameras.errors import InputError
from mvsnet import progress
from mvsnet.options import option

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".ppm", ".pgm", ".webp")
MATCHERS = ("exhaustive", "sequential", "vocabtree")


@dataclasses.dataclass
class SfmOptions:
    """reconstruct.py's SfM options (its flags are generated from the flag fields)."""

    matcher: str = option("exhaustive", "Feature matching: exhaustive (up to a few hundred photos), "
                          "sequential (video frames in name order), vocabtree (large sets; "
                          "--vocab_tree_path).")
    vocab_tree_path: str = option("", "Vocabulary tree file for --matcher vocabtree.")
    sequential_overlap: int = option(10, "--matcher sequential: next photos matched.")
    single_camera: bool = option(True, "All photos share one camera (same body and zoom).")
    camera_model: str = option("SIMPLE_RADIAL", "COLMAP camera model SfM estimates "
                               "(SIMPLE_RADIAL, RADIAL, OPENCV, PINHOLE, ...).")
    max_image_size: int = option(3200, "SIFT runs on photos downscaled to this side.")
    max_num_features: int = option(8192, flag=False)
    sift_peak_threshold: float = option(0.002, "SIFT's least contrast of a feature (COLMAP's "
                                        "default 0.02 / 3 finds about a third as many features "
                                        "on low-contrast texture; docs/own-photos.md).")
    min_registered: int = option(3, "Fewer registered photos is a failure.")
    num_threads: int = option(-1, flag=False)
    seed: int = option(0, flag=False)

    def check(self):
        if self.matcher not in MATCHERS:
            raise InputError("--matcher must be one of %s, got %r" % (", ".join(MATCHERS), self.matcher))
        if self.matcher == "vocabtree" and not os.path.isfile(self.vocab_tree_path or ""):
            raise InputError("--matcher vocabtree needs --vocab_tree_path, a COLMAP vocabulary tree "
                             "file (e.g. vocab_tree_flickr100K_words32K.bin from colmap.github.io)")
        if self.min_registered < 2:
            raise InputError("--min_registered must be at least 2")
        if not 0 < self.sift_peak_threshold < 1:
            raise InputError("--sift_peak_threshold must be in (0, 1), got %r" % self.sift_peak_threshold)


def quiet_colmap(pycolmap):
    """COLMAP logs every step on stderr; keep it for fatal errors (our own lines report
    progress and failures)."""
    pycolmap.logging.minloglevel = 3


def list_photos(image_dir):
    """Sorted photo names of ``image_dir`` (not recursive); InputError when there are fewer
    than two."""
    if not os.path.isdir(image_dir):
        raise InputError("the photo folder does not exist", image_dir)
    names = sorted(n for n in os.listdir(image_dir)
                   if n.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(os.path.join(image_dir, n)))
    if len(names) < 2:
        raise InputError("found %d photo(s) (%s); structure from motion needs at least 2, better 10 "
                         "or more" % (len(names), "/".join(IMAGE_EXTENSIONS)), image_dir)
    return names


def decodable_photos(image_dir, names, options, log=print):
    """The names of the photos that decode completely (:mod:`mvsnet.images`), checked before
    structure from motion starts: one warning line per other photo, an InputError when
    fewer than 2 (or ``options.min_registered``) remain."""
    from mvsnet import images

    paths = images.decodable([os.path.join(image_dir, n) for n in names],
                             warn=lambda line: log("  warning: " + line))
    good = [os.path.basename(p) for p in paths]
    need = max(2, options.min_registered)
    if len(good) < need:
        raise InputError("only %d of %d photos decode (need %d); the others are named above"
                         % (len(good), len(names), need), image_dir)
    return good


def _replace_dir(tmp, final):
    if os.path.isdir(final):
        shutil.rmtree(final)
    os.replace(tmp, final)


def database_count(database_path, table):
    """Rows of ``table`` in the COLMAP database (read-only; while COLMAP writes it: how far
    feature extraction (keypoints: one row per photo) or matching (two_view_geometries: one
    row per verified pair) has come)."""
    import sqlite3

    connection = sqlite3.connect("file:%s?mode=ro" % os.path.abspath(database_path), uri=True,
                                 timeout=0.2)
    try:
        return connection.execute("SELECT COUNT(*) FROM %s" % table).fetchone()[0]
    finally:
        connection.close()


def run_sfm(image_dir, sparse_dir, database_path, options, log=print):
    """Features, matches and incremental mapping of the photos of ``image_dir``; the largest
    model is written (binary) to ``sparse_dir``. Returns a summary dict with the seconds of
    each step. InputError (one line) when too few photos register."""
    import pycolmap

    quiet_colmap(pycolmap)
    options.check()
    names = decodable_photos(image_dir, list_photos(image_dir), options, log)
    for path in (database_path,):
        if os.path.exists(path):
            os.remove(path)  # ours: a previous, interrupted run
    os.makedirs(os.path.dirname(os.path.abspath(database_path)), exist_ok=True)
    seconds = {}
    start = time.perf_counter()
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.max_image_size = options.max_image_size
    extraction.num_threads = options.num_threads
    extraction.use_gpu = False
    extraction.sift.max_num_features = options.max_num_features
    extraction.sift.peak_threshold = options.sift_peak_threshold
    reader = pycolmap.ImageReaderOptions()
    reader.camera_model = options.camera_model
    mode = pycolmap.CameraMode.SINGLE if options.single_camera else pycolmap.CameraMode.AUTO
    with progress.Progress(len(names), "SIFT features", unit="photo", log=log) as bar, \
            progress.Poller(bar, lambda: database_count(database_path, "keypoints")):
        pycolmap.extract_features(database_path, image_dir, image_names=names, camera_mode=mode,
                                  reader_options=reader, extraction_options=extraction,
                                  device=pycolmap.Device.cpu)
    seconds["features"] = time.perf_counter() - start
    log("  SIFT features of %d photos: %.1f s" % (len(names), seconds["features"]))

    start = time.perf_counter()
    matching = pycolmap.FeatureMatchingOptions()
    matching.use_gpu = False
    matching.num_threads = options.num_threads
    # pairs verified so far / all pairs (exhaustive; the other matchers' count is not known)
    pairs = len(names) * (len(names) - 1) // 2 if options.matcher == "exhaustive" else None
    with progress.Progress(pairs, "%s matching" % options.matcher, unit="pair", log=log) as bar, \
            progress.Poller(bar, lambda: database_count(database_path, "two_view_geometries")):
        if options.matcher == "exhaustive":
            pycolmap.match_exhaustive(database_path, matching_options=matching, device=pycolmap.Device.cpu)
        elif options.matcher == "sequential":
            pairing = pycolmap.SequentialPairingOptions()
            pairing.overlap = options.sequential_overlap
            pycolmap.match_sequential(database_path, matching_options=matching, pairing_options=pairing,
                                      device=pycolmap.Device.cpu)
        else:
            pairing = pycolmap.VocabTreePairingOptions()
            pairing.vocab_tree_path = options.vocab_tree_path
            pycolmap.match_vocabtree(database_path, matching_options=matching, pairing_options=pairing,
                                     device=pycolmap.Device.cpu)
    seconds["matching"] = time.perf_counter() - start
    log("  %s matching: %.1f s" % (options.matcher, seconds["matching"]))

    start = time.perf_counter()
    mapping = pycolmap.IncrementalPipelineOptions()
    mapping.num_threads = options.num_threads
    mapping.random_seed = options.seed
    tmp = sparse_dir + ".tmp"
    if os.path.isdir(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    with progress.Progress(len(names), "mapping", unit="photo", log=log) as bar:
        # called by COLMAP after each photo it registers (the first pair counts as two)
        models = pycolmap.incremental_mapping(
            database_path, image_dir, tmp, options=mapping,
            initial_image_pair_callback=lambda: bar.update(2),
            next_image_callback=lambda: bar.update(1))
    seconds["mapping"] = time.perf_counter() - start
    if not models:
        shutil.rmtree(tmp)
        raise InputError("no reconstruction: no two photos could be matched and triangulated "
                         "(too little overlap or texture, or too small a baseline)", image_dir)
    best = max(models.values(), key=lambda r: r.num_reg_images())
    registered = best.num_reg_images()
    log("  incremental mapping: %d model(s), the largest registers %d of %d photos, %d points, "
        "%.1f s" % (len(models), registered, len(names), best.num_points3D(), seconds["mapping"]))
    if registered < options.min_registered:
        shutil.rmtree(tmp)
        raise InputError("only %d of %d photos registered (need %d): the photos need more overlap "
                         "(each scene point in 3 or more photos, 60-80 %% overlap between neighbours)"
                         % (registered, len(names), options.min_registered), image_dir)
    final_tmp = tmp + ".best"
    os.makedirs(final_tmp, exist_ok=True)
    best.write_binary(final_tmp)
    shutil.rmtree(tmp)
    _replace_dir(final_tmp, sparse_dir)
    return dict(photos=len(names), registered=registered, models=len(models),
                points=best.num_points3D(), seconds=seconds)


def undistort(image_dir, sparse_dir, dense_dir, max_image_size=-1, log=print):
    """COLMAP's image_undistorter: ``dense_dir/images`` and ``dense_dir/sparse`` (PINHOLE)."""
    import pycolmap

    quiet_colmap(pycolmap)
    start = time.perf_counter()
    tmp = dense_dir + ".tmp"
    if os.path.isdir(tmp):
        shutil.rmtree(tmp)
    options = pycolmap.UndistortCameraOptions()
    options.max_image_size = max_image_size
    pycolmap.undistort_images(tmp, sparse_dir, image_dir, undistort_options=options)
    _replace_dir(tmp, dense_dir)
    seconds = time.perf_counter() - start
    log("  undistortion into %s: %.1f s" % (dense_dir, seconds))
    return seconds
