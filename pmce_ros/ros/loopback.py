"""Keeps DDS on this machine: localhost-only discovery and a Fast DDS profile with only the loopback transport.

Every test, benchmark and demo that starts rclpy runs under `loopback_environment()`. Inside a private network
namespace (`unshare -n`, as scripts/test does) this is belt and braces; outside one it is what keeps discovery
multicast off the real interfaces. Robots do not use it: their DDS setup is the integrator's.
`loopback_environment(..., shared_memory=True)` adds Fast DDS's shared-memory transport, which the robots' profile
(config/fastdds_large_images.xml) puts first for nodes on one host; it is offered only inside a private network
namespace, so that a benchmark can measure what a robot's camera driver and pmce_node would use.
"""

import os
import socket
import tempfile
from pathlib import Path

PROFILE_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
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
    </transport_descriptor>{descriptors}
  </transport_descriptors>
  <participant profile_name="pmce_loopback_only" is_default_profile="true">
    <rtps>
      <userTransports>{transports}
        <transport_id>loopback_udp</transport_id>
      </userTransports>
      <useBuiltinTransports>false</useBuiltinTransports>
    </rtps>
  </participant>
</profiles>
"""
# SHM and the default UDP transport are switched off: UDPv4 restricted to 127.0.0.1 is the only way out. Its 4 MB
# socket buffers let large best-effort images through (config/fastdds_large_images.xml is the robots' profile).
FASTDDS_LOOPBACK_PROFILE = PROFILE_TEMPLATE.format(descriptors="", transports="")
# The robots' profile's segment, tried before UDP between participants of one host.
FASTDDS_SHARED_MEMORY_PROFILE = PROFILE_TEMPLATE.format(
    descriptors="""
    <transport_descriptor>
      <transport_id>shared_memory</transport_id>
      <type>SHM</type>
      <segment_size>33554432</segment_size>
    </transport_descriptor>""",
    transports="""
        <transport_id>shared_memory</transport_id>""",
)


def _profile_file(name: str, text: str) -> Path:
    path = Path(tempfile.gettempdir()) / name
    if not path.is_file() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path


def network_interfaces() -> list[str]:
    """This process's network namespace's interfaces (/sys/class/net would show the namespace /sys was mounted in)."""
    return sorted(name for _, name in socket.if_nameindex())


def loopback_environment(domain_id: int, shared_memory: bool = False) -> dict[str, str]:
    """Environment variables that confine a ROS 2 process to loopback on `domain_id` (0-101); with
    `shared_memory`, Fast DDS may also use shared memory, and this process must be in a network namespace that
    holds only `lo` (`unshare -n`), or ValueError."""
    if not 0 <= domain_id <= 101:
        raise ValueError(f"ROS_DOMAIN_ID must be in 0..101, got {domain_id}")
    if shared_memory and network_interfaces() != ["lo"]:
        raise ValueError(
            "shared-memory DDS is only confined inside a private network namespace holding only lo "
            f"(run under `unshare -n` with lo up); this one has {', '.join(network_interfaces())}"
        )
    name = "pmce_ros_fastdds_loopback" + ("_shm" if shared_memory else "") + ".xml"
    profile = str(_profile_file(name, FASTDDS_SHARED_MEMORY_PROFILE if shared_memory else FASTDDS_LOOPBACK_PROFILE))
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
