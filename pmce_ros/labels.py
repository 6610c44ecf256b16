"""Sentences more than one output says, written once: what a stand-in is, and how far an estimate lags."""

STAND_IN_WARNING = "STAND-IN weights: the meshes are not measurements of these people"
STAND_IN_MESH_COMMENT = "STAND-IN weights: this mesh is not a measurement of the person"
STAND_IN_SUFFIX = " (stand-in)"  # after a person's id in markers and renders
UNTRAINED_PMCE = "untrained PMCE (stand-in, random weights)"


def window_lag(intervals_behind: int) -> str:
    """How an estimate's latency relates to its window, for summaries."""
    if not intervals_behind:
        return "causal: the newest frame is described"
    return f"includes the window's lag of {intervals_behind} intervals"
