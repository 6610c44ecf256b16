"""Person crops for the image-feature stream, made the way the authors' demo makes them.

Square, centred on the box around the keypoints with confidence > 0.3, side = that box's diagonal x 1.1,
resampled to 224 x 224 RGB, normalised with ImageNet mean and std. The frame stays BGR (as decoded and as the
detector takes it); only the small crops change channel order. Parts outside the image are black (zero before
normalisation).
"""

import cv2
import numpy as np

CROP_SIZE = 224
KEYPOINT_CONFIDENCE = 0.3
SCALE = 1.1
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def crop_square(keypoints: np.ndarray, fallback_box: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre (x, y) and side of the crop for one person; the detector box when < 2 keypoints are confident."""
    confident = keypoints[keypoints[:, 2] > KEYPOINT_CONFIDENCE, :2]
    if len(confident) >= 2:
        low, high = confident.min(0), confident.max(0)
    else:
        low, high = fallback_box[:2], fallback_box[2:]
    side = max(float(np.linalg.norm(high - low)) * SCALE, 1.0)
    return (low + high) / 2, side


def crop_people(image_bgr: np.ndarray, keypoints: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR image, (N, 17, 3) keypoints, (N, 4) boxes -> (N, 3, 224, 224) float32 normalised RGB."""
    crops = np.empty((len(keypoints), CROP_SIZE, CROP_SIZE, 3), dtype=np.float32)
    for i, (person, box) in enumerate(zip(keypoints, boxes)):
        centre, side = crop_square(person, box)
        scale = CROP_SIZE / side
        # Maps the square's corner to (0, 0) and its side to 224 pixels.
        affine = np.array(
            [[scale, 0, CROP_SIZE / 2 - scale * centre[0]], [0, scale, CROP_SIZE / 2 - scale * centre[1]]],
            dtype=np.float64,
        )
        crops[i] = cv2.warpAffine(
            image_bgr,
            affine,
            (CROP_SIZE, CROP_SIZE),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
    crops = (crops[..., ::-1] / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)
