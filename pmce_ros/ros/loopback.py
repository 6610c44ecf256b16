"""Keeps DDS on this machine: localhost-only discovery and a Fast DDS profile with only the loopback transport.

Every test, benchmark and demo that starts rclpy runs under `loopback_environment()`. Inside a private network
namespace (`unshare -n`, as scripts/test does) this is belt and braces; outside one it is what keeps discovery
multicast off the real interfaces. Robots do not use it: their DDS setup is the integrator's.
"""

import os
import tempfile
from pathlib import Path

# SHM and the default UDP transport are switched off: UDPv4 restricted to 127.0.0.1 is the only way out. Its 4 MB
# socket buffers let large best-effort images through (config/fastdds_large_images.xml is the robots' profile).
FASTDDS_LOOPBACK_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<profiles xmlns="http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles">
  <transport_descriptors>
    <transport_descriptor>
      <transport_id>loopback_udp</transport_id>
      <type>UDPv4</type>
      <sendBufferSize>4194304</sendBufferSize>
      <receiveBufferSize>4194304</receiveBufferSize>
      <interfaceWhiteList>
        <address>127.0.0.1</address>
      </interfaceWhiteList>
    </transport_descriptor>
  </transport_descriptors>
  <participant profile_name="pmce_loopback_only" is_default_profile="true">
    <rtps>
      <userTransports>
        <transport_id>loopback_udp</transport_id>
      </userTransports>
      <useBuiltinTransports>false</useBuiltinTransports>
    </rtps>
  </participant>
</profiles>
"""


def _profile_file() -> Path:
    path = Path(tempfile.gettempdir()) / "pmce_ros_fastdds_loopback.xml"
    if not path.is_file() or path.read_text() != FASTDDS_LOOPBACK_PROFILE:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(FASTDDS_LOOPBACK_PROFILE)
        tmp.replace(path)
    return path


def loopback_environment(domain_id: int) -> dict[str, str]:
    """Environment variables that confine a ROS 2 process to loopback on `domain_id` (0-101)."""
    if not 0 <= domain_id <= 101:
        raise ValueError(f"ROS_DOMAIN_ID must be in 0..101, got {domain_id}")
    profile = str(_profile_file())
    return {
        "ROS_DOMAIN_ID": str(domain_id),
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
        "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp",
        "FASTRTPS_DEFAULT_PROFILES_FILE": profile,
        "FASTDDS_DEFAULT_PROFILES_FILE": profile,
        "RMW_FASTRTPS_USE_QOS_FROM_XML": "0",
    }


def confine_to_loopback(domain_id: int) -> None:
    """Applies `loopback_environment` to this process; call before rclpy.init()."""
    os.environ.update(loopback_environment(domain_id))
