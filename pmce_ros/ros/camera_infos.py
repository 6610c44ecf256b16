"""The latest sensor_msgs/CameraInfo per camera frame, and the intrinsics an image is placed with."""

from pmce_ros.perception.placement import Intrinsics
from pmce_ros.ros.messages import intrinsics_from_camera_info


class CameraInfos:
    def __init__(self):
        self.by_frame: dict[str, Intrinsics] = {}

    def put(self, msg) -> None:
        self.by_frame[msg.header.frame_id] = intrinsics_from_camera_info(msg)

    def clear(self) -> None:
        self.by_frame.clear()

    def __len__(self) -> int:
        return len(self.by_frame)

    def intrinsics_for(self, frame_id: str) -> tuple[Intrinsics | None, tuple[str, str] | None]:
        """The camera's intrinsics (None: the pipeline falls back to its own), and the problem to count and log
        when there are none usable: (kind, message)."""
        intrinsics = self.by_frame.get(frame_id)
        if intrinsics is None:
            return None, (
                "no camera_info (fallback intrinsics)",
                f"no camera_info for frame '{frame_id}': using fallback intrinsics",
            )
        if not intrinsics.valid():
            return intrinsics, (
                "invalid camera_info (fallback intrinsics)",
                f"invalid camera_info K for '{frame_id}': using fallback intrinsics",
            )
        return intrinsics, None
