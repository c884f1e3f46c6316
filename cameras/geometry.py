"""Pure camera geometry: image scaling and cropping (the original scale_camera and the
camera part of crop_mvs_input). Both return a new Camera; the input is not changed."""

from cameras.camera import Camera


def scale_camera(cam, scale=1):
    """The camera of the image resized by ``scale``: fx, fy, cx, cy are multiplied by
    ``scale`` (skew, extrinsic and depth range unchanged), as the original scale_camera."""
    intrinsic = cam.intrinsic.copy()
    intrinsic[0, 0] = cam.intrinsic[0, 0] * scale
    intrinsic[1, 1] = cam.intrinsic[1, 1] * scale
    intrinsic[0, 2] = cam.intrinsic[0, 2] * scale
    intrinsic[1, 2] = cam.intrinsic[1, 2] * scale
    return Camera(cam.extrinsic, intrinsic, cam.depth_min, cam.depth_interval,
                  cam.depth_num, cam.depth_max)


def crop_camera(cam, start_w, start_h):
    """The camera of ``image[start_h:, start_w:]``: the principal point moves by
    (-start_w, -start_h)."""
    intrinsic = cam.intrinsic.copy()
    intrinsic[0, 2] = cam.intrinsic[0, 2] - start_w
    intrinsic[1, 2] = cam.intrinsic[1, 2] - start_h
    return Camera(cam.extrinsic, intrinsic, cam.depth_min, cam.depth_interval,
                  cam.depth_num, cam.depth_max)
