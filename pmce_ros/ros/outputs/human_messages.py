"""The package's own messages: `humans` (HumanArray: every tracked person of the frame, estimated or not, with
why not), and one `skeletons` (Skeleton3D) and `meshes` (HumanMesh) message per estimated person."""

from rclpy.qos import QoSProfile, ReliabilityPolicy

from pmce_ros.msg import HumanArray, HumanMesh, Skeleton3D
from pmce_ros.ros.messages import estimate_messages, frame_to_human_array
from pmce_ros.ros.outputs.base import RELIABLE, NodeOutput, OutputContext, OutputFrame


class HumanMessages(NodeOutput):
    topics = {"humans": HumanArray, "skeletons": Skeleton3D, "meshes": HumanMesh}

    def __init__(self, context: OutputContext):
        super().__init__(context)
        # The history holds two frames of the most people tracked, so a burst is never overwritten before a slow
        # reliable subscriber has it.
        per_person = QoSProfile(depth=2 * context.values["max_tracks"], reliability=ReliabilityPolicy.RELIABLE)
        self.humans = self.publisher(HumanArray, "humans", RELIABLE)
        self.skeletons = self.publisher(Skeleton3D, "skeletons", per_person)
        self.meshes = self.publisher(HumanMesh, "meshes", per_person)

    def publish(self, frame: OutputFrame) -> None:
        pipeline = self.context.pipeline
        per_person = {p.track_id: estimate_messages(frame.header, p) for p in frame.result.people}
        for skeleton, mesh in per_person.values():
            self.skeletons.publish(skeleton)
            self.meshes.publish(mesh)
        self.humans.publish(
            frame_to_human_array(
                frame.header,
                frame.result,
                pipeline.weights_description,
                pipeline.stand_in,
                per_person,
                pipeline.config.latency_mode,
                frame.world_frame,
                frame.world_roots,
                frame.forecasts,
                frame.forecast_step_s,
            )
        )
