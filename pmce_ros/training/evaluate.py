"""Evaluation as the authors do it (pmce-reference.md, "Evaluation"), in millimetres.

Stage 2: joints regressed from the predicted mesh with the Human3.6M regressor, rooted at the pelvis, on the 14
evaluated joints (all 17 for MPI-INF-3DHP); PVE on meshes rooted at the SMPL pelvis; ACCEL per sequence, then the
sum over sequences divided by the number of frames. Stage 1: the same on the lifter's joints (input joint set,
rooted at the Human3.6M pelvis).
Every frame of every sequence is predicted from its own window (edges repeated).
"""

import numpy as np
import torch

from pmce_ros.training.metrics import (
    accel_error,
    h36m_eval_joints,
    mpjpe,
    pa_mpjpe,
    pve,
    root_relative,
    smpl_pelvis_rooted,
)
from pmce_ros.training.sequences import WindowDataset

METRICS = ("mpjpe", "pa_mpjpe", "pve", "accel")
EVAL_BATCH = 64
HEADLINE = "mpjpe"  # the metric that picks the best epoch


def _eval_joints(joints: np.ndarray, which: str) -> np.ndarray:
    """h36m14 / h36m17: Human3.6M joints rooted at their pelvis; lifter: the lifter's joints, already rooted at the
    Human3.6M pelvis like their targets."""
    if which == "h36m14":
        return h36m_eval_joints(joints)
    return root_relative(joints, joints[:, :1]) if which == "h36m17" else joints


@torch.no_grad()
def predict(model, dataset: WindowDataset, stage: str) -> dict[str, np.ndarray]:
    """Predictions and targets for every sample, in dataset order: joints (mm) and, for stage 2, mesh (mm)."""
    model.eval()
    loader = torch.utils.data.DataLoader(dataset, batch_size=EVAL_BATCH, shuffle=False)
    parts: dict[str, list] = {}
    regressor = torch.as_tensor(dataset.h36m_regressor)
    for batch in loader:
        if stage == "pose":
            out = {
                "pred_joints": model.pose_lifter(batch["pose2d"], model.prepare_features(batch["features"])),
                "gt_joints": batch["joints"],
                "valid": batch["joints_valid"][:, 0, 0],
            }
        else:
            mesh = model(batch["pose2d"], batch["features"])[0] * 1000
            out = {
                "pred_joints": torch.einsum("jv,bvc->bjc", regressor, mesh),
                "gt_joints": batch["h36m_joints"],
                "valid": batch["h36m_valid"][:, 0, 0],
                "pred_mesh": mesh,
                "gt_mesh": batch["mesh"] * 1000,
                "mesh_valid": batch["mesh_valid"][:, 0],
            }
        for name, value in out.items():
            parts.setdefault(name, []).append(value.numpy())
    return {name: np.concatenate(values) for name, values in parts.items()}


def evaluate(model, dataset: WindowDataset, body, config) -> dict[str, float]:
    """The metric table of one split: mean MPJPE, PA-MPJPE, PVE (when the split has meshes), ACCEL, in mm."""
    out = predict(model, dataset, config.stage)
    which = "lifter" if config.stage == "pose" else config.data.eval_joints
    pred, gt = _eval_joints(out["pred_joints"], which), _eval_joints(out["gt_joints"], which)
    valid = out["valid"] > 0
    if not valid.any():
        raise ValueError("the evaluation split has no 3D joint targets")
    metrics = {
        "mpjpe": float(mpjpe(pred[valid], gt[valid]).mean()),
        "pa_mpjpe": float(pa_mpjpe(pred[valid], gt[valid]).mean()),
    }
    if "pred_mesh" in out and (out["mesh_valid"] > 0).any():
        has_mesh = out["mesh_valid"] > 0
        metrics["pve"] = float(
            pve(
                smpl_pelvis_rooted(out["pred_mesh"][has_mesh], body.smpl_regressor),
                smpl_pelvis_rooted(out["gt_mesh"][has_mesh], body.smpl_regressor),
            ).mean()
        )
    accel_sum, frames, start = 0.0, 0, 0
    for sequence in dataset.sequences:
        end = start + len(sequence)
        if valid[start:end].all():
            accel_sum += float(accel_error(pred[start:end], gt[start:end]).sum())
            frames += end - start
        start = end
    if frames:
        metrics["accel"] = accel_sum / frames
    return metrics


def format_table(rows: dict[str, dict[str, float]], extra: dict[str, dict[str, str]] | None = None) -> str:
    """A Markdown table: one row per model, the metrics in mm (mm/frame^2 for ACCEL), then any extra columns."""
    extra = extra or {}
    extra_names = list(dict.fromkeys(k for values in extra.values() for k in values))
    header = ["model", "MPJPE", "PA-MPJPE", "PVE", "ACCEL"] + extra_names
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, metrics in rows.items():
        cells = [f"{metrics[m]:.1f}" if m in metrics else "-" for m in METRICS]
        cells += [extra.get(name, {}).get(k, "") for k in extra_names]
        lines.append("| " + " | ".join([name] + cells) + " |")
    return "\n".join(lines)
