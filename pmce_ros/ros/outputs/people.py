"""/people (people_msgs/People) for social navigation, e.g. nav2_social_costmap_plugin: each estimated person's
position (the hips' midpoint, in the image's optical frame), velocity and reliability (the detection score),
named by the REP-155 body id, with the track id as a tag.

Velocity comes from the track's successive positions at the described frames' stamps, smoothed exponentially
with a time constant (a per-frame difference of estimated positions is too noisy for a planner). A person's
first estimate has velocity zero, and so has every estimate while the track's body is converging (its first
second or so): the body's size, and with it the distance it is placed at, is still settling, and a still person
would seem to walk (0.5 m/s towards the camera for bus.jpg shown again and again).
"""

import math
from dataclasses import dataclass

import numpy as np
from geometry_msgs.msg import Point
from people_msgs.msg import People, Person
from rclpy.qos import qos_profile_sensor_data
from std_msgs.msg import Header

from pmce_ros.ros.outputs.base import NodeOutput, OutputContext, OutputFrame

PEOPLE_TOPIC = "/people"
VELOCITY_TIME_CONSTANT_S = 0.5


@dataclass
class _Motion:
    stamp: float
    position: np.ndarray
    velocity: np.ndarray


class VelocityFilter:
    """Smoothed velocity per body id from positions stamped in seconds."""

    def __init__(self, time_constant_s: float = VELOCITY_TIME_CONSTANT_S):
        self.time_constant_s = time_constant_s
        self.motions: dict[str, _Motion] = {}

    def update(self, body_id: str, stamp: float, position: np.ndarray, restart: bool = False) -> np.ndarray:
        """The body's smoothed velocity (m/s) after its position at `stamp`; zero, starting again, with `restart`."""
        last = self.motions.get(body_id)
        if restart or last is None or stamp <= last.stamp:  # or a repeated or older stamp: start again
            motion = _Motion(stamp, position, np.zeros(3))
        else:
            elapsed = stamp - last.stamp
            weight = 1.0 - math.exp(-elapsed / self.time_constant_s)
            measured = (position - last.position) / elapsed
            motion = _Motion(stamp, position, last.velocity + weight * (measured - last.velocity))
        self.motions[body_id] = motion
        return motion.velocity

    def keep_only(self, body_ids: set[str]) -> None:
        """Forgets the bodies whose tracks ended."""
        self.motions = {k: v for k, v in self.motions.items() if k in body_ids}


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
        self.velocities = VelocityFilter()

    def publish(self, frame: OutputFrame) -> None:
        stamp = frame.header.stamp.sec + frame.header.stamp.nanosec * 1e-9
        people = []
        for body in frame.bodies:
            velocity = self.velocities.update(body.body_id, stamp, body.position, restart=not body.body_settled)
            people.append(person_msg(body.body_id, body.track_id, body.position, velocity, body.score))
        self.velocities.keep_only(frame.alive_body_ids)
        self.people.publish(people_msg(frame.header, people))

    def reset(self) -> None:
        self.velocities.keep_only(set())
