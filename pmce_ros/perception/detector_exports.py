"""The detector's OpenVINO exports, made by scripts/setup beside the pose weights: fp32 (ultralytics' exporter)
and int8 (that export quantised by NNCF on real frames).

int8 suits CPUs with VNNI (int8 dot products in one instruction): on the 2-core EPYC development VM
yolo11n-pose took 34 against 50 ms at 640 px on the 1080p bench video, 66 against 102 ms at 960 px on vtest
(bench/speed_accuracy.py prints these beside its keypoint agreement and quality figures). Not on AMX CPUs:
there ultralytics runs int8 networks at fixed square sizes (OpenVINO crashes on their dynamic shapes) and
compiles again whenever the size changes, as regions do with roi tracking; on a 2-core Xeon VM with AMX the int8
pipeline ran 21.9 against fp32's 24.1 frames/s on the whole image, 22.2 against 36.5 with roi tracking
(bench/vs_mediapipe.py).

Calibration sees the offline photos (ultralytics' bus.jpg and zidane.jpg) and every 25th frame of vtest.avi,
each letterboxed at 640 and 960 px as the predictor feeds them. Those frames are also in the agreement
checks; held-out footage is not.
"""

import re
from pathlib import Path

import cv2
import numpy as np

from pmce_ros.assets import DEFAULT_VIDEO, ultralytics_sample
from pmce_ros.perception.ultralytics_env import configure_offline

CALIBRATION_SIZES = (640, 960)
CALIBRATION_VIDEO_STEP = 25
STRIDE = 32  # the network's largest stride: input sides are padded to multiples of it
LETTERBOX_GREY = 114


def openvino_export_dir(weights: Path) -> Path:
    """Where ultralytics writes the OpenVINO export of `weights` (and where it is looked for)."""
    return weights.with_name(f"{weights.stem}_openvino_model")


def int8_export_dir(weights: Path) -> Path:
    """Where the int8 export of `weights` lives (ultralytics recognises the suffix as an OpenVINO model)."""
    return weights.with_name(f"{weights.stem}_int8_openvino_model")


def export_openvino(weights: Path) -> Path:
    """Exports ultralytics pose weights for OpenVINO beside them, with dynamic input shapes (any image size)."""
    configure_offline()
    from ultralytics import YOLO

    YOLO(str(weights), task="pose").export(format="openvino", dynamic=True, half=False, verbose=False)
    return openvino_export_dir(weights)


def calibration_images() -> list[np.ndarray]:
    """The offline photos and every CALIBRATION_VIDEO_STEP-th frame of vtest.avi, BGR."""
    images = [cv2.imread(str(ultralytics_sample(name))) for name in ("bus.jpg", "zidane.jpg")]
    capture = cv2.VideoCapture(str(DEFAULT_VIDEO))
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % CALIBRATION_VIDEO_STEP == 0:
            images.append(frame)
        index += 1
    if len(images) < 3 or any(image is None for image in images):
        raise FileNotFoundError(f"calibration needs bus.jpg, zidane.jpg and {DEFAULT_VIDEO} (scripts/setup)")
    return images


def letterboxed(image_bgr: np.ndarray, size: int) -> np.ndarray:
    """(1, 3, H, W) float RGB in [0, 1]: the long side scaled to `size`, both sides padded to the stride with
    grey, as the predictor prepares a frame for a dynamic-shape export."""
    height, width = image_bgr.shape[:2]
    scale = size / max(height, width)
    new_h, new_w = round(height * scale), round(width * scale)
    padded_h, padded_w = -(-new_h // STRIDE) * STRIDE, -(-new_w // STRIDE) * STRIDE
    canvas = np.full((padded_h, padded_w, 3), LETTERBOX_GREY, np.uint8)
    top, left = (padded_h - new_h) // 2, (padded_w - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = cv2.resize(image_bgr, (new_w, new_h))
    return (canvas[..., ::-1].transpose(2, 0, 1)[None] / 255.0).astype(np.float32)


def head_index(network) -> int:
    """The index of the pose head in an ultralytics export (the last module: model.23 in yolo11n-pose)."""
    names = " ".join(op.get_friendly_name() for op in network.get_ordered_ops())
    return max(int(index) for index in re.findall(r"__module\.model\.(\d+)", names))


def export_openvino_int8(weights: Path) -> Path:
    """Quantises the fp32 OpenVINO export of `weights` to int8 and writes it to int8_export_dir(weights) with the
    export's metadata. NNCF's post-training quantisation with bias correction, asymmetric activations (SiLU
    outputs are mostly positive) and the pose head left in fp32: with the head in int8 keypoints moved by 1.1% of
    the box height on the bench video (OKS 0.93 against fp32), with it in fp32 by 0.3% (OKS 0.994), for 28
    against 23 ms a frame (fp32: 40)."""
    import nncf
    import openvino

    source = openvino_export_dir(weights)
    if not source.is_dir():
        source = export_openvino(weights)
    network = openvino.Core().read_model(next(source.glob("*.xml")))
    samples = [letterboxed(image, size) for image in calibration_images() for size in CALIBRATION_SIZES]
    quantised = nncf.quantize(
        network,
        nncf.Dataset(samples),
        subset_size=len(samples),
        preset=nncf.QuantizationPreset.MIXED,
        ignored_scope=nncf.IgnoredScope(patterns=[rf"__module\.model\.{head_index(network)}[./].*"]),
    )
    target = int8_export_dir(weights)
    target.mkdir(exist_ok=True)
    openvino.save_model(quantised, target / f"{weights.stem}.xml")
    (target / "metadata.yaml").write_text((source / "metadata.yaml").read_text())
    return target
