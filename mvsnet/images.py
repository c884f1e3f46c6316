"""Whether an image file decodes, checked before the long work that needs it starts.

A truncated JPEG opens (its header is intact) and OpenCV even decodes it, with the missing
rows grey and a warning on stderr; structure from motion drops it without a word. Here
every image is decoded once with Pillow (JPEGs at 1/8 scale with ``draft``, which still
reads every byte of the compressed data), so a corrupt or truncated file is named.
"""

import os

from cameras.errors import InputError


def decode_problem(path):
    """None when ``path`` decodes completely, else the problem in a few words."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
            if w < 1 or h < 1:
                return "the image has no pixels (%dx%d)" % (w, h)
            if im.format == "JPEG":
                im.draft("RGB", (max(1, w // 8), max(1, h // 8)))
            im.load()
    except FileNotFoundError:
        return "the image does not exist"
    except IsADirectoryError:
        return "is a folder, not an image"
    except UnidentifiedImageError:
        return "not an image file (format not recognised)"
    except Image.DecompressionBombError as e:
        return "the image is too large to decode (%s)" % " ".join(str(e).split())[:120]
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as e:   # Pillow's decoders
        text = " ".join(str(getattr(e, "strerror", None) or e).split()) or type(e).__name__
        return "cannot decode the image (corrupt or truncated?): %s" % text[:160]
    return None


def check_decodes(path):
    """InputError naming ``path`` unless it decodes completely."""
    problem = decode_problem(path)
    if problem is not None:
        raise InputError(problem, path)


def check_all_decode(paths):
    """InputError unless every image of ``paths`` decodes; the error names the first bad
    file and lists the others (their names), so that one run finds them all."""
    bad = [(p, problem) for p, problem in ((p, decode_problem(p)) for p in dict.fromkeys(paths))
           if problem is not None]
    if bad:
        path, problem = bad[0]
        more = ""
        if len(bad) > 1:
            more = " (%d more image(s) do not decode: %s)" % (len(bad) - 1,
                                                            ", ".join(os.path.basename(p) for p, _ in bad[1:]))
        raise InputError(problem + more, path)


def decodable(paths, warn):
    """The paths that decode; ``warn`` gets one line ``PATH: problem`` per other file."""
    good = []
    for path in paths:
        problem = decode_problem(path)
        if problem is None:
            good.append(path)
        else:
            warn("%s: %s; left out" % (path, problem))
    return good
