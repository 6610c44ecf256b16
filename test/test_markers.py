"""RViz markers written as CDR bytes: rclpy reads them back as the markers they describe."""

import numpy as np
from geometry_msgs.msg import Point
from rclpy.serialization import deserialize_message
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from pmce_ros.body.joint_sets import H36M17
from pmce_ros.output.render import person_color
from pmce_ros.ros.outputs.markers import (
    DELETE,
    LINE_LIST,
    LINE_STRIP,
    TEXT_VIEW_FACING,
    TRIANGLE_LIST,
    MarkerSpec,
    delete_person_markers,
    forecast_marker,
    person_markers,
    serialize_marker_array,
)


def as_message(spec: MarkerSpec) -> Marker:
    marker = Marker(ns=spec.ns, id=spec.id, type=spec.type, action=spec.action, text=spec.text)
    marker.header.frame_id = spec.frame_id
    marker.header.stamp.sec, marker.header.stamp.nanosec = spec.stamp
    marker.pose.position = Point(x=float(spec.position[0]), y=float(spec.position[1]), z=float(spec.position[2]))
    marker.pose.orientation.w = 1.0
    marker.scale.x, marker.scale.y, marker.scale.z = map(float, spec.scale)
    marker.color = ColorRGBA(**{k: float(np.float32(v)) for k, v in zip("rgba", spec.color)})
    marker.points = [Point(x=x, y=y, z=z) for x, y, z in np.asarray(spec.points, float).tolist()]
    return marker


def test_serialized_markers_read_back_as_the_same_messages():
    rng = np.random.default_rng(0)
    # Odd string lengths and point counts exercise every alignment case.
    specs = [
        MarkerSpec(
            ns="a",
            id=3,
            type=TRIANGLE_LIST,
            frame_id="cam",
            stamp=(5, 7),
            points=rng.normal(size=(6, 3)),
            color=np.array([0.1, 0.2, 0.3, 0.4]),
        ),
        MarkerSpec(
            ns="person_12",
            id=2,
            type=TEXT_VIEW_FACING,
            text="id 12 (stand-in) é",
            position=(1, 2, 3),
            scale=(0, 0, 0.1),
            frame_id="camera_optical_frame",
        ),
        MarkerSpec(ns="xyz", id=1, action=DELETE),
        MarkerSpec(ns="pq", id=0, type=LINE_LIST, points=rng.normal(size=(1, 3)), stamp=(1, 999_999_999)),
    ]
    received = deserialize_message(serialize_marker_array(specs), MarkerArray)
    assert received == MarkerArray(markers=[as_message(s) for s in specs])
    assert deserialize_message(serialize_marker_array([]), MarkerArray) == MarkerArray()


def test_person_markers_are_a_mesh_a_skeleton_and_a_label():
    rng = np.random.default_rng(1)
    vertices, faces = rng.normal(size=(6890, 3)), rng.integers(0, 6890, size=(13776, 3))
    joints = rng.normal(size=(17, 3))
    specs = person_markers(4, (10, 20), "cam", vertices, faces, joints, H36M17.edges, "id 4")
    received = deserialize_message(serialize_marker_array(specs), MarkerArray).markers
    mesh, skeleton, label = received
    assert {m.ns for m in received} == {"person_4"} and [m.id for m in received] == [0, 1, 2]
    assert mesh.type == TRIANGLE_LIST and len(mesh.points) == 3 * 13776
    first = faces[0]
    np.testing.assert_allclose([[p.x, p.y, p.z] for p in mesh.points[:3]], vertices[first])
    assert skeleton.type == LINE_LIST and len(skeleton.points) == 2 * len(H36M17.edges)
    assert label.type == TEXT_VIEW_FACING and label.text == "id 4"
    np.testing.assert_allclose([mesh.color.r, mesh.color.g, mesh.color.b], person_color(4)[:3], rtol=1e-6)
    assert all(
        m.header.frame_id == "cam" and (m.header.stamp.sec, m.header.stamp.nanosec) == (10, 20) for m in received
    )
    deleted = deserialize_message(serialize_marker_array(delete_person_markers(4, (11, 0), "cam")), MarkerArray)
    assert [(m.ns, m.id, m.action) for m in deleted.markers] == [("person_4", i, DELETE) for i in range(4)]


def test_a_forecast_is_a_line_through_the_roots_ahead_in_the_frame_given():
    roots = np.cumsum(np.full((10, 3), 0.1), axis=0)
    (path,) = deserialize_message(
        serialize_marker_array([forecast_marker(4, (10, 20), "odom", roots)]), MarkerArray
    ).markers
    assert (path.ns, path.id, path.type, path.header.frame_id) == ("person_4", 3, LINE_STRIP, "odom")
    np.testing.assert_allclose([[p.x, p.y, p.z] for p in path.points], roots)


def test_people_get_distinct_colours():
    colours = {tuple(person_color(i)) for i in range(10)}
    assert len(colours) == 10
    assert tuple(person_color(3)) == tuple(person_color(13))
