"""/people (people_msgs/People) for social navigation, e.g. nav2_social_costmap_plugin: each estimated person's
position and velocity (the root's, smoothed over the track: pmce_ros.ros.track_motion; in the world frame when
parameter world_frame is set and the camera's transform to it is known, else in the image's optical frame) and
reliability (the detection score), named by the REP-155 body id, with the track id as a tag.
"""

import numpy as np
from geometry_msgs.msg import Point
from people_msgs.msg import People, Person
from rclpy.qos import qos_profile_sensor_data
from std_msgs.msg import Header

from pmce_ros.ros.outputs.base import NodeOutput, OutputContext, OutputFrame

PEOPLE_TOPIC = "/people"


def _point(vector: np.ndarray) -> Point:
    return Point(x=float(vector[0]), y=float(vector[1]), z=float(vector[2]))


def person_msg(body_id: str, track_id: int, position: np.ndarray, velocity: np.ndarray, score: float) -> Person:
    return Person(
        name=body_id,
        position=_point(position),
        velocity=_point(velocity),
        reliability=float(score),
        tagnames=["track_id"],
        tags=[str(track_id)],
    )


def people_msg(header: Header, people: list[Person]) -> People:
    return People(header=header, people=people)


class PeopleOutput(NodeOutput):
    topics = {PEOPLE_TOPIC: People}

    def __init__(self, context: OutputContext):
        super().__init__(context)
        self.people = self.publisher(People, PEOPLE_TOPIC, qos_profile_sensor_data)

    def publish(self, frame: OutputFrame) -> None:
        people = [person_msg(b.body_id, b.track_id, b.position, b.velocity, b.score) for b in frame.bodies]
        self.people.publish(people_msg(frame.body_header, people))
