"""PMCE's training losses as the authors combine them (pmce-reference.md, "Training").

Mesh terms work in metres, joint terms in millimetres (hence their 1e-3 weight). Masked L1 terms zero both
prediction and target where the target is missing and still average over every element, as the release does.
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from pmce_ros.body.joint_sets import H36M17

# Names of the logged terms ("total" is their sum).
LOSS_TERMS = ("vertex", "normal", "edge", "mesh_joints", "decoder_joints", "lifter_joints", "bones", "total")


@dataclass(frozen=True)
class LossWeights:
    vertex: float = 1.0
    normal: float = 0.1
    edge: float = 20.0
    joint: float = 1e-3  # each of: joints regressed from the mesh, decoder joints, lifter joints
    edge_start_epoch: int = 2  # the edge term counts from the epoch after this one (epochs count from 1)
    # Ours, not the release's (0 keeps its recipe): L1 of the 16 Human3.6M bone lengths of the mesh's joints, mm.
    # Vertex and joint L1 terms are met, when a limb's direction is uncertain, by a limb between the likely
    # directions: a short one. A length term makes the network commit to one.
    bone: float = 0.0


def masked_l1(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred * valid, target * valid)


def bone_lengths(joints: torch.Tensor) -> torch.Tensor:
    """(B, 17, 3) Human3.6M joints -> (B, 16) bone lengths."""
    parents, children = zip(*H36M17.edges)
    return (joints[:, list(children)] - joints[:, list(parents)]).norm(dim=-1)


def _face_edges(vertices: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, ...]:
    a, b, c = (vertices[:, faces[:, k]] for k in range(3))
    return b - a, c - a, c - b


def normal_loss(pred: torch.Tensor, target: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Mean |cos| between each predicted triangle edge and the target triangle's normal."""
    target_ab, target_ac, _ = _face_edges(target, faces)
    normal = F.normalize(torch.cross(F.normalize(target_ab, dim=2), F.normalize(target_ac, dim=2), dim=2), dim=2)
    cosines = [torch.abs((F.normalize(edge, dim=2) * normal).sum(2)) for edge in _face_edges(pred, faces)]
    return torch.stack(cosines, dim=2).mean()


def edge_loss(pred: torch.Tensor, target: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the three edge lengths of every triangle."""
    differences = [
        torch.abs(p.norm(dim=2) - t.norm(dim=2)) for p, t in zip(_face_edges(pred, faces), _face_edges(target, faces))
    ]
    return torch.stack(differences, dim=2).mean()


class PMCELoss(torch.nn.Module):
    """Total loss of stage 2 (the whole model) and its named terms, for logging."""

    def __init__(self, faces: np.ndarray, h36m_regressor: np.ndarray, weights: LossWeights = LossWeights()):
        super().__init__()
        self.weights = weights
        self.register_buffer("faces", torch.as_tensor(np.asarray(faces, dtype=np.int64)))
        self.register_buffer("h36m_regressor", torch.as_tensor(np.asarray(h36m_regressor, dtype=np.float32)))

    def forward(
        self, outputs: tuple[torch.Tensor, ...], batch: dict[str, torch.Tensor], epoch: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        mesh, joints, pose3d = outputs
        w = self.weights
        mesh_valid = batch["mesh_valid"][:, :, None]
        mesh_joints_mm = torch.einsum("jv,bvc->bjc", self.h36m_regressor, mesh * 1000)
        terms = {
            "vertex": w.vertex * masked_l1(mesh, batch["mesh"], mesh_valid),
            "normal": w.normal * normal_loss(mesh * mesh_valid, batch["mesh"] * mesh_valid, self.faces),
            "mesh_joints": w.joint * masked_l1(mesh_joints_mm, batch["h36m_joints"], batch["h36m_valid"]),
            "decoder_joints": w.joint * masked_l1(joints * 1000, batch["joints"], batch["joints_valid"]),
            "lifter_joints": w.joint * masked_l1(pose3d, batch["joints"], batch["joints_valid"]),
        }
        if w.bone:
            valid = batch["h36m_valid"][:, :, 0]
            parents, children = zip(*H36M17.edges)
            bone_valid = valid[:, list(parents)] * valid[:, list(children)]
            terms["bones"] = w.bone * masked_l1(
                bone_lengths(mesh_joints_mm), bone_lengths(batch["h36m_joints"]), bone_valid
            )
        if epoch > w.edge_start_epoch:
            terms["edge"] = w.edge * edge_loss(mesh * mesh_valid, batch["mesh"] * mesh_valid, self.faces)
        total = sum(terms.values())
        return total, {name: float(value.detach()) for name, value in terms.items()}


def lifter_loss(pose3d: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Stage 1: L1 of the lifter's joints (mm) against the input joint set's targets."""
    return masked_l1(pose3d, batch["joints"], batch["joints_valid"])
