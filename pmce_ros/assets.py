"""Where installed data files live: weights fetched by scripts/setup and ultralytics' offline settings.

Default: <prefix>/share/pmce_ros (the venv in development, the install space on a robot); PMCE_SHARE_DIR
overrides it. Every path returned is absolute, so nothing is ever looked up by bare name (ultralytics would try to
download a bare weights name).
"""

import importlib.util
import os
import sys
from pathlib import Path

# Debian's opencv-doc (installed by scripts/setup): pedestrians on a plaza, 768x576, 10 fps, 795 frames.
DEFAULT_VIDEO = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


# Shipped in the package, NOT the authors' weights: the pose-only PMCE trained here (config/training/pose_only.yaml,
# its causal variant, and since 2026-12-07 on motion capture), the default when no PMCE weights are given; and the
# earlier reduced full PMCE with an image stream (`pmce-synthetic-benchmark`).
DATA_DIR = Path(__file__).resolve().parent / "data"
POSE_ONLY_WEIGHTS = DATA_DIR / "pmce_pose_only.pt"
POSE_ONLY_CAUSAL_WEIGHTS = DATA_DIR / "pmce_pose_only_causal.pt"
DEMO_PMCE_WEIGHTS = DATA_DIR / "pmce_synthetic_demo.pt"
# pmce-train-forecast on the real-capture set: where each person will be over the next second
MOTION_FORECAST_WEIGHTS = DATA_DIR / "motion_forecast.pt"


# config/training/pose_only_anny.yaml then pose_only_anny_motion.yaml; its causal variant pose_only_anny_causal.yaml
ANNY_POSE_ONLY_WEIGHTS = DATA_DIR / "pmce_pose_only_anny.pt"
ANNY_POSE_ONLY_CAUSAL_WEIGHTS = DATA_DIR / "pmce_pose_only_anny_causal.pt"
# The package's weights per generated body (pmce_ros.body.body_model.GENERATED_BODIES): centered and causal.
PACKAGE_WEIGHTS = {
    "stand_in": {"centered": POSE_ONLY_WEIGHTS, "causal": POSE_ONLY_CAUSAL_WEIGHTS},
    "anny": {"centered": ANNY_POSE_ONLY_WEIGHTS, "causal": ANNY_POSE_ONLY_CAUSAL_WEIGHTS},
}


def default_pmce_weights(body: str, causal: bool) -> Path:
    return PACKAGE_WEIGHTS[body]["causal" if causal else "centered"]


def share_dir() -> Path:
    return Path(os.environ.get("PMCE_SHARE_DIR", Path(sys.prefix) / "share" / "pmce_ros")).resolve()


def asset_path(name: str) -> Path:
    return share_dir() / "assets" / name


def default_pose_weights() -> Path:
    return asset_path("yolo11n-pose.pt")


def large_images_profile() -> Path:
    """config/fastdds_large_images.xml in the package's share (PMCE_SHARE_DIR or the venv's), else in the checkout.
    On a colcon install, whose share is not under the Python prefix, pmce_ros.ros finds it by the ament index."""
    installed = share_dir() / "config" / "fastdds_large_images.xml"
    return installed if installed.is_file() else Path(__file__).resolve().parents[1] / "config" / installed.name


def ultralytics_config_dir() -> Path:
    return share_dir() / "ultralytics"


def ultralytics_sample(name: str) -> Path:
    """One of the photos ultralytics ships (bus.jpg, zidane.jpg), found without importing ultralytics: the import
    has side effects (settings, the thread count of torch loaded after it) that must wait for configure_offline."""
    return Path(importlib.util.find_spec("ultralytics").origin).parent / "assets" / name
