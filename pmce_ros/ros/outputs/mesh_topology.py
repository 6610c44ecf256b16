"""`mesh_topology` (MeshTopology, latched): the body's triangles, once per activation, so that per-person meshes
carry vertices only."""

from std_msgs.msg import Header

from pmce_ros.msg import MeshTopology
from pmce_ros.ros.messages import topology_to_msg
from pmce_ros.ros.outputs.base import LATCHED, NodeOutput, OutputContext, OutputFrame


class MeshTopologyOutput(NodeOutput):
    topics = {"mesh_topology": MeshTopology}

    def __init__(self, context: OutputContext):
        super().__init__(context)
        self.topology = self.publisher(MeshTopology, "mesh_topology", LATCHED)

    def activate(self) -> None:
        body = self.context.pipeline.body
        header = Header(stamp=self.context.node.get_clock().now().to_msg())
        self.topology.publish(topology_to_msg(header, body.faces, body.num_vertices, body.name))

    def publish(self, frame: OutputFrame) -> None:
        """Nothing per frame: the topology is latched at activation."""
