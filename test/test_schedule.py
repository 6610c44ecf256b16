"""Frame scheduling without a detector or network: which frame each processed frame describes, the window's
spacing and sample times, resets on stamp jumps, and refused stamps."""

import numpy as np
import pytest

from pmce_ros.pipeline import InvalidInput
from pmce_ros.pipeline.schedule import FrameSchedule

WINDOW, MIDDLE = 16, 8  # the authors' window and its described frame


def schedule(latency_mode="centered", intervals=(1 / 30, 0.2), evict_after_s=1.0) -> FrameSchedule:
    return FrameSchedule(WINDOW, MIDDLE, intervals, latency_mode, evict_after_s)


def feed(plan: FrameSchedule, stamps) -> list:
    """The frame described after each stamp (None when none is)."""
    described = []
    for stamp in stamps:
        plan.check(stamp)
        plan.add(stamp, f"tag {stamp:.3f}")
        interval, _ = plan.window_interval()
        described.append(plan.described_frame(interval))
    return described


def test_centered_describes_the_frame_seven_intervals_back_once_each():
    plan = schedule()
    described = feed(plan, np.arange(30) / 30)
    assert described[:7] == [None] * 7
    numbers = [frame.number for frame in described[7:]]
    assert numbers == list(range(23))  # every frame once, in order, 7 behind the newest
    assert described[-1].tag == f"tag {22 / 30:.3f}" and plan.intervals_behind == 7


def test_causal_describes_the_newest_frame():
    plan = schedule("causal")
    described = feed(plan, np.arange(5) / 30)
    assert [frame.number for frame in described] == [0, 1, 2, 3, 4] and plan.intervals_behind == 0


def test_a_growing_interval_never_describes_a_frame_twice():
    """Frames at 30 fps, then at 5 fps: the longer interval points the window's middle back at frames already
    described; those are skipped, not repeated."""
    plan = schedule()
    stamps = list(np.arange(20) / 30) + [19 / 30 + 0.2 * k for k in range(1, 10)]
    numbers = [frame.number for frame in feed(plan, stamps) if frame is not None]
    assert numbers == sorted(set(numbers))


def test_window_interval_follows_processing_but_not_below_training():
    plan = schedule()
    feed(plan, np.arange(10) / 60)  # a 60 fps camera: windows keep the trained 1/30 s
    assert plan.window_interval() == (pytest.approx(1 / 30), False)
    slow = schedule()
    feed(slow, np.arange(10) * 0.5)  # 2 Hz processing: beyond the longest trained 0.2 s
    interval, beyond = slow.window_interval()
    assert interval == pytest.approx(0.5) and beyond


def test_sample_times_are_spaced_by_the_interval_and_never_in_the_future():
    plan = schedule("causal")
    feed(plan, np.arange(20) / 30)
    times = plan.sample_times(19 / 30, 1 / 30)
    # causal with a centered model: the window's future half is the newest frame
    np.testing.assert_allclose(times[: MIDDLE + 1], (np.arange(MIDDLE + 1) + 11) / 30)
    assert (times[MIDDLE:] == pytest.approx(19 / 30)) and len(times) == WINDOW


def test_stamps_that_go_back_or_jump_ask_for_a_reset():
    plan = schedule()
    feed(plan, np.arange(5) / 30)
    assert plan.reset_reason(0.0) == "image stamps went backwards (bag loop?)"
    assert "jumped forward by 5.0 s" in plan.reset_reason(4 / 30 + 5.0)
    assert plan.reset_reason(5 / 30) is None
    plan.reset()
    assert plan.reset_reason(0.0) is None and not plan.recent_frames


def test_repeated_and_non_finite_stamps_are_refused():
    plan = schedule()
    feed(plan, [0.0])
    for stamp in (0.0, float("nan"), float("inf")):
        with pytest.raises(InvalidInput):
            plan.check(stamp)
