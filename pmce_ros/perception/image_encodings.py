"""sensor_msgs/Image fields -> BGR uint8 numpy array, for the encodings cameras publish.

On a full ROS install this is cv_bridge's job; the ROS 2 cv_bridge has no wheel and PyPI's cv-bridge is the ROS 1
port, broken on NumPy 2. This module takes the message's fields, not the message, and imports no ROS.

Supported: rgb8, bgr8, rgba8, bgra8, mono8, mono16 (stretched to 8 bit by the frame's maximum), yuv422 / uyvy
(UYVY byte order) and yuv422_yuy2 / yuyv (YUYV). Rows may be padded (`step` > width x bytes per pixel). Every
inconsistency raises ImageConversionError with one sentence saying what is wrong.
"""

import sys

import cv2
import numpy as np

# encoding -> (bytes per pixel, channels, dtype)
LAYOUTS = {
    "rgb8": (3, 3, np.uint8),
    "bgr8": (3, 3, np.uint8),
    "rgba8": (4, 4, np.uint8),
    "bgra8": (4, 4, np.uint8),
    "mono8": (1, 1, np.uint8),
    "8uc1": (1, 1, np.uint8),
    "mono16": (2, 1, np.uint16),
    "16uc1": (2, 1, np.uint16),
    "yuv422": (2, 2, np.uint8),
    "uyvy": (2, 2, np.uint8),
    "yuv422_yuy2": (2, 2, np.uint8),
    "yuyv": (2, 2, np.uint8),
}
TO_BGR = {
    "rgb8": cv2.COLOR_RGB2BGR,
    "rgba8": cv2.COLOR_RGBA2BGR,
    "bgra8": cv2.COLOR_BGRA2BGR,
    "mono8": cv2.COLOR_GRAY2BGR,
    "8uc1": cv2.COLOR_GRAY2BGR,
    "mono16": cv2.COLOR_GRAY2BGR,
    "16uc1": cv2.COLOR_GRAY2BGR,
    "yuv422": cv2.COLOR_YUV2BGR_UYVY,
    "uyvy": cv2.COLOR_YUV2BGR_UYVY,
    "yuv422_yuy2": cv2.COLOR_YUV2BGR_YUYV,
    "yuyv": cv2.COLOR_YUV2BGR_YUYV,
}
MAX_PIXELS = 8192 * 8192


class ImageConversionError(ValueError):
    """The message does not describe a usable image."""


def image_to_bgr(encoding: str, height: int, width: int, step: int, is_bigendian: bool, data) -> np.ndarray:
    """The fields of a sensor_msgs/Image -> (height, width, 3) uint8 BGR (a new array)."""
    key = encoding.lower()
    if key not in LAYOUTS:
        raise ImageConversionError(f"unsupported encoding '{encoding}' (supported: {', '.join(LAYOUTS)})")
    pixel_bytes, channels, dtype = LAYOUTS[key]
    if height <= 0 or width <= 0:
        raise ImageConversionError(f"image has no pixels ({width}x{height})")
    if height * width > MAX_PIXELS:
        raise ImageConversionError(f"image {width}x{height} exceeds {MAX_PIXELS} pixels")
    if key in ("yuv422", "uyvy", "yuv422_yuy2", "yuyv") and width % 2:
        raise ImageConversionError(f"{encoding} needs an even width, got {width}")
    row_bytes = width * pixel_bytes
    if step < row_bytes:
        raise ImageConversionError(f"step {step} is shorter than a row ({width} x {pixel_bytes} bytes)")
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size < step * (height - 1) + row_bytes:
        raise ImageConversionError(
            f"data holds {buffer.size} bytes, {step * height} expected ({height} rows of step {step})"
        )
    rows = np.lib.stride_tricks.as_strided(buffer, shape=(height, row_bytes), strides=(step, 1))
    pixels = np.ascontiguousarray(rows).view(dtype)
    if dtype == np.uint16:
        if is_bigendian != (sys.byteorder == "big"):
            pixels = pixels.byteswap()
        # 16-bit cameras often fill 10-12 bits only: stretch by the frame's maximum instead of dropping 8 bits.
        pixels = (pixels.astype(np.float32) * (255.0 / max(int(pixels.max()), 1))).astype(np.uint8)
    pixels = pixels.reshape(height, width, channels)
    if key == "bgr8":
        return pixels.copy()
    return cv2.cvtColor(pixels, TO_BGR[key])
