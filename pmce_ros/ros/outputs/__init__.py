"""pmce_node's outputs, one module each behind one interface (base.NodeOutput), listed once in OUTPUTS.

Adding an output: a module here with a NodeOutput subclass, one line below, and (when it can be switched off)
its parameter in pmce_ros.settings. The node builds the list at configure and hands each one every frame.
"""

from pmce_ros.ros.outputs.base import NodeOutput, OutputContext, OutputFrame, output_frame
from pmce_ros.ros.outputs.human_messages import HumanMessages
from pmce_ros.ros.outputs.live_view import LiveViewOutput
from pmce_ros.ros.outputs.markers import Markers
from pmce_ros.ros.outputs.mesh_topology import MeshTopologyOutput
from pmce_ros.ros.outputs.people import PeopleOutput
from pmce_ros.ros.outputs.people_cloud import PeopleCloud
from pmce_ros.ros.outputs.rep155 import Rep155Bodies
from pmce_ros.ros.outputs.tf import BodyTransforms

# (switch parameter or None for always, output class), in publishing order.
OUTPUTS: tuple[tuple[str | None, type[NodeOutput]], ...] = (
    (None, HumanMessages),
    (None, MeshTopologyOutput),
    (None, PeopleCloud),
    ("publish_tf", BodyTransforms),
    ("publish_people", PeopleOutput),
    ("rep155", Rep155Bodies),
    (None, Markers),  # off with markers_rate_hz 0, a live parameter
    ("live_view", LiveViewOutput),
)


def build_outputs(context: OutputContext) -> list[NodeOutput]:
    """The outputs the parameters switch on; each has created its publishers."""
    built = []
    try:
        for switch, kind in OUTPUTS:
            if switch is None or context.values[switch]:
                built.append(kind(context))
    except Exception:
        release_all(built)
        raise
    return built


def release_all(outputs: list[NodeOutput]) -> None:
    for output in outputs:
        output.release()


__all__ = ["OUTPUTS", "NodeOutput", "OutputContext", "OutputFrame", "build_outputs", "output_frame", "release_all"]
