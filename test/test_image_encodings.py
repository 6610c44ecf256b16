"""sensor_msgs/Image fields -> BGR, one test per encoding, plus every kind of malformed message."""

import cv2
import numpy as np
import pytest

from pmce_ros.perception.image_encodings import ImageConversionError, image_to_bgr

RNG = np.random.default_rng(0)
BGR = RNG.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)


def padded(pixels: np.ndarray, padding: int = 0) -> tuple[int, bytes]:
    """Row step and data of `pixels` with `padding` junk bytes after every row."""
    rows = pixels.reshape(pixels.shape[0], -1).view(np.uint8)
    junk = np.full((rows.shape[0], padding), 0xAB, np.uint8)
    return rows.shape[1] + padding, np.hstack([rows, junk]).tobytes()


@pytest.mark.parametrize("padding", [0, 5])
@pytest.mark.parametrize(
    "encoding, pixels",
    [
        ("bgr8", BGR),
        ("rgb8", BGR[:, :, ::-1]),
        ("bgra8", np.dstack([BGR, np.full((6, 8), 200, np.uint8)])),
        ("rgba8", np.dstack([BGR[:, :, ::-1], np.full((6, 8), 200, np.uint8)])),
    ],
)
def test_colour_encodings(encoding, pixels, padding):
    step, data = padded(np.ascontiguousarray(pixels), padding)
    np.testing.assert_array_equal(image_to_bgr(encoding, 6, 8, step, False, data), BGR)


@pytest.mark.parametrize("padding", [0, 3])
def test_mono8(padding):
    grey = BGR[:, :, 0]
    step, data = padded(np.ascontiguousarray(grey), padding)
    out = image_to_bgr("mono8", 6, 8, step, False, data)
    assert out.shape == (6, 8, 3)
    for channel in range(3):
        np.testing.assert_array_equal(out[:, :, channel], grey)


@pytest.mark.parametrize("bigendian", [False, True])
def test_mono16_is_stretched_to_eight_bits(bigendian):
    grey = np.arange(48, dtype=np.uint16).reshape(6, 8) * 85  # 12-bit data, max 3995
    stored = grey.astype(">u2" if bigendian else "<u2")
    step, data = padded(stored, 2)
    out = image_to_bgr("mono16", 6, 8, step, bigendian, data)
    np.testing.assert_allclose(out[:, :, 1], grey * (255.0 / grey.max()), atol=1.0)
    assert out[-1, -1, 0] == 255


@pytest.mark.parametrize("encoding", ["yuv422", "uyvy", "yuyv", "yuv422_yuy2"])
def test_yuv422_packings(encoding):
    # Build the packed image from a known Y/U/V plane layout and check against OpenCV's own conversion.
    y = RNG.integers(16, 236, size=(6, 8), dtype=np.uint8)
    u = RNG.integers(16, 240, size=(6, 4), dtype=np.uint8)
    v = RNG.integers(16, 240, size=(6, 4), dtype=np.uint8)
    packed = np.empty((6, 16), np.uint8)
    if encoding in ("yuv422", "uyvy"):
        packed[:, 0::4], packed[:, 1::4], packed[:, 2::4], packed[:, 3::4] = u, y[:, 0::2], v, y[:, 1::2]
        expected = cv2.cvtColor(packed.reshape(6, 8, 2), cv2.COLOR_YUV2BGR_UYVY)
    else:
        packed[:, 0::4], packed[:, 1::4], packed[:, 2::4], packed[:, 3::4] = y[:, 0::2], u, y[:, 1::2], v
        expected = cv2.cvtColor(packed.reshape(6, 8, 2), cv2.COLOR_YUV2BGR_YUYV)
    step, data = padded(packed, 4)
    out = image_to_bgr(encoding, 6, 8, step, False, data)
    np.testing.assert_array_equal(out, expected)
    # A flat grey patch (Y=128, U=V=128) is grey in BGR.
    flat = np.full((2, 4), 128, np.uint8).tobytes()
    assert np.all(np.abs(image_to_bgr(encoding, 2, 2, 4, False, flat).astype(int) - 128) <= 2)


@pytest.mark.parametrize(
    "fields, message",
    [
        (("jpeg", 6, 8, 24, False, bytes(144)), "unsupported encoding"),
        (("bgr8", 0, 8, 24, False, b""), "no pixels"),
        (("bgr8", 6, 0, 0, False, b""), "no pixels"),
        (("bgr8", 100_000, 100_000, 300_000, False, bytes(10)), "exceeds"),
        (("bgr8", 6, 8, 20, False, bytes(144)), "shorter than a row"),
        (("bgr8", 6, 8, 24, False, bytes(100)), "data holds 100 bytes"),
        (("uyvy", 6, 7, 14, False, bytes(84)), "even width"),
    ],
)
def test_malformed_images_are_refused_with_a_reason(fields, message):
    with pytest.raises(ImageConversionError, match=message):
        image_to_bgr(*fields)


def test_encoding_names_are_case_insensitive():
    step, data = padded(BGR)
    np.testing.assert_array_equal(image_to_bgr("BGR8", 6, 8, step, False, data), BGR)
