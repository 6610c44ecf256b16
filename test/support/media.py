"""Real photos and video for the tests (installed by scripts/setup: ultralytics' assets, Debian's opencv-doc)."""

from pathlib import Path

import cv2
import numpy as np

from pmce_ros.assets import DEFAULT_VIDEO, ultralytics_sample

BUS = ultralytics_sample("bus.jpg")
ZIDANE = ultralytics_sample("zidane.jpg")
VTEST = DEFAULT_VIDEO
VTEST_FPS = 10.0
VTEST_IMAGE_SIZE = 960  # its people are small: yolo11n-pose finds none at 640


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, f"cannot read {path} (run scripts/setup)"
    return image


def video_frames(path: Path = VTEST, count: int = 100) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        assert ok, f"{path} ended after {len(frames)} frames (run scripts/setup)"
        frames.append(frame)
    capture.release()
    return frames
