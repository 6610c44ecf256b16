"""The checks a frame passes before the pipeline touches its state."""

import numpy as np

from pmce_ros.pipeline.results import InvalidInput

MIN_IMAGE_SIDE = 32


def as_bgr(image: np.ndarray) -> np.ndarray:
    """A uint8 BGR or grey image as (H, W, 3) BGR; InvalidInput for anything else or anything too small."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise InvalidInput(f"expected a uint8 numpy image, got {type(image).__name__} {getattr(image, 'dtype', '')}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:  # greyscale: replicate into three channels
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidInput(f"expected an (H, W, 3) BGR or (H, W) grey image, got shape {image.shape}")
    if min(image.shape[:2]) < MIN_IMAGE_SIDE:
        raise InvalidInput(f"image {image.shape[1]}x{image.shape[0]} is smaller than {MIN_IMAGE_SIDE} px a side")
    return image
