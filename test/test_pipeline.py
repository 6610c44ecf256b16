"""The streaming pipeline on real video and photos, with the stand-ins that exist here (untrained ResNet-50 and
PMCE weights, synthetic body): what is checked is the plumbing, timing and robustness, not mesh accuracy."""

import numpy as np
import pytest
from media import BUS, VTEST_FPS, VTEST_IMAGE_SIZE, read_image, video_frames

from pmce_ros.perception.features import FeatureExtractorConfig
from pmce_ros.perception.placement import Intrinsics
from pmce_ros.perception.pose_tracker import PoseTrackerConfig
from pmce_ros.pipeline import InvalidInput, Pipeline, PipelineConfig
from pmce_ros.settings import WINDOW

FRAMES_BEHIND = WINDOW - 1 - WINDOW // 2  # the authors' 16-frame window describes its middle: 7 behind

FRAMES = 100
MAX_TRACKS = 12


def stand_in_config(**overrides) -> PipelineConfig:
    settings = dict(
        detector=PoseTrackerConfig(image_size=VTEST_IMAGE_SIZE),
        features=FeatureExtractorConfig(allow_untrained=True),
        allow_untrained_pmce=True,
        max_tracks=MAX_TRACKS,
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
    assert "synthetic SMPL-format stand-in (not SMPL)" in pipeline.weights_description
    assert "yolo11n-pose.pt" in pipeline.weights_description


def test_tracks_get_estimates_once_their_window_fills(video_run):
    _, results, _ = video_run
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
        assert all(FRAMES_BEHIND < p.frames < WINDOW for p in result.pending)
    estimated = sum(len(r.people) for r in results)
    assert estimated >= 3 * (FRAMES - WINDOW)  # vtest has 3-5 people in view throughout
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
    assert max(max(tracks, default=0) for tracks in live_tracks) == WINDOW


def test_edge_padding_gives_estimates_after_eight_frames():
    pipeline = Pipeline(stand_in_config(warmup="edge_pad"))
    frames = video_frames(count=FRAMES_BEHIND + 2)
    results = [pipeline.process(frame, i / VTEST_FPS) for i, frame in enumerate(frames)]
    assert not results[FRAMES_BEHIND - 1].people
    first = results[FRAMES_BEHIND].people
    assert first and all(p.padded_frames == WINDOW - FRAMES_BEHIND - 1 for p in first)
    assert all(p.stamp == 0.0 for p in first)


@pytest.fixture(scope="module")
def photo_pipeline():
    return Pipeline(stand_in_config(detector=PoseTrackerConfig()))


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
    assert result.reset
    assert all(len(t.entries) == 1 for t in pipeline.buffers.tracks.values())
    assert list(pipeline.recent_stamps) == [0.0]


def test_missing_weights_are_refused_unless_stand_ins_are_allowed():
    with pytest.raises(ValueError, match="allow_untrained_pmce"):
        Pipeline(PipelineConfig(features=FeatureExtractorConfig(allow_untrained=True)))
    with pytest.raises(ValueError, match="allow_untrained"):
        Pipeline(PipelineConfig(allow_untrained_pmce=True))
    with pytest.raises(ValueError, match="warmup"):
        Pipeline(stand_in_config(warmup="sometimes"))


def test_id_switch_counter():
    box = np.array([0, 0, 10, 20], np.float32)
    moved = box + [100, 0, 100, 0]
    assert count_id_switches([{1: box}, {}, {1: box}], 10) == 0  # same id back after a gap
    assert count_id_switches([{1: box}, {}, {2: box + 2}], 10) == 1  # new id where 1 was lost
    assert count_id_switches([{1: box}, {1: box, 2: moved}], 10) == 0  # someone else arrives


def test_stand_in_networks_are_identical_in_every_process():
    import torch

    from pmce_ros.body.body_model import synthetic_body_model
    from pmce_ros.pipeline import build_pmce

    body = synthetic_body_model()
    first, _, _ = build_pmce(stand_in_config(), body, "cpu")
    torch.rand(100)  # the caller's random state must not matter
    second, _, _ = build_pmce(stand_in_config(), body, "cpu")
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name


def test_demo_weights_are_small_labelled_and_fit_the_pipeline():
    import dataclasses

    from pmce_ros.assets import DEMO_PMCE_WEIGHTS
    from pmce_ros.body.body_model import synthetic_body_model
    from pmce_ros.model.checkpoint import read_checkpoint_file
    from pmce_ros.pipeline import build_pmce

    assert DEMO_PMCE_WEIGHTS.stat().st_size <= 30_000_000
    label = read_checkpoint_file(DEMO_PMCE_WEIGHTS)["label"]
    assert "trained on synthetic motion, not the authors' weights" in label
    body = synthetic_body_model()
    model, name, stand_in = build_pmce(
        stand_in_config(pmce_weights=DEMO_PMCE_WEIGHTS, allow_untrained_pmce=False), body, "cpu"
    )
    assert sum(p.numel() for p in model.parameters()) <= 15_000_000
    assert stand_in and label in name and model.config.num_frames == WINDOW
    smpl = dataclasses.replace(body, name="SMPL (SMPL_NEUTRAL.pkl)", stand_in=False)
    with pytest.raises(ValueError, match="vertices do not correspond"):
        build_pmce(stand_in_config(pmce_weights=DEMO_PMCE_WEIGHTS), smpl, "cpu")


def test_compiled_pipeline_compiles_at_configure_only_and_matches_the_faithful_one(photo_pipeline):
    from torch._dynamo.utils import counters

    from pmce_ros.model import PMCEConfig

    faithful = photo_pipeline
    faithful.reset()
    compiled = Pipeline(
        stand_in_config(detector=PoseTrackerConfig(), compile_max_batch=1, pmce=PMCEConfig(num_joints=19, fast=True))
    )
    assert compiled.execution.startswith("compiled for batches 1 (") and faithful.execution == "eager"
    graphs = counters["stats"]["unique_graphs"]
    assert graphs >= 1
    bus = read_image(BUS)
    for frame in range(WINDOW):
        expected, result = faithful.process(bus, frame / 10), compiled.process(bus, frame / 10)
    assert counters["stats"]["unique_graphs"] == graphs  # 4 people ran as 4 calls of the batch-1 graph
    assert len(result.people) == len(expected.people) == 4
    for person, reference in zip(result.people, expected.people):
        np.testing.assert_allclose(person.mesh, reference.mesh, atol=1e-5)


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


def test_a_failed_pmce_call_leaves_the_frames_tags_in_step(photo_pipeline, monkeypatch):
    """Each frame's tag comes back with the estimates that describe it, also after a frame whose PMCE call
    raised (the node once looked headers up by stamp in a side list, which a failed frame left out of step)."""
    pipeline = photo_pipeline
    pipeline.reset()
    bus, model = read_image(BUS), pipeline.run_pmce
    described = {}
    for frame in range(WINDOW + 3):
        if frame == WINDOW:
            monkeypatch.setattr(pipeline, "run_pmce", lambda *inputs: (_ for _ in ()).throw(RuntimeError("stall")))
            with pytest.raises(RuntimeError):
                pipeline.process(bus, frame / 10, tag=f"header {frame}")
            monkeypatch.setattr(pipeline, "run_pmce", model)
            continue
        result = pipeline.process(bus, frame / 10, tag=f"header {frame}")
        if result.described_stamp is not None:
            described[result.described_tag] = result.described_stamp
    assert described and all(stamp == pytest.approx(int(tag.split()[1]) / 10) for tag, stamp in described.items())
