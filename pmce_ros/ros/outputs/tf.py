"""TF on /tf: `body_<id>` at each estimated person's hips and a frame per joint (pmce_ros.ros.body_frames), all
stamped with the described frame."""

from rclpy.qos import QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage

from pmce_ros.ros.outputs.base import NodeOutput, OutputContext, OutputFrame

TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)  # as tf2's broadcasters


class BodyTransforms(NodeOutput):
    topics = {"/tf": TFMessage}

    def __init__(self, context: OutputContext):
        super().__init__(context)
        self.tf = self.publisher(TFMessage, "/tf", TF_QOS)

    def publish(self, frame: OutputFrame) -> None:
        transforms = [t for body in frame.bodies for t in body.transforms]
        if transforms:
            self.tf.publish(TFMessage(transforms=transforms))
