"""The PMCE network in plain torch: no ROS, no image I/O."""

from pmce_ros.model.checkpoint import CheckpointMismatchError, load_checkpoint, load_pmce_weights
from pmce_ros.model.config import PMCEConfig
from pmce_ros.model.pmce import PMCE

__all__ = ["PMCE", "PMCEConfig", "CheckpointMismatchError", "load_checkpoint", "load_pmce_weights"]
