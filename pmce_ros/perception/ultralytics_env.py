"""Keeps ultralytics offline: call `configure_offline()` before the first `import ultralytics`.

ultralytics otherwise writes settings into the home directory, checks for updates, downloads fonts and tries to
auto-install missing packages; every such attempt fails (or hangs) without internet.
"""

import os

import torch

from pmce_ros.assets import ultralytics_config_dir


def configure_offline() -> None:
    # Importing ultralytics sets OMP_NUM_THREADS=1 where it is unset (for its training loaders); every process
    # started after that, and torch when loaded after it, would run ResNet-50 and PMCE on one thread.
    os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))
    os.environ.setdefault("YOLO_CONFIG_DIR", str(ultralytics_config_dir()))
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_VERBOSE", "False")
