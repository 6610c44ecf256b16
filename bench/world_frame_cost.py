"""What the world frame, the floor and the forecast add to each frame of pmce_node, for N people (default 5).

Times, per frame, side by side in one run:
- baseline: building the outputs' frame in the camera frame with no forecast (pmce_ros.ros.outputs.output_frame,
  as before world_frame existed: TF bodies, smoothed /people motion);
- with everything on: the TF lookup (our buffer over a 3-link tree: odom -> base_link, dynamic at 50 Hz, then two
  static links), the floor scale of every person, and output_frame in the world frame with each track's forecast
  (the shipped model);
and prints the difference per frame and per person. People walk at 1 m/s through 300 frames at 30 frames/s
(each track forecasts from its tenth sample on).

Usage: bench/world_frame_cost.py [--people 5] [--frames 300]
"""

import argparse
import time

import numpy as np
import torch
from builtin_interfaces.msg import Time
from std_msgs.msg import Header

from pmce_ros.assets import MOTION_FORECAST_WEIGHTS
from pmce_ros.body.body_model import load_body
from pmce_ros.body.joint_sets import coco17_to_coco19, regress_joints
from pmce_ros.model.forecast import load_forecaster
from pmce_ros.perception.placement import Intrinsics, TrackScale, floor_scale
from pmce_ros.perception.pose_tracker import Detections
from pmce_ros.pipeline.results import BODY_CONVERGED, FrameResult, PersonEstimate
from pmce_ros.ros.body_frames import BodyIds
from pmce_ros.ros.outputs.base import WorldPlacement, output_frame
from pmce_ros.ros.track_motion import TrackForecasts, TrackMotion
from pmce_ros.ros.transform_buffer import TransformBuffer
from pmce_ros.ros.world_frame import floor_in_camera

OPTICAL_IN_LINK = np.array([0.5, -0.5, 0.5, -0.5])  # (x, y, z, w): optical axes on a REP-103 link


def people_at(frame: int, count: int, body, fps: float) -> list[PersonEstimate]:
    """`count` people in the camera frame, 3-7 m away, walking across at 1 m/s."""
    rest = regress_joints(body.h36m_regressor, body.model["v_template"][None])[0]
    coco = coco17_to_coco19(regress_joints(body.coco_regressor, body.model["v_template"][None])[0])
    flip = np.array([1.0, -1.0, -1.0])  # SMPL's y up, z forward -> optical y down, facing the camera
    people = []
    for n in range(count):
        root = np.array([-2.0 + n + frame / fps, 0.6, 3.0 + n])
        people.append(
            PersonEstimate(
                track_id=n + 1,
                stamp=frame / fps,
                box=np.array([0, 0, 100, 300], float),
                keypoints=np.ones((17, 3)),
                score=0.9,
                image_size=(1280, 720),
                mesh=(body.model["v_template"] - rest[0]) * flip + root,
                joints=(coco - rest[0]) * flip + root,
                joints_h36m=(rest - rest[0]) * flip + root,
                translation=root,
                placement="keypoints",
                body=BODY_CONVERGED,
                padded_frames=0,
                window_span_s=0.5,
            )
        )
    return people


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=5)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    fps = 30.0
    body = load_body(generated="anny", coco_regressor=True)
    buffer = TransformBuffer()
    buffer.add("base_link", "camera_link", 0, [0.1, 0.0, 1.2], [0, 0, 0, 1], static=True)
    buffer.add("camera_link", "camera_optical", 0, [0, 0, 0], OPTICAL_IN_LINK, static=True)
    for tick in range(int(args.frames / fps * 50) + 2):
        buffer.add("odom", "base_link", int(tick * 2e7), [tick * 0.01, 0, 0], [0, 0, 0, 1], static=False)
    forecaster = load_forecaster(MOTION_FORECAST_WEIGHTS)
    frames = [people_at(f, args.people, body, fps) for f in range(args.frames)]
    empty = Detections.empty()
    camera = Intrinsics(900.0, 900.0, 640.0, 360.0)

    def run(everything: bool) -> float:
        motion, forecasts, ids = TrackMotion(), TrackForecasts(forecaster) if everything else None, BodyIds()
        scales = {n: TrackScale() for n in range(1, args.people + 1)}
        started = time.perf_counter()
        for number, people in enumerate(frames):
            stamp_ns = int(number / fps * 1e9)
            header = Header(stamp=Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9), frame_id="camera_optical")
            world = None
            if everything:
                world = WorldPlacement("odom", buffer.lookup("odom", "camera_optical", stamp_ns))
                floor = floor_in_camera(world.camera_to_world, 0.0)
                for person in people:
                    scales[person.track_id].observe(floor_scale(person.joints, person.keypoints, floor, 0.08))
            result = FrameResult(
                stamp=number / fps,
                detections=empty,
                intrinsics_source="given",
                camera=camera,
                described_stamp=number / fps,
                described_tag=header,
                people=people,
            )
            output_frame(header, result, None, ids, [p.track_id for p in people], motion, world, forecasts)
        return 1000 * (time.perf_counter() - started) / len(frames)

    run(True)  # warm-up
    baseline, everything = run(False), run(True)
    extra = everything - baseline
    print(f"{args.people} people, {args.frames} frames, one thread")
    print("| per frame | ms |")
    print("|---|---|")
    print(f"| baseline: camera frame, no forecast | {baseline:.2f} |")
    print(f"| world frame + floor + forecast | {everything:.2f} |")
    print(f"| added | {extra:.2f} ({extra / args.people:.2f} a person) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
