"""Where the detector looks between full-image detections: around the people it tracks.

On a CPU the detector's cost follows the pixels it reads (yolo11n-pose through OpenVINO on 2 cores: 42 ms for a
1080p frame at 640 px, 16 ms for a crop around one person). A crop is read at the full image's scale or finer,
so the people in it are seen with at least as many pixels as in a full-image detection. Every
`full_frame_every`-th frame, and the frame after one that lost somebody, reads the whole image, which is how
people entering it are found.
"""

import math

import numpy as np

from pmce_ros.perception.detector_exports import STRIDE

# Each side of the tracked people's union grows by this share of the union's height: a person running at 5 m/s
# across a 1080p image 5 m away moves about 2% of their height a frame at 30 Hz.
MARGIN = 0.2
# A region larger than this share of the image reads the whole image: the saving would be small.
MAX_AREA_SHARE = 0.5


def detection_region(boxes: np.ndarray, image_shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """(x_min, y_min, x_max, y_max) pixels, integer, within the image, around `boxes` (N, 4 as x_min, y_min,
    x_max, y_max); None (the whole image) without boxes or when the region would cover more than
    MAX_AREA_SHARE of it."""
    if len(boxes) == 0:
        return None
    height, width = image_shape
    x_min, y_min = boxes[:, :2].min(axis=0)
    x_max, y_max = boxes[:, 2:].max(axis=0)
    margin = MARGIN * (y_max - y_min)
    region = (
        max(0, math.floor(x_min - margin)),
        max(0, math.floor(y_min - margin)),
        min(width, math.ceil(x_max + margin)),
        min(height, math.ceil(y_max + margin)),
    )
    area = (region[2] - region[0]) * (region[3] - region[1])
    if region[2] - region[0] < STRIDE or region[3] - region[1] < STRIDE or area > MAX_AREA_SHARE * height * width:
        return None
    return region


def region_image_size(region_shape: tuple[int, int], image_shape: tuple[int, int], image_size: int) -> int:
    """The inference size (long side, a multiple of the network's stride) that reads a region of `region_shape`
    at the scale a full-image detection at `image_size` reads the image, or finer."""
    scale = image_size / max(image_shape)
    return min(image_size, max(STRIDE, math.ceil(max(region_shape) * scale / STRIDE) * STRIDE))
