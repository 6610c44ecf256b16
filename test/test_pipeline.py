"""The streaming pipeline on real video and photos, with the stand-ins that exist here (untrained ResNet-50 and
PMCE weights, synthetic body): what is checked is the plumbing, timing and robustness, not mesh accuracy."""

import dataclasses
import logging

import numpy as np
import pytest
from media import BUS, VTEST_FPS, VTEST_IMAGE_SIZE, read_image, video_frames

from pmce_ros.perception.features import FeatureExtractorConfig
from pmce_ros.perception.placement import ANKLE_CONFIDENCE, COCO_ANKLES, FLOOR_SCALE_RANGE, FloorPlane, Intrinsics
from pmce_ros.perception.pose_tracker import PoseTrackerConfig
from pmce_ros.pipeline import InvalidInput, Pipeline, PipelineConfig
from pmce_ros.pipeline.schedule import BUFFER_CAPACITY
from pmce_ros.settings import WINDOW, threads_beside_others, threads_for_offline_run

pytestmark = [pytest.mark.video]

FRAMES_BEHIND = WINDOW - 1 - WINDOW // 2  # the authors' 16-frame window describes its middle: 7 behind

FRAMES = 100
MAX_TRACKS = 12


def stand_in_config(**overrides) -> PipelineConfig:
    settings = dict(
        detector=PoseTrackerConfig(image_size=VTEST_IMAGE_SIZE),
        features=FeatureExtractorConfig(allow_untrained=True),
        allow_untrained_pmce=True,
        max_tracks=MAX_TRACKS,
        # What these tests pin down: windows withheld until detections cover them, no gaps bridged (the defaults
        # are edge_pad and 2 intervals, tested on their own below).
        warmup="withhold",
        bridged_intervals=1.0,
        body="stand_in",  # what write_pose_only_checkpoint's weights say they were trained on
    )
    return PipelineConfig(**{**settings, **overrides})


def count_id_switches(history: list[dict[int, np.ndarray]], fps: float) -> int:
    """Births of a new id within 1.5 box heights of where another id was lost during the last second: the
    tracker split one person's track in two."""
    switches, lost, known = 0, [], set(history[0])  # lost: (frame, centre, height)
    for frame in range(1, len(history)):
        before, now = history[frame - 1], history[frame]
        for track_id in set(before) - set(now):
            box = before[track_id]
            lost.append((frame, (box[:2] + box[2:]) / 2, box[3] - box[1]))
        lost = [item for item in lost if frame - item[0] <= fps]
        for track_id in set(now) - known:
            known.add(track_id)
            centre = (now[track_id][:2] + now[track_id][2:]) / 2
            if any(np.linalg.norm(centre - c) < 1.5 * h for _, c, h in lost):
                switches += 1
    return switches


@pytest.fixture(scope="module")
def video_run():
    pipeline = Pipeline(stand_in_config())
    results, live_tracks = [], []
    for index, frame in enumerate(video_frames(count=FRAMES)):
        results.append(pipeline.process(frame, index / VTEST_FPS, tag=("frame", index)))
        live_tracks.append([len(t.entries) for t in pipeline.buffers.tracks.values()])
    return pipeline, results, live_tracks


def test_everything_produced_is_labelled_as_stand_in(video_run):
    pipeline, _, _ = video_run
    assert pipeline.stand_in
    assert "untrained PMCE (stand-in" in pipeline.weights_description
    assert "synthetic SMPL-format stand-in (not SMPL)" in pipeline.weights_description  # the body named
    assert "yolo11n-pose.pt (openvino)" in pipeline.weights_description  # auto on the CPU, with setup's export


def test_tracks_get_estimates_once_their_window_fills(video_run):
    pipeline, results, _ = video_run
    assert all(not r.people for r in results[: WINDOW - 1])
    assert all(r.described_stamp is None for r in results[:FRAMES_BEHIND])
    first_ids = set(results[0].detections.track_ids.tolist())
    assert first_ids and first_ids <= {p.track_id for p in results[WINDOW - 1].people}
    seen_since: dict[int, int] = {}
    for index, result in enumerate(results):
        for track_id in result.detections.track_ids.tolist():
            seen_since.setdefault(track_id, index)
        assert result.described_stamp in (None, pytest.approx((index - FRAMES_BEHIND) / VTEST_FPS))
        assert result.described_tag == (None if result.described_stamp is None else ("frame", index - FRAMES_BEHIND))
        for person in result.people:
            assert index - seen_since[person.track_id] >= WINDOW - 1  # withheld until 16 frames
            assert person.stamp == result.described_stamp and person.padded_frames == 0
            assert person.mesh.shape == (6890, 3) and np.all(np.isfinite(person.mesh))
            assert person.joints.shape == (19, 3) and person.joints_h36m.shape == (17, 3)
            assert person.keypoints.shape == (17, 3) and person.box.shape == (4,)
        described_ids = {p.track_id for p in result.people} | {p.track_id for p in result.pending}
        assert len(described_ids) == len(result.people) + len(result.pending)
        assert {p.reason for p in result.pending} <= {"window filling", "not seen in this frame", "gap in track"}
        if result.described_stamp is not None:  # vtest runs at 10 fps, three times the authors' 30 fps windows
            assert result.window_interval_s == pytest.approx(0.1) and result.beyond_training
            assert all(p.window_span_s == pytest.approx(1.5) for p in result.people)
    estimated = sum(len(r.people) for r in results)
    # vtest has 3-5 people in view throughout, but only those detected in the described frame and near every
    # sample time get estimates (211 of 84 frames here: people behind the lamp post or each other get none).
    assert estimated >= 2 * (FRAMES - WINDOW)
    assert all(r.timings_ms.keys() >= {"detect", "features", "pmce", "placement"} for r in results[WINDOW:])


def test_track_ids_stay_stable(video_run):
    _, results, _ = video_run
    history = [dict(zip(r.detections.track_ids.tolist(), r.detections.boxes)) for r in results]
    # Measured here: 1 switch and 7 distinct ids in these 10 s, where people cross behind the lamp post and each
    # other about three times. The bound leaves one more split for a different CPU's arithmetic, not more: the
    # tracker's defaults gave 5 switches and 11 ids on the same frames.
    assert count_id_switches(history, VTEST_FPS) <= 2
    assert len({i for h in history for i in h}) <= 9


def test_memory_stays_bounded(video_run):
    _, _, live_tracks = video_run
    assert max(len(tracks) for tracks in live_tracks) <= MAX_TRACKS
    assert WINDOW <= max(max(tracks, default=0) for tracks in live_tracks) <= BUFFER_CAPACITY


def test_edge_padding_gives_estimates_after_eight_frames():
    pipeline = Pipeline(stand_in_config(warmup="edge_pad"))
    frames = video_frames(count=FRAMES_BEHIND + 2)
    results = [pipeline.process(frame, i / VTEST_FPS) for i, frame in enumerate(frames)]
    assert not results[FRAMES_BEHIND - 1].people
    first = results[FRAMES_BEHIND].people
    assert first and all(p.padded_frames == WINDOW - FRAMES_BEHIND - 1 for p in first)
    assert all(p.stamp == 0.0 for p in first)


@pytest.mark.slow
def test_with_the_defaults_most_people_detected_in_a_frame_get_a_body():
    """The package's defaults (auto: causal pose-only weights, edge padding, gaps of up to two intervals
    bridged) on vtest at 960 px: at least 80% of the people detected in a described frame get an estimate."""
    from pmce_ros.output.quality import BodyRecall

    pipeline = Pipeline(PipelineConfig(detector=PoseTrackerConfig(image_size=VTEST_IMAGE_SIZE)))
    assert pipeline.config.latency_mode == "causal"
    recall = BodyRecall()
    for index, frame in enumerate(video_frames(count=60)):
        result = pipeline.process(frame, index / VTEST_FPS)
        recall.add(len(result.people), (p.reason for p in result.pending))
    assert recall.detected >= 150 and recall.share >= 0.8, recall.describe()


def test_people_are_placed_with_the_camera_of_the_frame_they_describe():
    """Centered windows describe a frame 7 intervals back: when the intrinsics change (another camera on the same
    frame_id, a zoom), that frame's people keep its own camera, not the newest frame's. The network's own bones:
    an untrained network's limb directions held to a human body's lengths fit the keypoints loosely, and how the
    depth then scales with the focal length is the body's business, not the camera's."""
    pipeline = Pipeline(stand_in_config(detector=PoseTrackerConfig(), warmup="edge_pad", body_identity=False))
    bus = read_image(BUS)
    before, after = Intrinsics(900.0, 900.0, 405.0, 540.0), Intrinsics(1800.0, 1800.0, 405.0, 540.0)
    described = []
    for index in range(20):
        result = pipeline.process(bus, index / 10, before if index < 12 else after, tag=index)
        if result.described_tag is not None:
            described.append((result.described_tag, result.camera, [p.translation[2] for p in result.people]))
    assert [tag for tag, _, _ in described] == list(range(13))  # frames 13-19 lie within the last 7 intervals
    assert [camera for _, camera, _ in described] == [before] * 12 + [after]
    # The same photo every frame: the same people at the same depths, until the focal length doubles.
    depths = np.array([depths for _, _, depths in described])
    assert depths.shape[1] >= 3
    np.testing.assert_allclose(depths[:12], np.broadcast_to(depths[0], depths[:12].shape), rtol=1e-4)
    assert np.median(depths[12] / depths[0]) == pytest.approx(2.0, rel=0.05)


@pytest.fixture(scope="module")
def photo_pipeline():
    return Pipeline(stand_in_config(detector=PoseTrackerConfig()))


def test_a_known_floor_sizes_people_along_their_rays_with_their_feet_on_it():
    """The same frames with and without a floor (a level camera 1.2 m up), default weights and body: each person
    the floor sizes is the keypoint fit scaled about the camera centre (the same rays, the same projections), the
    lower of its confidently seen ankles at the body's ankle height above the floor (an ankle the detector is
    unsure of is not stood on, and may be lower)."""
    pipeline, bus = Pipeline(PipelineConfig(detector=PoseTrackerConfig())), read_image(BUS)
    camera, floor = Intrinsics(900.0, 900.0, 405.0, 540.0), FloorPlane(np.array([0.0, -1.0, 0.0]), 1.2)
    people = []
    for given in (None, floor):
        pipeline.reset()
        for index in range(WINDOW + 2):
            result = pipeline.process(bus, index / 10, camera, floor=given)
        people.append({p.track_id: p for p in result.people})
    free, floored = people
    sized = [track for track, person in floored.items() if person.placement == "floor"]
    assert len(sized) >= 2
    scales = [floored[track].translation[2] / free[track].translation[2] for track in sized]
    # a person the keypoints alone already stand on the floor keeps a scale of 1; not all of them do
    assert max(abs(scale - 1) for scale in scales) > 1e-2
    for track, scale in zip(sized, scales):
        assert FLOOR_SCALE_RANGE[0] <= scale <= FLOOR_SCALE_RANGE[1]
        np.testing.assert_allclose(floored[track].joints, scale * free[track].joints, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(floored[track].mesh, scale * free[track].mesh, rtol=1e-5, atol=1e-6)
        seen = [ankle for ankle in COCO_ANKLES if floored[track].keypoints[ankle, 2] >= ANKLE_CONFIDENCE]
        ankles = floor.height(floored[track].joints[seen])
        assert ankles.min() == pytest.approx(pipeline.estimate.ankle_height, abs=1e-4)


def test_bad_input_is_refused_and_the_next_frame_works(photo_pipeline):
    pipeline = photo_pipeline
    pipeline.reset()
    bus = read_image(BUS)
    assert len(pipeline.process(bus, 1.0).detections) == 4
    for bad in (
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((1, 1, 3), np.uint8),
        bus.astype(np.float32),
        np.zeros((480, 640, 4), np.uint8),
        "not an image",
    ):
        with pytest.raises(InvalidInput):
            pipeline.process(bad, 2.0)
    with pytest.raises(InvalidInput, match="repeats"):
        pipeline.process(bus, 1.0)
    with pytest.raises(InvalidInput, match="finite"):
        pipeline.process(bus, float("nan"))
    result = pipeline.process(bus, 2.0)
    assert not result.reset and len(result.detections) == 4
    assert all(len(t.entries) == 2 for t in pipeline.buffers.tracks.values())


def test_grey_images_and_bad_intrinsics_are_handled(photo_pipeline):
    pipeline = photo_pipeline
    pipeline.reset()
    grey = read_image(BUS).mean(axis=2).astype(np.uint8)
    result = pipeline.process(grey, 1.0, Intrinsics(np.nan, 1000, 320, 240))
    assert result.intrinsics_source.startswith("fallback (invalid")
    assert len(result.detections) >= 3
    assert pipeline.process(grey[:, :, None], 1.1).intrinsics_source == "fallback (none given)"
    assert pipeline.process(grey, 1.2, Intrinsics(900, 900, 405, 540)).intrinsics_source == "given"


def test_stamps_going_backwards_reset_the_buffers(photo_pipeline):
    pipeline = photo_pipeline
    pipeline.reset()
    bus = read_image(BUS)
    for stamp in (10.0, 10.1, 10.2):
        assert not pipeline.process(bus, stamp).reset
    result = pipeline.process(bus, 0.0)  # the bag looped
    assert "backwards" in result.reset
    assert all(len(t.entries) == 1 for t in pipeline.buffers.tracks.values())
    assert [frame.stamp for frame in pipeline.schedule.recent_frames] == [0.0]
    result = pipeline.process(bus, 5.0)  # a jump forward beyond evict_after_s: no window may span it
    assert "jumped forward by 5.0 s" in result.reset
    assert [frame.stamp for frame in pipeline.schedule.recent_frames] == [5.0]


def test_unusable_settings_are_refused():
    with pytest.raises(ValueError, match="allow_untrained"):  # PMCE with an image stream needs ResNet-50 weights
        Pipeline(PipelineConfig(allow_untrained_pmce=True))
    with pytest.raises(ValueError, match="warmup"):
        Pipeline(stand_in_config(warmup="sometimes"))
    with pytest.raises(ValueError, match="latency_mode"):
        Pipeline(stand_in_config(latency_mode="soon"))


def test_id_switch_counter():
    box = np.array([0, 0, 10, 20], np.float32)
    moved = box + [100, 0, 100, 0]
    assert count_id_switches([{1: box}, {}, {1: box}], 10) == 0  # same id back after a gap
    assert count_id_switches([{1: box}, {}, {2: box + 2}], 10) == 1  # new id where 1 was lost
    assert count_id_switches([{1: box}, {1: box, 2: moved}], 10) == 0  # someone else arrives


def test_stand_in_networks_are_identical_in_every_process():
    import torch

    from pmce_ros.body.body_model import load_body
    from pmce_ros.pipeline.loading import build_pmce

    body = load_body()
    first = build_pmce(stand_in_config(), body, "cpu").model
    torch.rand(100)  # the caller's random state must not matter
    second = build_pmce(stand_in_config(), body, "cpu").model
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name


def test_demo_weights_are_small_labelled_and_fit_the_pipeline():
    import dataclasses

    from pmce_ros.assets import DEMO_PMCE_WEIGHTS
    from pmce_ros.body.body_model import load_body
    from pmce_ros.model.checkpoint import read_checkpoint_file
    from pmce_ros.pipeline.loading import build_pmce

    assert DEMO_PMCE_WEIGHTS.stat().st_size <= 30_000_000
    label = read_checkpoint_file(DEMO_PMCE_WEIGHTS)["label"]
    assert "trained on synthetic motion, not the authors' weights" in label
    body = load_body()
    loaded = build_pmce(stand_in_config(pmce_weights=DEMO_PMCE_WEIGHTS, allow_untrained_pmce=False), body, "cpu")
    assert sum(p.numel() for p in loaded.model.parameters()) <= 15_000_000
    assert loaded.stand_in and label in loaded.name and loaded.model.config.num_frames == WINDOW
    smpl = dataclasses.replace(body, name="SMPL (SMPL_NEUTRAL.pkl)", stand_in=False)
    with pytest.raises(ValueError, match="vertices do not correspond"):
        build_pmce(stand_in_config(pmce_weights=DEMO_PMCE_WEIGHTS), smpl, "cpu")


def test_a_body_that_does_not_fit_the_network_is_refused_at_configure_in_one_sentence():
    """A body with another vertex count (or coarse mesh) than the network's would fail or draw garbage every
    frame: building refuses it, naming both counts."""
    import dataclasses

    from pmce_ros.body.body_model import load_body
    from pmce_ros.body.coarse_mesh import CoarseMesh
    from pmce_ros.pipeline.loading import build_pmce

    body = load_body()
    smaller = dataclasses.replace(body, h36m_regressor=body.h36m_regressor[:, :5000])
    with pytest.raises(ValueError, match=r"^PMCE outputs 6890 vertices but the body .* has 5000: [^.]*$"):
        build_pmce(stand_in_config(), smaller, "cpu")
    coarse = body.coarse
    fewer = CoarseMesh(coarse.vertex_indices[:400], coarse.vertices[:400], coarse.vertex_joint_index[:400])
    with pytest.raises(ValueError, match="works on 431 coarse vertices but the body .* provides 400"):
        build_pmce(stand_in_config(), dataclasses.replace(body, coarse=fewer), "cpu")


def test_pmce_runs_on_openvino_on_a_cpu_and_falls_back_to_torch_with_one_log_line(caplog, monkeypatch):
    from pmce_ros.body.body_model import load_body
    from pmce_ros.pipeline import loading

    model = loading.build_pmce(stand_in_config(), load_body(), "cpu").model

    def warnings_of(config):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            execution = loading.pmce_runner(model, config)[1]
        return execution, [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]

    assert warnings_of(stand_in_config()) == ("openvino fp32", [])
    assert warnings_of(stand_in_config(pmce_backend="torch")) == ("torch eager", [])
    assert warnings_of(stand_in_config(precision="bf16")) == ("torch eager", [])  # chosen, not a fallback
    assert warnings_of(stand_in_config(pmce_backend="openvino", precision="bf16")) == (
        "torch eager",
        ["PMCE runs on torch: OpenVINO runs PMCE in fp32, not bf16"],
    )

    def cannot_convert(model):
        raise RuntimeError("unsupported operation")

    monkeypatch.setattr(loading, "OpenVINOPMCE", cannot_convert)
    assert warnings_of(stand_in_config()) == (
        "torch eager",
        ["PMCE runs on torch: OpenVINO could not load it: RuntimeError: unsupported operation"],
    )
    with pytest.raises(ValueError, match="pmce_backend must be one of"):
        Pipeline(stand_in_config(pmce_backend="onnx"))


@pytest.mark.slow
def test_compiled_pipeline_compiles_at_configure_only_and_matches_the_faithful_one(photo_pipeline):
    from torch._dynamo.utils import counters

    from pmce_ros.model import PMCEConfig

    faithful = photo_pipeline
    faithful.reset()
    compiled = Pipeline(
        stand_in_config(detector=PoseTrackerConfig(), compile_max_batch=1, pmce=PMCEConfig(num_joints=19, fast=True))
    )
    assert compiled.execution.startswith("torch compiled for batches 1 (") and faithful.execution == "openvino fp32"
    graphs = counters["stats"]["unique_graphs"]
    assert graphs >= 1
    bus = read_image(BUS)
    for frame in range(WINDOW):
        expected, result = faithful.process(bus, frame / 10), compiled.process(bus, frame / 10)
    assert counters["stats"]["unique_graphs"] == graphs  # 4 people ran as 4 calls of the batch-1 graph
    assert len(result.people) == len(expected.people) == 4
    for person, reference in zip(result.people, expected.people):
        np.testing.assert_allclose(person.mesh, reference.mesh, atol=1e-5, rtol=1e-5)  # float32 metres


def test_torch_threads_setting_holds_through_detection():
    import torch
    from ultralytics.utils import NUM_THREADS

    before, wanted = torch.get_num_threads(), NUM_THREADS + 1  # ultralytics would set NUM_THREADS
    try:
        pipeline = Pipeline(stand_in_config(detector=PoseTrackerConfig(), torch_threads=wanted))
        assert len(pipeline.process(read_image(BUS), 0.0).detections) == 4
        assert torch.get_num_threads() == wanted
    finally:
        torch.set_num_threads(before)


def test_the_node_leaves_a_core_unless_told_a_thread_count(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert threads_beside_others(0) == 3 and threads_beside_others(6) == 6
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0})
    assert threads_beside_others(0) == 1


def test_offline_runs_give_resnet_every_core_and_a_pose_only_model_one_less(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert threads_for_offline_run(0, reads_features=True) == 4
    assert threads_for_offline_run(0, reads_features=False) == 3
    assert threads_for_offline_run(2, reads_features=True) == 2


def test_a_failed_pmce_call_leaves_the_frames_tags_in_step(photo_pipeline, monkeypatch):
    """Each frame's tag comes back with the estimates that describe it, also after a frame whose PMCE call
    raised (the node once looked headers up by stamp in a side list, which a failed frame left out of step)."""
    pipeline = photo_pipeline
    pipeline.reset()
    bus, model = read_image(BUS), pipeline.estimate.run_pmce
    described = {}
    for frame in range(WINDOW + 3):
        if frame == WINDOW:
            monkeypatch.setattr(
                pipeline.estimate, "run_pmce", lambda *inputs: (_ for _ in ()).throw(RuntimeError("stall"))
            )
            with pytest.raises(RuntimeError):
                pipeline.process(bus, frame / 10, tag=f"header {frame}")
            monkeypatch.setattr(pipeline.estimate, "run_pmce", model)
            continue
        result = pipeline.process(bus, frame / 10, tag=f"header {frame}")
        if result.described_stamp is not None:
            described[result.described_tag] = result.described_stamp
    assert described and all(stamp == pytest.approx(int(tag.split()[1]) / 10) for tag, stamp in described.items())


def test_causal_mode_describes_the_newest_frame_and_only_people_seen_in_it():
    """Causal mode with a centered model (the future half padded with the newest frame): estimates describe the
    newest frame from the 9th frame on (8 past samples and the newest). A frame in which nobody is detected gives
    no estimate at all (the tracks are listed as not seen); one missed frame is within an interval of every later
    sample."""
    pipeline = Pipeline(stand_in_config(detector=PoseTrackerConfig(), latency_mode="causal"))
    bus, blank = read_image(BUS), np.full_like(read_image(BUS), 127)
    stamps = np.arange(WINDOW + 4) / 30
    results = [pipeline.process(blank if i == WINDOW + 1 else bus, s) for i, s in enumerate(stamps)]
    assert all(r.described_stamp == r.stamp for r in results)
    assert not any(r.people for r in results[:8]) and len(results[8].people) == 4
    assert all(p.window_span_s == pytest.approx(8 / 30) for p in results[WINDOW - 1].people)  # 9 real samples
    assert len(results[WINDOW].people) == 4
    unseen = results[WINDOW + 1]
    assert not unseen.people and {p.reason for p in unseen.pending} == {"not seen in this frame"}
    assert len(unseen.pending) == 4
    assert len(results[WINDOW + 2].people) == 4


def test_a_camera_faster_than_the_model_is_subsampled(photo_pipeline):
    pipeline = photo_pipeline
    pipeline.reset()
    bus = read_image(BUS)
    results = [pipeline.process(bus, i / 60) for i in range(2 * WINDOW)]
    first = next(r for r in results if r.people)
    assert first.window_interval_s == pytest.approx(1 / 30) and not first.beyond_training
    assert first.described_stamp == pytest.approx(first.stamp - 14 / 60)  # 7 intervals of 1/30 s behind
    assert all(p.window_span_s == pytest.approx(0.5) for p in first.people)


def write_pose_only_checkpoint(path, causal: bool = False):
    """A random pose-only PMCE in our checkpoint format, trained (so it says) on the stand-in body."""
    import torch

    from pmce_ros.body.body_model import load_body
    from pmce_ros.body.synthetic import STAND_IN_NAME
    from pmce_ros.model import PMCE, PMCEConfig
    from pmce_ros.model.checkpoint import CONFIG_KEY, FRAME_INTERVALS_KEY

    config = PMCEConfig(image_stream=False, lifter_dim=32, lifter_heads=4, gru_hidden=16, causal=causal)
    body = load_body()
    model = PMCE(config, body.coarse.vertex_joint_index, body.coarse.vertices)
    content = {
        "model_state_dict": model.state_dict(),
        CONFIG_KEY: dataclasses.asdict(config),
        "body": STAND_IN_NAME,
        "label": "random pose-only test weights",
        FRAME_INTERVALS_KEY: (1 / 30, 0.2),
    }
    torch.save(content, path)
    return path


def test_a_pose_only_model_skips_the_feature_stage_and_its_kind_is_checked(tmp_path):
    weights = write_pose_only_checkpoint(tmp_path / "pose_only.pt")
    pipeline = Pipeline(stand_in_config(detector=PoseTrackerConfig(), pmce_weights=weights, allow_untrained_pmce=False))
    assert pipeline.features is None and pipeline.weights["features"] == "none (pose-only model)"
    assert pipeline.frame_intervals_s == pytest.approx((1 / 30, 0.2))
    bus = read_image(BUS)
    results = [pipeline.process(bus, i / 10) for i in range(WINDOW)]  # 10 fps: within the trained 5-30 fps
    assert "features" not in results[-1].timings_ms and not results[-1].beyond_training
    assert len(results[-1].people) == 4 and results[-1].window_interval_s == pytest.approx(0.1)
    causal = write_pose_only_checkpoint(tmp_path / "causal.pt", causal=True)
    with pytest.raises(ValueError, match="needs latency_mode 'causal'"):  # asked for centered; auto takes causal
        Pipeline(stand_in_config(pmce_weights=causal, latency_mode="centered"))
    with pytest.raises(ValueError, match="pose-only PMCE that reads no image features"):
        Pipeline(stand_in_config(pmce_weights=weights, features=FeatureExtractorConfig(weights=tmp_path / "x.pt")))


@pytest.mark.parametrize("body_name", ["stand_in", "anny"])
def test_the_shipped_pose_only_weights_are_the_default_small_and_labelled(body_name):
    from pmce_ros.assets import PACKAGE_WEIGHTS
    from pmce_ros.body.body_model import load_body
    from pmce_ros.model.checkpoint import read_checkpoint_file
    from pmce_ros.pipeline.loading import build_pmce

    body = load_body(generated=body_name)
    for mode, path in PACKAGE_WEIGHTS[body_name].items():
        assert path.stat().st_size <= 30_000_000
        content = read_checkpoint_file(path)
        assert "not the authors' weights" in content["label"]
        if "real motion capture" in content["label"]:  # the default since 2026-12-07 says what it was trained on
            assert {s["repository"] for s in content["capture_sources"]} >= {"zhangchi8620/JointLearning-HDM05"}
            assert all(s["commit"] and s["licence"] for s in content["capture_sources"])
        assert content["body"] == body.name
        assert content["recipe"]["data"]["dataset"] == "motion" and tuple(content["frame_intervals_s"]) == (1 / 30, 0.2)
        loaded = build_pmce(PipelineConfig(latency_mode=mode, body=body_name), body, "cpu")  # no weights named
        assert path.name in loaded.name and loaded.stand_in
        assert not loaded.model.config.image_stream and loaded.model.config.causal == (mode == "causal")
        assert loaded.latency_mode == mode


def test_weights_trained_on_one_generated_body_are_refused_with_the_other_in_one_sentence():
    from pmce_ros.assets import POSE_ONLY_WEIGHTS

    with pytest.raises(ValueError, match="trained on 'synthetic SMPL-format stand-in.*uses 'Anny body") as refused:
        Pipeline(PipelineConfig(body="anny", pmce_weights=POSE_ONLY_WEIGHTS))
    assert str(refused.value).count(". ") == 0


def test_auto_latency_mode_is_causal_for_weights_trained_causal_and_centered_otherwise(tmp_path):
    from pmce_ros.assets import POSE_ONLY_CAUSAL_WEIGHTS
    from pmce_ros.body.body_model import load_body
    from pmce_ros.pipeline.loading import build_pmce

    body = load_body()
    default = build_pmce(PipelineConfig(body="stand_in"), body, "cpu")  # "auto", no weights: the package's causal
    assert default.latency_mode == "causal" and POSE_ONLY_CAUSAL_WEIGHTS.name in default.name
    centered = write_pose_only_checkpoint(tmp_path / "centered.pt")
    assert build_pmce(PipelineConfig(pmce_weights=centered), body, "cpu").latency_mode == "centered"
    causal = write_pose_only_checkpoint(tmp_path / "causal.pt", causal=True)
    assert build_pmce(PipelineConfig(pmce_weights=causal), body, "cpu").latency_mode == "causal"
    assert build_pmce(PipelineConfig(allow_untrained_pmce=True), body, "cpu").latency_mode == "centered"  # authors'


def test_no_frame_is_described_twice_when_the_processing_interval_grows(photo_pipeline):
    """Frames every 0.1 s, then every 0.9 s: the longer interval would point the centered window back at frames
    already described; they are not described (and published) again, since TF consumers reject repeated stamps."""
    pipeline = photo_pipeline
    pipeline.reset()
    bus = read_image(BUS)
    stamps = [index / 10 for index in range(20)] + [1.9 + 0.9 * step for step in range(1, 12)]
    described = []
    for stamp in stamps:
        result = pipeline.process(bus, stamp)
        assert result.reset is None
        if result.described_stamp is not None:
            described.append(result.described_stamp)
    assert len(described) >= 10 and all(later > earlier for earlier, later in zip(described, described[1:]))
