"""Keeps ultralytics offline: call `configure_offline()` before the first `import ultralytics`.

ultralytics otherwise writes settings into the home directory, checks for updates, downloads fonts and tries to
auto-install missing packages; every such attempt fails (or hangs) without internet.
"""
import os

from pmce_ros.assets import ultralytics_config_dir


def configure_offline() -> None:
    os.environ.setdefault("YOLO_CONFIG_DIR", str(ultralytics_config_dir()))
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_VERBOSE", "False")
