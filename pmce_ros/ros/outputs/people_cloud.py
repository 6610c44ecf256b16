"""`people_cloud`: every estimated person's mesh vertices as one sensor_msgs/PointCloud2, so that costmap
obstacle layers and RViz's PointCloud2 display take people with no custom plugin.

Layout (little endian, 16 bytes a point, unorganised: height 1): x, y, z float32 (metres, the image's optical
frame) and track_id uint32. Built with numpy (sensor_msgs_py has no wheel); a test decodes it independently.
"""

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import Header

from pmce_ros.ros.outputs.base import RELIABLE, NodeOutput, OutputContext, OutputFrame

POINT = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("track_id", "<u4")])
FIELDS = [
    PointField(name=name, offset=POINT.fields[name][1], datatype=datatype, count=1)
    for name, datatype in (
        ("x", PointField.FLOAT32),
        ("y", PointField.FLOAT32),
        ("z", PointField.FLOAT32),
        ("track_id", PointField.UINT32),
    )
]


def people_cloud(header: Header, people: list[tuple[int, np.ndarray]]) -> PointCloud2:
    """(track id, (V, 3) vertices) per person -> one cloud; empty when nobody is estimated (consumers clear)."""
    count = sum(len(vertices) for _, vertices in people)
    points = np.empty(count, POINT)
    start = 0
    for track_id, vertices in people:
        part = points[start : start + len(vertices)]
        part["x"], part["y"], part["z"] = vertices[:, 0], vertices[:, 1], vertices[:, 2]
        part["track_id"] = track_id
        start += len(vertices)
    return PointCloud2(
        header=header,
        height=1,
        width=count,
        fields=FIELDS,
        is_bigendian=False,
        point_step=POINT.itemsize,
        row_step=POINT.itemsize * count,
        data=points.tobytes(),
        is_dense=True,
    )


class PeopleCloud(NodeOutput):
    topics = {"people_cloud": PointCloud2}

    def __init__(self, context: OutputContext):
        super().__init__(context)
        self.cloud = self.publisher(PointCloud2, "people_cloud", RELIABLE)

    def publish(self, frame: OutputFrame) -> None:
        self.cloud.publish(people_cloud(frame.header, [(p.track_id, p.mesh) for p in frame.result.people]))
