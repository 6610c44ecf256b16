"""Checks that the environment holds everything pmce_ros needs and prints the versions in use."""

import importlib
import sys

from pmce_ros.assets import default_pose_weights
from pmce_ros.perception.pose_tracker import PoseTrackerConfig, choose_backend
from pmce_ros.perception.ultralytics_env import configure_offline

MODULES = ["torch", "torchvision", "numpy", "scipy", "smplx", "cv2", "ultralytics", "rosbags", "rclpy", "openvino"]


def main() -> int:
    configure_offline()
    missing = []
    for name in MODULES:
        try:
            module = importlib.import_module(name)
            print(f"  {name:12s} {getattr(module, '__version__', 'ok')}")
        except ImportError as error:
            missing.append(f"{name}: {error}")
    try:
        from pmce_ros.msg import HumanArray, HumanMesh, MeshTopology, Skeleton3D  # noqa: F401

        print("  pmce_ros.msg HumanArray HumanMesh MeshTopology Skeleton3D")
    except ImportError as error:
        missing.append(f"pmce_ros.msg: {error} (run scripts/setup to build the messages)")
    weights = default_pose_weights()
    if weights.is_file():
        backend, fallback = choose_backend(PoseTrackerConfig(weights=weights))
        print(f"  pose weights {weights}, run on the CPU by {backend}" + (f" ({fallback})" if fallback else ""))
    else:
        missing.append(f"pose weights: {weights} not found (run scripts/setup)")
    for line in missing:
        print(f"MISSING {line}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
