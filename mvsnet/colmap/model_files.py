"""The files of a COLMAP sparse model checked before pycolmap reads them.

pycolmap's readers stop on a broken file with the text of a C++ check
(``[reconstruction_io_text.cc:288] Check failed: line_stream2 >> point3D_id_signed``), and
on some truncated binary files (``points3D.bin``, ``frames.bin``) they abort the whole
process. :func:`check_model_files` walks every file of the model first, in plain Python,
with the layouts COLMAP writes (text and binary, with or without the ``rigs`` / ``frames``
files of COLMAP >= 3.12), and raises an :class:`InputError` naming the broken file and
what is wrong in plain words: where it ends early, a count larger than the file, an
unknown camera model, a number that is not finite, an id that refers to nothing. A model
that passes is one pycolmap reads.
"""

import math
import os
import struct

from cameras.errors import InputError

FILES = ("cameras", "images", "points3D")
OPTIONAL_FILES = ("rigs", "frames")
INVALID_POINT3D_ID = 2 ** 64 - 1   # "no 3-D point" in images.bin (-1 in images.txt)
SENSOR_TYPES = {-1: "INVALID", 0: "CAMERA", 1: "IMU"}
MAX_SIDE = 2 ** 31 - 1

_param_counts = {}


def camera_models():
    """{model id: (name, number of parameters)} of the installed pycolmap."""
    if not _param_counts:
        import pycolmap

        for model in pycolmap.CameraModelId.__members__.values():
            if int(model.value) < 0:
                continue
            cam = pycolmap.Camera.create_from_model_id(0, model, 1.0, 1, 1)
            _param_counts[int(model.value)] = (model.name, len(cam.params))
    return _param_counts


def _finite(values):
    return all(math.isfinite(v) for v in values)


class _Binary:
    """Little-endian reader of one binary file; errors name the file and the item."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        self.pos = 0
        self.item = "the header"

    def fail(self, problem):
        raise InputError(problem, self.path)

    def take(self, fmt):
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.data):
            self.fail("the file ends early, in %s (byte %d of %d): truncated?"
                      % (self.item, self.pos, len(self.data)))
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return values

    def one(self, fmt):
        return self.take(fmt)[0]

    def count(self, what, least_bytes):
        n = self.one("Q")
        room = (len(self.data) - self.pos) // least_bytes
        if n > room:
            self.fail("announces %d %s but the file has room for at most %d: a wrong count or "
                      "a truncated file" % (n, what, room))
        return n

    def name(self):
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            self.fail("the file ends early, in the name of %s: truncated?" % self.item)
        raw = self.data[self.pos:end]
        self.pos = end + 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fail("the name of %s is not UTF-8 text" % self.item)

    def entries(self, what, least_bytes, item):
        """The index k of each of the ``what`` the file announces (a uint64 count, each entry
        at least ``least_bytes`` long), with :attr:`item` "``item`` k+1" for the errors; at
        the end, :meth:`end`."""
        for k in range(self.count(what, least_bytes)):
            self.item = "%s %d" % (item, k + 1)
            yield k
        self.end()

    def end(self):
        if self.pos != len(self.data):
            self.fail("%d bytes follow the last entry the file announces: a wrong count?"
                      % (len(self.data) - self.pos))


class _Text:
    """Data lines of one text file (comments and blank lines skipped, except where the
    layout keeps a blank line, as the points line of images.txt)."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("is not UTF-8 text (a binary file named .txt?)", path) from None
        self.lines = text.splitlines()
        self.k = 0

    def next(self, keep_blank=False):
        """(line number, words) of the next data line, or None at the end."""
        while self.k < len(self.lines):
            line = self.lines[self.k].strip()
            self.k += 1
            if keep_blank and not line.startswith("#"):
                return self.k, line.split()
            if line and not line.startswith("#"):
                return self.k, line.split()
        return None

    def data_lines(self):
        """(line number, words) of each data line in turn (:meth:`next`; the caller may take
        a line of its own with ``next`` between two)."""
        while True:
            line = self.next()
            if line is None:
                return
            yield line

    def fail(self, number, problem):
        raise InputError("line %d: %s" % (number, problem), self.path)

    def numbers(self, number, words, kind, what):
        out = []
        for w in words:
            try:
                out.append(kind(w))
            except ValueError:
                self.fail(number, "%s: %r is not %s" % (what, w[:24], "an integer" if kind is int else "a number"))
        if kind is float and not _finite(out):
            self.fail(number, "%s holds %s" % (what, next(w for w, v in zip(words, out) if not math.isfinite(v))))
        return out


# ----------------------------------------------------------------------------- checks of values

class _Model:
    """What the walkers collected, for the cross-file checks."""

    def __init__(self):
        self.cameras = set()
        self.images = {}     # id -> number of 2-D points
        self.image_points = {}   # id -> set of 3-D point ids observed
        self.points = set()
        self.rigs = {}       # id -> set of (sensor type, sensor id)
        self.frames = []     # (frame id, rig id, [(type, id, data id)])


def _camera(model, fail, camera_id, model_id, width, height, params, by_name=None):
    models = camera_models()
    if camera_id in model.cameras:
        fail("camera %d is listed twice" % camera_id)
    if model_id not in models:
        fail("camera %d has the unknown camera model %s" % (camera_id, by_name or model_id))
    name, count = models[model_id]
    if len(params) != count:
        fail("camera %d (%s) has %d parameters, the model has %d" % (camera_id, name, len(params), count))
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        fail("camera %d has an impossible size %dx%d" % (camera_id, width, height))
    if not _finite(params):
        fail("camera %d has a parameter that is not finite (%s)" % (camera_id, " ".join("%g" % p for p in params)))
    model.cameras.add(camera_id)


def _pose(fail, what, q, t):
    if not _finite(q) or not _finite(t):
        fail("%s has a pose that is not finite (rotation %s, translation %s)"
             % (what, " ".join("%g" % v for v in q), " ".join("%g" % v for v in t)))
    norm = math.sqrt(sum(v * v for v in q))
    if not 1e-6 < norm < 1e6:
        fail("%s has a degenerate rotation quaternion (norm %g; COLMAP writes unit quaternions)"
             % (what, norm))


def _cross_check(model, paths, fail_file):
    for image_id, point_ids in model.image_points.items():
        missing = point_ids - model.points
        if missing:
            fail_file(paths["images"], "image %d observes the 3-D point %d, which points3D does not hold"
                      % (image_id, min(missing)))
    for rig_id, sensors in model.rigs.items():
        for kind, sensor_id in sensors:
            if kind == 0 and sensor_id not in model.cameras:
                fail_file(paths["rigs"], "rig %d names camera %d, which the cameras file does not hold"
                          % (rig_id, sensor_id))
    for frame_id, rig_id, data in model.frames:
        if rig_id not in model.rigs:
            fail_file(paths["frames"], "frame %d names rig %d, which the rigs file does not hold" % (frame_id, rig_id))
        for kind, sensor_id, data_id in data:
            if kind == 0 and data_id not in model.images:
                fail_file(paths["frames"], "frame %d names image %d, which the images file does not hold"
                          % (frame_id, data_id))
            if (kind, sensor_id) not in model.rigs.get(rig_id, ()):
                fail_file(paths["frames"], "frame %d names sensor %s %d, which its rig %d does not have"
                          % (frame_id, SENSOR_TYPES.get(kind, kind), sensor_id, rig_id))


# ----------------------------------------------------------------------------- binary

def _cameras_bin(path, model):
    f = _Binary(path)
    for _ in f.entries("cameras", 24, "camera"):
        camera_id, model_id, width, height = f.take("iiQQ")
        count = camera_models().get(model_id, (None, 0))[1]
        if model_id not in camera_models():
            f.fail("camera %d has the unknown camera model id %d" % (camera_id, model_id))
        params = f.take("%dd" % count)
        _camera(model, f.fail, camera_id, model_id, width, height, params)


def _images_bin(path, model):
    f = _Binary(path)
    for k in f.entries("images", 73, "image"):
        image_id = f.one("I")
        values = f.take("7d")
        camera_id = f.one("I")
        f.item = "image %d (id %d)" % (k + 1, image_id)
        name = f.name()
        if image_id in model.images:
            f.fail("image %d is listed twice" % image_id)
        if camera_id not in model.cameras:
            f.fail("image %d (%s) names camera %d, which cameras.bin does not hold" % (image_id, name, camera_id))
        _pose(f.fail, "image %d (%s)" % (image_id, name), values[:4], values[4:])
        n = f.count("2-D points of image %d" % image_id, 24)
        observed = set()
        for _ in range(n):
            x, y, point_id = f.take("ddQ")
            if not (math.isfinite(x) and math.isfinite(y)):
                f.fail("image %d (%s) has a 2-D point that is not finite" % (image_id, name))
            if point_id != INVALID_POINT3D_ID:
                observed.add(point_id)
        model.images[image_id] = n
        model.image_points[image_id] = observed


def _points_bin(path, model):
    f = _Binary(path)
    for _ in f.entries("3-D points", 51, "3-D point"):
        values = f.take("Q3d3BdQ")
        point_id, xyz, length = values[0], values[1:4], values[8]
        if not _finite(xyz):
            f.fail("3-D point %d has a position that is not finite" % point_id)
        if point_id in model.points:
            f.fail("3-D point %d is listed twice" % point_id)
        room = (len(f.data) - f.pos) // 8
        if length > room:
            f.fail("3-D point %d announces a track of %d, more than the file holds" % (point_id, length))
        for _ in range(length):
            image_id, index = f.take("II")
            _track_element(f.fail, model, point_id, image_id, index)
        model.points.add(point_id)


def _track_element(fail, model, point_id, image_id, index):
    if image_id not in model.images:
        fail("3-D point %d is seen in image %d, which the images file does not hold" % (point_id, image_id))
    if index >= model.images[image_id]:
        fail("3-D point %d is 2-D point %d of image %d, which has only %d"
             % (point_id, index, image_id, model.images[image_id]))


def _rigs_bin(path, model):
    f = _Binary(path)
    for _ in f.entries("rigs", 16, "rig"):
        rig_id, num_sensors = f.take("II")
        if num_sensors < 1:
            f.fail("rig %d has no sensor" % rig_id)
        sensors = {f.take("iI")}
        for _ in range(num_sensors - 1):
            kind, sensor_id, has_pose = f.take("iIB")
            if has_pose:
                values = f.take("7d")
                _pose(f.fail, "sensor %d of rig %d" % (sensor_id, rig_id), values[:4], values[4:])
            sensors.add((kind, sensor_id))
        if any(kind not in SENSOR_TYPES for kind, _ in sensors):
            f.fail("rig %d has a sensor of unknown type" % rig_id)
        model.rigs[rig_id] = sensors


def _frames_bin(path, model):
    f = _Binary(path)
    for _ in f.entries("frames", 68, "frame"):
        frame_id, rig_id = f.take("II")
        values = f.take("7d")
        _pose(f.fail, "frame %d" % frame_id, values[:4], values[4:])
        n = f.one("I")
        if n * 16 > len(f.data) - f.pos:
            f.fail("frame %d announces %d data ids, more than the file holds" % (frame_id, n))
        data = [f.take("iIQ") for _ in range(n)]
        model.frames.append((frame_id, rig_id, data))


# ----------------------------------------------------------------------------- text

def _cameras_txt(path, model):
    f = _Text(path)
    names = {name: model_id for model_id, (name, _) in camera_models().items()}
    for number, words in f.data_lines():
        if len(words) < 4:
            f.fail(number, "expected CAMERA_ID MODEL WIDTH HEIGHT PARAMS..., found %d words" % len(words))
        camera_id, width, height = f.numbers(number, [words[0], words[2], words[3]], int, "camera id and size")
        params = f.numbers(number, words[4:], float, "the parameters of camera %d" % camera_id)
        if words[1] not in names:
            f.fail(number, "camera %d has the unknown camera model %r" % (camera_id, words[1][:24]))
        _camera(model, lambda p: f.fail(number, p), camera_id, names[words[1]], width, height, params)


def _images_txt(path, model):
    f = _Text(path)
    for number, words in f.data_lines():
        if len(words) < 10:
            f.fail(number, "expected IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME, found %d words" % len(words))
        image_id, camera_id = f.numbers(number, [words[0], words[8]], int, "image and camera ids")
        values = f.numbers(number, words[1:8], float, "the pose of image %d" % image_id)
        name = " ".join(words[9:])
        fail = lambda p, n=number: f.fail(n, p)   # noqa: E731
        if image_id in model.images:
            fail("image %d is listed twice" % image_id)
        if camera_id not in model.cameras:
            fail("image %d (%s) names camera %d, which cameras.txt does not hold" % (image_id, name, camera_id))
        _pose(fail, "image %d (%s)" % (image_id, name), values[:4], values[4:])
        points = f.next(keep_blank=True)
        if points is None:
            f.fail(number, "image %d (%s) has no line of 2-D points after it (an empty line when it "
                   "has none): truncated?" % (image_id, name))
        p_number, p_words = points
        if len(p_words) % 3:
            f.fail(p_number, "the 2-D points of image %d are X Y POINT3D_ID triples; found %d words"
                   % (image_id, len(p_words)))
        f.numbers(p_number, p_words[0::3] + p_words[1::3], float, "the 2-D points of image %d" % image_id)
        ids = f.numbers(p_number, p_words[2::3], int, "the 3-D point ids of image %d" % image_id)
        model.images[image_id] = len(ids)
        model.image_points[image_id] = {i for i in ids if i != -1}


def _points_txt(path, model):
    f = _Text(path)
    for number, words in f.data_lines():
        if len(words) < 8 or (len(words) - 8) % 2:
            f.fail(number, "expected POINT3D_ID X Y Z R G B ERROR and IMAGE_ID POINT2D_IDX pairs, found "
                   "%d words" % len(words))
        point_id = f.numbers(number, words[:1], int, "the point id")[0]
        f.numbers(number, words[1:4], float, "the position of 3-D point %d" % point_id)
        rgb = f.numbers(number, words[4:7], int, "the colour of 3-D point %d" % point_id)
        if not all(0 <= c <= 255 for c in rgb):
            f.fail(number, "the colour of 3-D point %d must be 0..255" % point_id)
        f.numbers(number, words[7:8], float, "the error of 3-D point %d" % point_id)
        track = f.numbers(number, words[8:], int, "the track of 3-D point %d" % point_id)
        if point_id in model.points:
            f.fail(number, "3-D point %d is listed twice" % point_id)
        for image_id, index in zip(track[0::2], track[1::2]):
            _track_element(lambda p: f.fail(number, p), model, point_id, image_id, index)
        model.points.add(point_id)


def _sensor_type(f, number, word):
    by_name = {v: k for k, v in SENSOR_TYPES.items()}
    if word not in by_name:
        f.fail(number, "unknown sensor type %r (CAMERA or IMU)" % word[:24])
    return by_name[word]


def _rigs_txt(path, model):
    f = _Text(path)
    for number, words in f.data_lines():
        if len(words) < 4:
            f.fail(number, "expected RIG_ID NUM_SENSORS REF_SENSOR_TYPE REF_SENSOR_ID, found %d words" % len(words))
        rig_id, num_sensors = f.numbers(number, words[:2], int, "rig id and sensor count")
        sensors = {(_sensor_type(f, number, words[2]), f.numbers(number, words[3:4], int, "the sensor id")[0])}
        pos = 4
        for _ in range(max(0, num_sensors - 1)):
            if pos + 3 > len(words):
                f.fail(number, "rig %d announces %d sensors; the line ends early" % (rig_id, num_sensors))
            kind = _sensor_type(f, number, words[pos])
            sensor_id, has_pose = f.numbers(number, words[pos + 1:pos + 3], int, "sensor of rig %d" % rig_id)
            pos += 3
            if has_pose:
                if pos + 7 > len(words):
                    f.fail(number, "rig %d: the pose of sensor %d is cut short" % (rig_id, sensor_id))
                values = f.numbers(number, words[pos:pos + 7], float, "the pose of sensor %d" % sensor_id)
                _pose(lambda p: f.fail(number, p), "sensor %d of rig %d" % (sensor_id, rig_id), values[:4], values[4:])
                pos += 7
            sensors.add((kind, sensor_id))
        if num_sensors < 1 or pos != len(words):
            f.fail(number, "rig %d announces %d sensors but the line holds %s"
                   % (rig_id, num_sensors, "more" if pos < len(words) else "none"))
        model.rigs[rig_id] = sensors


def _frames_txt(path, model):
    f = _Text(path)
    for number, words in f.data_lines():
        if len(words) < 10:
            f.fail(number, "expected FRAME_ID RIG_ID QW QX QY QZ TX TY TZ NUM_DATA_IDS, found %d words" % len(words))
        frame_id, rig_id = f.numbers(number, words[:2], int, "frame and rig ids")
        values = f.numbers(number, words[2:9], float, "the pose of frame %d" % frame_id)
        _pose(lambda p: f.fail(number, p), "frame %d" % frame_id, values[:4], values[4:])
        n = f.numbers(number, words[9:10], int, "the data id count")[0]
        if n < 0 or len(words) != 10 + 3 * n:
            f.fail(number, "frame %d announces %d data ids (SENSOR_TYPE SENSOR_ID DATA_ID) but the line "
                   "holds %d words after the count" % (frame_id, n, len(words) - 10))
        data = []
        for k in range(n):
            kind = _sensor_type(f, number, words[10 + 3 * k])
            sensor_id, data_id = f.numbers(number, words[11 + 3 * k:13 + 3 * k], int, "data id of frame %d" % frame_id)
            data.append((kind, sensor_id, data_id))
        model.frames.append((frame_id, rig_id, data))


_WALKERS = {".bin": {"cameras": _cameras_bin, "images": _images_bin, "points3D": _points_bin,
                     "rigs": _rigs_bin, "frames": _frames_bin},
            ".txt": {"cameras": _cameras_txt, "images": _images_txt, "points3D": _points_txt,
                     "rigs": _rigs_txt, "frames": _frames_txt}}


def model_paths(sparse_dir, kind):
    """{file: path} of the model's files of ``kind`` ('binary' or 'text')."""
    ext = ".bin" if kind == "binary" else ".txt"
    return {name: os.path.join(sparse_dir, name + ext) for name in FILES + OPTIONAL_FILES}


def check_model_files(sparse_dir, kind):
    """Walk every file of the ``kind`` ('binary' or 'text') model in ``sparse_dir``;
    InputError naming the first broken file. ``rigs`` and ``frames`` are optional, but
    come together."""
    ext = ".bin" if kind == "binary" else ".txt"
    paths = model_paths(sparse_dir, kind)
    optional = [os.path.isfile(paths[n]) for n in OPTIONAL_FILES]
    if any(optional) and not all(optional):
        have, lack = (OPTIONAL_FILES if optional[0] else OPTIONAL_FILES[::-1])
        raise InputError("the model has %s%s but no %s%s (COLMAP writes both or neither)"
                         % (have, ext, lack, ext), paths[lack])
    model = _Model()
    order = ("cameras", "rigs", "images", "frames", "points3D") if all(optional) else FILES
    for name in order:
        try:
            _WALKERS[ext][name](paths[name], model)
        except OSError as err:
            raise InputError("cannot read the file: %s" % (err.strerror or err), paths[name]) from None

    def fail_file(path, problem):
        raise InputError(problem, path)

    _cross_check(model, paths, fail_file)
    return model
