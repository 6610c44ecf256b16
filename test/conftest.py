"""Every ROS 2 process a test starts inherits a loopback-only DDS setup on a domain id of its own:
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST plus a Fast DDS profile whose only transport is UDP on 127.0.0.1
(pmce_ros/ros/loopback.py). scripts/test also runs the whole suite inside `unshare -n`."""

import os
import random

import pytest

from pmce_ros.ros.loopback import loopback_environment


@pytest.fixture(scope="session")
def ros_env() -> dict[str, str]:
    """Environment for child ROS processes: loopback-only Fast DDS, a domain id not shared with parallel runs."""
    domain_id = random.Random(os.getpid()).randint(1, 101)
    return {**os.environ, **loopback_environment(domain_id), "PYTHONUNBUFFERED": "1"}
