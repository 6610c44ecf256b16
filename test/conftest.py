"""Every ROS 2 process a test starts inherits a loopback-only DDS setup on a domain id of its own."""
import os
import random

import pytest

from pmce_ros.ros.loopback import loopback_environment


@pytest.fixture(scope="session")
def ros_env() -> dict[str, str]:
    """Environment for child ROS processes: loopback-only Fast DDS, a domain id not shared with parallel runs."""
    domain_id = random.Random(os.getpid()).randint(1, 101)
    return {**os.environ, **loopback_environment(domain_id), "PYTHONUNBUFFERED": "1"}
