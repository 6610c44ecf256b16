"""The live 3D view (pmce_ros.output.live_view) as an output of the node, on with `live_view: true`: a browser
at http://<live_view_host>:<live_view_port> shows the newest camera image and the people described so far, with
their forecast paths, on the images' stamps; `live_view_recording` also saves it to a file. No ROS topic: the
node serves the viewer itself, so it works where RViz cannot run.

rerun-sdk is imported only when the view is switched on: a robot that never uses it need not install it."""

from pathlib import Path

from pmce_ros.ros.outputs.base import NodeOutput, OutputContext, OutputFrame

RERUN_PIN = "rerun-sdk==0.41.0"


class LiveViewOutput(NodeOutput):
    serves = "a web page on live_view_port, its data stream (gRPC) on the next port"

    def __init__(self, context: OutputContext):
        super().__init__(context)
        try:
            from pmce_ros.output.live_view import LiveView, ViewAddress
        except ImportError as error:
            raise RuntimeError(f"live_view needs {RERUN_PIN} ({error}): pip install {RERUN_PIN}") from error
        values = context.values
        self.address = ViewAddress(values["live_view_host"], values["live_view_port"])
        recording = Path(values["live_view_recording"]).expanduser() if values["live_view_recording"] else None
        pipeline = context.pipeline
        self.view = LiveView(pipeline.body.faces, pipeline.stand_in, self.address, recording, epoch_stamps=True)
        context.node.get_logger().info(f"live view: {self.address.url}")

    def publish(self, frame: OutputFrame) -> None:
        result = frame.result
        # The described frame's intrinsics beside the newest image: one camera in all but a switch of cameras
        self.view.show_camera(result.stamp, frame.image, result.camera)
        self.view.show_people(result.described_stamp, result.people, frame.forecast_roots_in_camera())

    def reset(self) -> None:
        self.view.forget_people()

    def release(self) -> None:
        super().release()
        self.view.stop()
