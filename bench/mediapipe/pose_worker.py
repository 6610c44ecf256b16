"""Runs in bench/vs_mediapipe.py's MediaPipe venv: MediaPipe Pose (the legacy solution, model complexity 1, the
model its wheel carries) over a video; prints one JSON line: frames, seconds spent in `process` (decode
excluded), frames with a pose."""

import json
import sys
import time

import cv2
import mediapipe as mp


def main(video: str, frames: int) -> None:
    capture = cv2.VideoCapture(video)
    pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
    ok, image = capture.read()
    pose.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))  # graph start-up and first detection: not timed
    seconds, found, count, per_frame = 0.0, 0, 0, []
    while count < frames:
        ok, image = capture.read()
        if not ok:
            break
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        started = time.perf_counter()
        result = pose.process(rgb)
        took = time.perf_counter() - started
        seconds += took
        per_frame.append(1000 * took)
        found += result.pose_landmarks is not None
        count += 1
    p50 = sorted(per_frame)[len(per_frame) // 2]
    print(json.dumps({"frames": count, "seconds": seconds, "with_pose": found, "p50_ms": p50}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
