"""Reading the authors' checkpoints (and ours, which use the same format) without executing pickled code.

Accepted files (torch.save): the release's training checkpoint, a dict whose `model_state_dict` holds the
weights (other entries such as optimizer state are ignored); a dict with the weights under `state_dict` or
`model` (SPIN); or a bare state dict. Stage-1 pose checkpoints hold
the lifter's keys without the `pose_lifter.` prefix and load into the lifter alone.
"""

import pickle
from pathlib import Path

import torch
from torch import nn

from pmce_ros.model.config import PMCEConfig

MAX_LISTED = 8
# Beside the authors' keys, our checkpoints record the architecture (PMCEConfig fields) under this key.
CONFIG_KEY = "pmce_config"
# Our checkpoints record the window spacings they were trained on, (shortest, longest) in seconds; the authors'
# files record none: the release trains and evaluates on 30 fps windows.
FRAME_INTERVALS_KEY = "frame_intervals_s"
AUTHORS_FRAME_INTERVAL_S = 1 / 30
# Where training checkpoints keep their weights: the PMCE release, common trainers, SPIN.
STATE_DICT_CONTAINERS = ("model_state_dict", "state_dict", "model")


class CheckpointMismatchError(ValueError):
    """The file's parameters do not match the model: names missing, unexpected, or of another shape."""


def read_checkpoint_file(path: str | Path):
    """Whatever a torch checkpoint file holds, loaded with weights_only=True onto the CPU."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f"{path} holds objects other than tensors and plain containers; refusing to unpickle it ({error})"
        ) from None
    except (RuntimeError, EOFError) as error:
        raise ValueError(f"{path} is not a readable torch checkpoint: {error}") from None


def recorded_config(content) -> PMCEConfig | None:
    """The architecture a checkpoint of ours records (`pmce_config`); None for the authors' files, which are
    all the default architecture."""
    recorded = content.get(CONFIG_KEY) if isinstance(content, dict) else None
    if recorded is None:
        return None
    try:
        return PMCEConfig(**recorded)
    except TypeError as error:
        raise ValueError(f"unreadable {CONFIG_KEY} in checkpoint ({error})") from None


def checkpoint_config(path: str | Path) -> PMCEConfig | None:
    return recorded_config(read_checkpoint_file(path))


def load_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict inside a checkpoint file, loaded with weights_only=True onto the CPU."""
    return state_dict_from(read_checkpoint_file(path), path)


def state_dict_from(content, path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict inside what a checkpoint file held (`path` names it in errors)."""
    for container in STATE_DICT_CONTAINERS:
        if isinstance(content, dict) and isinstance(content.get(container), dict):
            content = content[container]
            break
    if not isinstance(content, dict) or not all(isinstance(v, torch.Tensor) for v in content.values()):
        raise ValueError(
            f"{path} holds no state dict (expected a dict of tensors, or one under one of {STATE_DICT_CONTAINERS})"
        )
    # Checkpoints saved from nn.DataParallel prefix every name with 'module.'.
    if content and all(k.startswith("module.") for k in content):
        content = {k[len("module.") :]: v for k, v in content.items()}
    return content


def _differences(module: nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    reshaped = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    lines = []
    for label, names in (("missing", missing), ("unexpected", unexpected)):
        if names:
            listed = ", ".join(names[:MAX_LISTED]) + (f", ... ({len(names)} in all)" if len(names) > MAX_LISTED else "")
            lines.append(f"{label} keys: {listed}")
    for name in reshaped[:MAX_LISTED]:
        lines.append(f"shape of {name}: file {tuple(state[name].shape)}, model {tuple(expected[name].shape)}")
    if len(reshaped) > MAX_LISTED:
        lines.append(f"... {len(reshaped)} shape mismatches in all")
    return lines


def load_pmce_weights(model: nn.Module, path: str | Path, content=None) -> str:
    """Loads a full PMCE checkpoint (strict) or a stage-1 pose checkpoint into model.pose_lifter (strict).

    `content`: what read_checkpoint_file(path) returned, when the caller has read the file already.
    Returns "full" or "pose_lifter"; raises CheckpointMismatchError naming the differing keys and shapes.
    """
    state = state_dict_from(read_checkpoint_file(path) if content is None else content, path)
    is_stage1 = not any(k.startswith(("pose_lifter.", "pose_mesh_coevo.")) for k in state)
    target = model.pose_lifter if is_stage1 else model
    differences = _differences(target, state)
    if differences:
        what = "the pose lifter (stage-1 checkpoint)" if is_stage1 else "PMCE"
        raise CheckpointMismatchError(
            f"{path} does not fit {what} ({getattr(model, 'config', '')}):\n  " + "\n  ".join(differences)
        )
    target.load_state_dict(state, strict=True)
    return "pose_lifter" if is_stage1 else "full"
