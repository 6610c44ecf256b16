"""Perception pieces: detector + tracker on real photos, crops, features, ring buffers, placement."""

import logging

import cv2
import numpy as np
import pytest
import torch
import torchvision
from media import BUS, ZIDANE, read_image

from pmce_ros.assets import default_pose_weights
from pmce_ros.body.joint_sets import coco17_to_coco19
from pmce_ros.body.synthetic import make_synthetic_body
from pmce_ros.perception.crops import CROP_SIZE, IMAGENET_MEAN, IMAGENET_STD, crop_people, crop_square
from pmce_ros.perception.detection_region import MARGIN, detection_region, region_image_size
from pmce_ros.perception.detector_exports import openvino_export_dir
from pmce_ros.perception.features import FeatureExtractor, FeatureExtractorConfig
from pmce_ros.perception.placement import NOMINAL_HEIGHT_M, Intrinsics, solve_root_translation, translation_from_box
from pmce_ros.perception.pose_tracker import PoseTracker, PoseTrackerConfig, choose_backend
from pmce_ros.perception.track_buffers import FrameEntry, TrackBuffers, normalize_keypoints
from pmce_ros.settings import WINDOW

pytestmark = [pytest.mark.video]

# --- detection and tracking on real photos --------------------------------------------------------------------


@pytest.mark.parametrize("photo, people", [(BUS, 4), (ZIDANE, 2)])
def test_real_photos_give_the_right_number_of_people(photo, people):
    detections = PoseTracker()(read_image(photo))
    assert len(detections) == people
    assert detections.keypoints.shape == (people, 17, 3)
    assert len(set(detections.track_ids.tolist())) == people
    image = read_image(photo)
    height, width = image.shape[:2]
    assert np.all(detections.boxes[:, :2] >= -1) and np.all(detections.boxes[:, 2] <= width + 1)
    assert np.all(detections.boxes[:, 3] <= height + 1)
    # Confident keypoints lie inside (or on) their person's box; people cut by the image edge may have none.
    confident_counts = []
    for box, keypoints in zip(detections.boxes, detections.keypoints):
        confident = keypoints[keypoints[:, 2] > 0.5, :2]
        confident_counts.append(len(confident))
        assert np.all((confident >= box[:2] - 10) & (confident <= box[2:] + 10))
    assert sum(count >= 5 for count in confident_counts) >= people - 1


@pytest.mark.parametrize("photo", [BUS, ZIDANE])
def test_the_openvino_export_finds_what_torch_finds(photo):
    image = read_image(photo)
    found = {backend: PoseTracker(PoseTrackerConfig(backend=backend))(image) for backend in ("torch", "openvino")}
    torch_people, openvino_people = (found[b] for b in ("torch", "openvino"))
    assert len(openvino_people) == len(torch_people) > 0
    by_x = [np.argsort(people.boxes[:, 0]) for people in (torch_people, openvino_people)]
    np.testing.assert_allclose(openvino_people.boxes[by_x[1]], torch_people.boxes[by_x[0]], atol=1.0)
    np.testing.assert_allclose(openvino_people.keypoints[by_x[1]], torch_people.keypoints[by_x[0]], atol=1.0)


def test_detector_backend_choice_and_fallbacks(tmp_path):
    assert choose_backend(PoseTrackerConfig()) == ("openvino", None)  # scripts/setup makes both exports
    assert choose_backend(PoseTrackerConfig(device="cuda")) == ("torch", None)
    unexported = tmp_path / "my-pose.pt"
    unexported.symlink_to(default_pose_weights())
    backend, reason = choose_backend(PoseTrackerConfig(weights=unexported))
    assert backend == "torch" and f"no export at {tmp_path}/my-pose_" in reason
    backend, reason = choose_backend(PoseTrackerConfig(weights=unexported, backend="openvino_int8"))
    assert backend == "torch" and f"openvino_int8 cannot run: no export at {tmp_path}/my-pose_int8" in reason
    backend, reason = choose_backend(PoseTrackerConfig(device="cuda", backend="openvino"))
    assert backend == "torch" and "on the CPU, not cuda" in reason
    with pytest.raises(ValueError, match="one of auto, torch, openvino, openvino_int8"):
        choose_backend(PoseTrackerConfig(backend="onnx"))


def test_an_export_that_cannot_load_falls_back_to_torch_with_one_log_line(tmp_path, caplog):
    weights = tmp_path / "my-pose.pt"
    weights.symlink_to(default_pose_weights())
    broken = openvino_export_dir(weights)
    broken.mkdir()
    (broken / "my-pose.xml").write_text("<net>not a network</net>")
    (broken / "my-pose.bin").write_bytes(b"")
    (broken / "metadata.yaml").write_text((openvino_export_dir(default_pose_weights()) / "metadata.yaml").read_text())
    with caplog.at_level(logging.WARNING):
        tracker = PoseTracker(PoseTrackerConfig(weights=weights, backend="openvino"))
    assert tracker.backend == "torch"
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "detector backend openvino failed to load" in line and line.endswith("the detector runs on torch")
    assert len(tracker(read_image(BUS))) == 4


@pytest.mark.parametrize("photo", [BUS, ZIDANE])
def test_the_int8_export_finds_the_same_people_with_close_keypoints(photo):
    image = read_image(photo)
    fp32, int8 = (PoseTracker(PoseTrackerConfig(backend=b))(image) for b in ("openvino", "openvino_int8"))
    assert len(int8) == len(fp32) > 0
    by_x = [np.argsort(people.boxes[:, 0]) for people in (fp32, int8)]
    heights = (fp32.boxes[:, 3] - fp32.boxes[:, 1])[by_x[0]]
    error = np.linalg.norm(int8.keypoints[by_x[1], :, :2] - fp32.keypoints[by_x[0], :, :2], axis=-1)
    confident = fp32.keypoints[by_x[0], :, 2] > 0.5
    assert np.median(error[confident] / np.broadcast_to(heights[:, None], error.shape)[confident]) < 0.02


def test_track_ids_persist_across_frames():
    tracker = PoseTracker()
    image = read_image(BUS)
    first = tracker(image)
    second = tracker(image)
    assert sorted(first.track_ids.tolist()) == sorted(second.track_ids.tolist())
    tracker.reset()
    assert len(tracker(image)) == 4


def test_the_detection_region_surrounds_the_people_or_is_the_whole_image():
    boxes = np.array([[400, 300, 500, 600], [550, 350, 650, 620]], np.float32)
    x_min, y_min, x_max, y_max = detection_region(boxes, (1080, 1920))
    margin = MARGIN * 320
    assert (x_min, y_min, x_max, y_max) == (int(400 - margin), int(300 - margin), int(650 + margin), int(620 + margin))
    assert detection_region(boxes - 350, (1080, 1920))[:2] == (0, 0)  # clipped to the image
    assert detection_region(np.zeros((0, 4)), (1080, 1920)) is None
    assert detection_region(np.array([[100, 100, 1800, 1000]], np.float32), (1080, 1920)) is None  # most of it
    # A region is read at the full image's scale or finer, in multiples of the stride.
    assert region_image_size((700, 400), (1080, 1920), 640) == 256
    assert region_image_size((1080, 1900), (1080, 1920), 640) == 640


def _walking_person_frames(count: int, entering_at: int | None = None) -> list[np.ndarray]:
    """1920x1080 frames with bus.jpg's nearest person walking right on a blurred background (in which the
    detector finds nobody); from frame `entering_at` a second copy stands at the right edge."""
    bus = read_image(BUS)
    boxes = PoseTracker(PoseTrackerConfig(roi_tracking=False))(bus).boxes.astype(int)
    x0, y0, x1, y1 = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    person = bus[max(y0, 0) : y1, max(x0, 0) : x1]
    background = cv2.GaussianBlur(cv2.resize(bus, (1920, 1080)), (0, 0), 40)
    frames = []
    for frame in range(count):
        image = background.copy()
        x = 200 + 15 * frame
        image[100 : 100 + person.shape[0], x : x + person.shape[1]] = person
        if entering_at is not None and frame >= entering_at:
            image[100 : 100 + person.shape[0], 1900 - person.shape[1] : 1900] = person
        frames.append(image)
    return frames


def test_roi_tracking_reads_less_of_the_image_and_finds_the_same_keypoints():
    frames = _walking_person_frames(12)
    full, roi = (PoseTracker(PoseTrackerConfig(roi_tracking=r, full_frame_every=10)) for r in (False, True))
    read = []
    detect = roi._detect
    roi._detect = lambda image, size: read.append(image.shape[:2]) or detect(image, size)
    for image in frames:
        expected, found = full(image), roi(image)
        assert len(found) == len(expected) == 1
        error = np.linalg.norm(found.keypoints[0, :, :2] - expected.keypoints[0, :, :2], axis=-1)
        confident = expected.keypoints[0, :, 2] > 0.5
        assert np.median(error[confident]) < 0.02 * (expected.boxes[0, 3] - expected.boxes[0, 1])
    assert read.count((1080, 1920)) == 2  # the first frame and the tenth; the others read a region
    assert max(h * w for h, w in read if (h, w) != (1080, 1920)) < 0.5 * 1080 * 1920


def test_a_person_entering_outside_the_region_is_found_at_the_next_full_image_detection():
    tracker = PoseTracker(PoseTrackerConfig(roi_tracking=True, full_frame_every=4))
    counts = [len(tracker(image)) for image in _walking_person_frames(9, entering_at=1)]
    # Frame 4 reads the whole image and starts the newcomer's track; ByteTrack confirms it in frame 5.
    assert counts == [1] * 5 + [2] * 4


def test_an_image_of_another_size_is_read_whole():
    tracker = PoseTracker(PoseTrackerConfig(roi_tracking=True, full_frame_every=10))
    read = []
    detect = tracker._detect
    tracker._detect = lambda image, size: read.append(image.shape[:2]) or detect(image, size)
    walking = _walking_person_frames(2)
    bus, zidane = read_image(BUS), read_image(ZIDANE)
    for image in (*walking, zidane, bus):
        tracker(image)
    assert read[0] == (1080, 1920) and read[1] != (1080, 1920)  # the region around the walking person
    assert read[2:] == [zidane.shape[:2], bus.shape[:2]]


def test_the_detector_leaves_torchs_thread_count_alone():
    from ultralytics.utils import NUM_THREADS

    before = torch.get_num_threads()
    mine = NUM_THREADS + 1  # ultralytics would set NUM_THREADS on its first CPU call
    torch.set_num_threads(mine)
    try:
        assert len(PoseTracker()(read_image(ZIDANE))) == 2
        assert torch.get_num_threads() == mine
    finally:
        torch.set_num_threads(before)


def test_importing_ultralytics_leaves_later_processes_their_threads():
    import os
    import subprocess
    import sys

    code = (
        "import os, torch; threads = torch.get_num_threads(); "
        "from pmce_ros.perception.ultralytics_env import configure_offline; configure_offline(); "
        "import ultralytics; print(threads, os.environ['OMP_NUM_THREADS'])"
    )
    environment = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    threads, inherited = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    ).stdout.split()
    assert inherited == threads


def test_bad_detector_configuration_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="absolute path"):
        PoseTracker(PoseTrackerConfig(weights=tmp_path / "missing.pt"))
    with pytest.raises(ValueError, match="16-frame"):
        PoseTracker(PoseTrackerConfig(lost_track_frames=5))


# --- crops ----------------------------------------------------------------------------------------------------


def test_crop_square_follows_confident_keypoints():
    keypoints = np.zeros((17, 3), np.float32)
    keypoints[:, 2] = 0.1
    keypoints[[0, 15], :] = [[100, 50, 0.9], [130, 90, 0.9]]  # 30 x 40 box: diagonal 50
    centre, side = crop_square(keypoints, np.array([0, 0, 10, 10], np.float32))
    np.testing.assert_allclose(centre, [115, 70])
    assert side == pytest.approx(55.0)
    keypoints[:, 2] = 0.0
    centre, side = crop_square(keypoints, np.array([0, 0, 30, 40], np.float32))
    np.testing.assert_allclose(centre, [15, 20])


def test_crops_are_normalised_squares_with_black_outside():
    image = np.zeros((200, 300, 3), np.uint8)
    image[50:150, 100:200] = [0, 0, 255]  # a red square (BGR)
    keypoints = np.zeros((2, 17, 3), np.float32)
    keypoints[0, :2] = [[100, 50, 1], [200, 150, 1]]  # covers the square
    keypoints[1, :2] = [[0, 0, 1], [20, 20, 1]]  # top-left corner: crop reaches outside the image
    crops = crop_people(image, keypoints, np.zeros((2, 4), np.float32))
    assert crops.shape == (2, 3, CROP_SIZE, CROP_SIZE) and crops.dtype == np.float32
    red = (1.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]
    assert crops[0, 0, 112, 112] == pytest.approx(red, abs=1e-4)
    black = -IMAGENET_MEAN / IMAGENET_STD
    np.testing.assert_allclose(crops[1, :, 2, 2], black, atol=1e-4)


# --- features -------------------------------------------------------------------------------------------------


def test_spin_checkpoint_backbone_is_loaded(tmp_path):
    torch.manual_seed(3)
    resnet = torchvision.models.resnet50(weights=None)
    hmr = {k: v for k, v in resnet.state_dict().items() if not k.startswith("fc.")}
    hmr.update(
        {
            "fc1.weight": torch.zeros(1024, 2205),
            "decpose.weight": torch.zeros(144, 1024),
            "init_pose": torch.zeros(1, 144),
        }
    )
    torch.save({"model": hmr, "optimizer": {}}, tmp_path / "spin_model_checkpoint.pth.tar")
    extractor = FeatureExtractor(FeatureExtractorConfig(weights=tmp_path / "spin_model_checkpoint.pth.tar"))
    assert not extractor.stand_in and extractor.weights_name == "spin_model_checkpoint.pth.tar"
    crops = np.random.default_rng(0).normal(size=(3, 3, 224, 224)).astype(np.float32)
    resnet.fc = torch.nn.Identity()
    with torch.no_grad():
        expected = resnet.eval()(torch.from_numpy(crops)).numpy()
    np.testing.assert_allclose(extractor(crops), expected, rtol=1e-4, atol=1e-4)
    assert extractor(crops[:0]).shape == (0, 2048)


def test_feature_weights_are_required_unless_untrained_is_allowed(tmp_path):
    with pytest.raises(ValueError, match="allow_untrained"):
        FeatureExtractor(FeatureExtractorConfig())
    torch.save({"model": {"conv1.weight": torch.zeros(64, 3, 7, 7)}}, tmp_path / "partial.pt")
    with pytest.raises(ValueError, match="no ResNet-50 backbone"):
        FeatureExtractor(FeatureExtractorConfig(weights=tmp_path / "partial.pt"))
    untrained = FeatureExtractor(FeatureExtractorConfig(allow_untrained=True))
    assert untrained.stand_in and "stand-in" in untrained.weights_name


# --- ring buffers ---------------------------------------------------------------------------------------------


def entry(stamp, value=0.0):
    return FrameEntry(
        int(round(stamp * 10)),
        stamp,
        np.full((17, 3), value, np.float32),
        np.zeros(4, np.float32),
        0.9,
        np.full((19, 2), value, np.float32),
        np.full(2048, value, np.float32),
        (640, 480),
    )


def test_windows_sample_detections_by_time_and_never_repeat_across_gaps():
    buffers = TrackBuffers(64, evict_after_s=1.0)
    for frame in range(20):
        seen = {1: entry(frame * 0.1, frame)}
        if frame < 10 or frame >= 13:  # track 2 misses frames 10-12
            seen[2] = entry(frame * 0.1, frame)
        buffers.update(frame * 0.1, seen)
    assert len(buffers.tracks[2].entries) == 17  # nothing is added for missed frames
    times = 1.9 + (np.arange(WINDOW) - (WINDOW - 1)) * 0.1  # a causal window at the camera's rate, ending now
    whole = buffers.tracks[1].window(times, 0.1, pad_before_start=False)
    assert [e.pose2d[0, 0] for e in whole.entries] == list(range(4, 20))
    assert buffers.tracks[2].window(times, 0.1, pad_before_start=False) is None  # 0.2 s from any detection
    bridged = buffers.tracks[2].window(times, 0.1, pad_before_start=False, bridged_intervals=2)
    assert [e.pose2d[0, 0] for e in bridged.entries] == [4, 5, 6, 7, 8, 9, 9, 9, 13, 13] + list(range(14, 20))
    assert buffers.tracks[2].window(times, 0.1, pad_before_start=False, bridged_intervals=1.5) is None
    # A camera twice as fast as the model's interval is subsampled: every second detection.
    slow = buffers.tracks[1].window(1.9 + (np.arange(8) - 7) * 0.2, 0.2, pad_before_start=False)
    assert [e.pose2d[0, 0] for e in slow.entries] == list(range(5, 20, 2))
    assert buffers.tracks[1].entry_at(12) is not None and buffers.tracks[2].entry_at(12) is None


def test_tracks_are_evicted_and_bounded():
    buffers = TrackBuffers(WINDOW, evict_after_s=0.5, max_tracks=4)
    buffers.update(0.0, {1: entry(0.0)})
    buffers.update(0.3, {2: entry(0.3)})
    assert set(buffers.tracks) == {1, 2}
    assert buffers.update(0.6, {2: entry(0.6)}) == [1]
    for frame in range(1, 200):  # a new person every frame, forever
        buffers.update(0.6 + frame * 0.01, {100 + frame: entry(0.0)})
        assert len(buffers.tracks) <= 4
        assert all(len(t.entries) <= WINDOW for t in buffers.tracks.values())


def test_young_tracks_are_edge_padded_only_when_asked():
    buffers = TrackBuffers(WINDOW)
    for frame in range(5):
        buffers.update(frame, {7: entry(frame, frame)})
    times = np.arange(WINDOW) - 11.0  # samples -11 .. 4 s
    assert buffers.tracks[7].window(times, 1.0, pad_before_start=False) is None
    window = buffers.tracks[7].window(times, 1.0, pad_before_start=True)
    assert [e.pose2d[0, 0] for e in window.entries] == [0.0] * 12 + [1.0, 2.0, 3.0, 4.0]
    assert window.padded == 11


def test_keypoints_are_normalised_by_image_width():
    points = np.array([[0.0, 0.0], [640.0, 480.0], [320.0, 240.0]])
    np.testing.assert_allclose(normalize_keypoints(points, 640, 480), [[-1, -0.75], [1, 0.75], [0, 0]])


# --- placement ------------------------------------------------------------------------------------------------


def project(points, camera):
    return np.column_stack(
        [camera.fx * points[:, 0] / points[:, 2] + camera.cx, camera.fy * points[:, 1] / points[:, 2] + camera.cy]
    )


def test_placement_recovers_the_translation_within_one_percent_at_half_a_pixel_noise():
    body = make_synthetic_body()
    # COCO-19 joints of the rest body, turned to camera axes (y down, facing the camera: z towards it flips).
    joints = coco17_to_coco19(np.column_stack([body.coco_regressor @ body.model["v_template"], np.ones(17)]))
    joints = joints[:, :3] * [1, -1, -1]
    joints -= joints[17]
    camera = Intrinsics(fx=1000, fy=1000, cx=640, cy=360)
    rng = np.random.default_rng(1)
    errors = []
    for _ in range(200):
        truth = np.array([rng.uniform(-1, 1), rng.uniform(-0.5, 0.5), rng.uniform(2, 8)])
        keypoints = project(joints + truth, camera) + rng.normal(0, 0.5, (19, 2))
        solved = solve_root_translation(joints, keypoints, np.ones(19), camera)
        errors.append(np.linalg.norm(solved - truth) / np.linalg.norm(truth))
    assert max(errors) < 0.01


def test_placement_refuses_what_it_cannot_solve():
    camera = Intrinsics(1000, 1000, 320, 240)
    joints = np.random.default_rng(0).normal(0, 0.3, (19, 3))
    assert solve_root_translation(joints, np.zeros((19, 2)), np.r_[1.0, np.zeros(18)], camera) is None
    keypoints = np.full((19, 2), np.nan)
    assert solve_root_translation(joints, keypoints, np.ones(19), camera) is None
    assert not Intrinsics(np.nan, 1000, 320, 240).valid() and not Intrinsics(0, 0, 0, 0).valid()
    fallback = Intrinsics.fallback(640, 480)
    assert fallback.valid() and fallback.fx == pytest.approx(800) and (fallback.cx, fallback.cy) == (320, 240)


def test_box_fallback_places_a_person_of_nominal_height():
    camera = Intrinsics(1000, 1000, 640, 360)
    truth = np.array([0.4, -0.1, 5.0])
    top, bottom = truth + [0, -NOMINAL_HEIGHT_M / 2, 0], truth + [0, NOMINAL_HEIGHT_M / 2, 0]
    (u0, v0), (u1, v1) = project(np.array([top, bottom]), camera)
    np.testing.assert_allclose(translation_from_box(np.array([u0 - 50, v0, u1 + 50, v1]), camera), truth)
