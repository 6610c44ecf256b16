"""Losses by hand, configurations, and the trainer / evaluator end to end on a small synthetic set."""

import csv
import dataclasses
import math

import numpy as np
import pytest
import torch

from pmce_ros.model import PMCE, load_pmce_weights
from pmce_ros.model.checkpoint import CONFIG_KEY, checkpoint_config, read_checkpoint_file
from pmce_ros.training.cli import eval_main, train_main
from pmce_ros.training.config import load_config
from pmce_ros.training.losses import LossWeights, PMCELoss, edge_loss, masked_l1, normal_loss
from pmce_ros.training.trainer import BEST, LAST, LOG, Trainer, export_inference_weights

# The shipped weights score about 290 mm MPJPE on the held-out clips (README "Training"); untrained, over 1000.
DEMO_MPJPE_LIMIT_MM = 400
TRIANGLE = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
FACE = torch.tensor([[0, 1, 2]])


def test_edge_loss_by_hand():
    assert edge_loss(TRIANGLE + 5.0, TRIANGLE, FACE).item() == pytest.approx(0.0)
    # Doubling the triangle lengthens its edges 1, 1 and sqrt(2) by as much.
    assert edge_loss(2 * TRIANGLE, TRIANGLE, FACE).item() == pytest.approx((2 + math.sqrt(2)) / 3)


def test_normal_loss_by_hand():
    assert normal_loss(2 * TRIANGLE + 1.0, TRIANGLE, FACE).item() == pytest.approx(0.0, abs=1e-7)
    # Tilted up about the x axis by 90 degrees: edge 0->2 lies along the target's normal, the others across it.
    tilted = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    assert normal_loss(tilted, TRIANGLE, FACE).item() == pytest.approx((0 + 1 + 1 / math.sqrt(2)) / 3)


def test_masked_l1_averages_over_every_element():
    pred, target = torch.ones(2, 3, 3), torch.zeros(2, 3, 3)
    valid = torch.tensor([[[1.0], [0.0], [0.0]], [[1.0], [1.0], [1.0]]])
    assert masked_l1(pred, target, valid).item() == pytest.approx(4 / 6)


def test_edge_term_counts_after_its_epoch_and_weights_apply():
    faces = np.array([[0, 1, 2]])
    regressor = np.full((17, 3), 1 / 3, np.float32)
    loss = PMCELoss(faces, regressor, LossWeights(edge_start_epoch=2))
    mesh = 2 * TRIANGLE
    outputs = (mesh, torch.zeros(1, 19, 3), torch.zeros(1, 19, 3))
    batch = {
        "mesh": TRIANGLE,
        "mesh_valid": torch.ones(1, 1),
        "h36m_joints": torch.zeros(1, 17, 3),
        "h36m_valid": torch.ones(1, 17, 1),
        "joints": torch.full((1, 19, 3), 100.0),
        "joints_valid": torch.ones(1, 19, 1),
    }
    total, terms = loss(outputs, batch, epoch=2)
    assert "edge" not in terms
    assert terms["vertex"] == pytest.approx((TRIANGLE.abs().sum() / 9).item())
    assert terms["lifter_joints"] == pytest.approx(1e-3 * 100) and terms["decoder_joints"] == pytest.approx(0.1)
    _, later = loss(outputs, batch, epoch=3)
    assert later["edge"] == pytest.approx(20 * (2 + math.sqrt(2)) / 3)
    assert total.item() == pytest.approx(sum(terms.values()))


def test_the_bone_term_measures_bone_lengths_not_positions():
    """A mesh whose Human3.6M joints are the target's turned about the pelvis has no bone error; one whose arms
    are a third short has."""
    regressor = np.eye(17, dtype=np.float32)  # a 17-vertex mesh whose vertices are its joints
    loss = PMCELoss(np.array([[0, 1, 2]]), regressor, LossWeights(bone=2e-3))
    target = torch.randn(1, 17, 3) * 0.3
    turned = target @ torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]).T
    batch = {
        "mesh": target,
        "mesh_valid": torch.ones(1, 1),
        "h36m_joints": target * 1000,
        "h36m_valid": torch.ones(1, 17, 1),
        "joints": torch.zeros(1, 19, 3),
        "joints_valid": torch.ones(1, 19, 1),
    }
    _, terms = loss((turned, torch.zeros(1, 19, 3), torch.zeros(1, 19, 3)), batch, epoch=1)
    assert terms["bones"] == pytest.approx(0.0, abs=1e-4) and terms["mesh_joints"] > 0.01
    short = target.clone()
    for elbow, wrist in ((12, 13), (15, 16)):
        short[:, wrist] = short[:, elbow] + (target[:, wrist] - target[:, elbow]) * 2 / 3
    _, terms = loss((short, torch.zeros(1, 19, 3), torch.zeros(1, 19, 3)), batch, epoch=1)
    forearms = [(target[0, w] - target[0, e]).norm().item() * 1000 / 3 for e, w in ((12, 13), (15, 16))]
    assert terms["bones"] == pytest.approx(2e-3 * sum(forearms) / 16, rel=1e-4)
    assert (
        "bones"
        not in PMCELoss(np.array([[0, 1, 2]]), regressor)(
            (short, torch.zeros(1, 19, 3), torch.zeros(1, 19, 3)), batch, epoch=1
        )[1]
    )


def test_variant_configs_change_only_what_they_name():
    base = load_config("config/training/synthetic_pmce.yaml")
    single = load_config("config/training/synthetic_single_frame.yaml")
    only_pose = load_config("config/training/synthetic_only_pose.yaml")
    assert single.model == dataclasses.replace(base.model, num_frames=1)
    assert only_pose.model == base.model and not only_pose.image_features and base.image_features
    assert single.optim == base.optim and single.data == base.data
    # The pose-only default, its single-frame baseline (held to the same training) and its causal variant, which
    # starts from the shipped centered weights so that it runs from a clean checkout.
    pose_only = load_config("config/training/pose_only.yaml")
    pose_only_single = load_config("config/training/pose_only_single_frame.yaml")
    causal = load_config("config/training/pose_only_causal.yaml")
    assert pose_only_single.model == dataclasses.replace(pose_only.model, num_frames=1)
    assert (pose_only_single.stage1, pose_only_single.optim) == (pose_only.stage1, pose_only.optim)
    assert pose_only_single.data == pose_only.data
    assert causal.model == dataclasses.replace(pose_only.model, causal=True) and causal.init_weights.is_file()
    # The default weights' recipe: the Anny causal model on real capture, with the bone term; nothing else moved.
    anny_causal = load_config("config/training/pose_only_anny_causal.yaml")
    capture = load_config("config/training/pose_only_anny_capture_causal.yaml")
    assert capture.model == anny_causal.model and capture.body == anny_causal.body and capture.init_weights.is_file()
    assert capture.data.capture_set is not None and capture.losses.bone > 0 and anny_causal.losses.bone == 0
    assert capture.data.synthetic == anny_causal.data.synthetic
    # The authors' recipes.
    pw3d = load_config("config/training/authors_3dpw_mesh.yaml")
    assert (
        pw3d.optim.lr,
        pw3d.optim.milestones,
        pw3d.optim.gamma,
        pw3d.optim.epochs,
        pw3d.optim.batch_size,
        pw3d.losses.edge_start_epoch,
    ) == (5e-5, (2, 4, 6, 8, 10, 12, 15), 0.9, 20, 32, 2)
    h36m = load_config("config/training/authors_h36m_mesh.yaml")
    assert (
        h36m.optim.lr,
        h36m.optim.milestones,
        h36m.optim.epochs,
        h36m.losses.edge_start_epoch,
        h36m.model.num_joints,
    ) == (1e-4, (10, 20), 30, 10, 17)
    pose = load_config("config/training/authors_3dpw_pose.yaml")
    assert (
        pose.stage,
        pose.optim.lr,
        pose.optim.milestones,
        pose.optim.gamma,
        pose.optim.epochs,
        pose.optim.batch_size,
    ) == ("pose", 5e-5, (10, 30, 50), 0.8, 60, 64)


def test_config_errors_name_the_key(tmp_path):
    (tmp_path / "bad.yaml").write_text("optim: {epochs: 2, learning_rate: 0.1}\n")
    with pytest.raises(ValueError, match="unknown keys \\['learning_rate'\\]"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "stage.yaml").write_text("stage: lifter\n")
    with pytest.raises(ValueError, match="stage must be one of"):
        load_config(tmp_path / "stage.yaml")


TINY = """
stage: {stage}
output: {output}
model: {{lifter_dim: 32, lifter_heads: 4, gru_hidden: 16, upsample_kernel: 1, fast: true}}
data:
  cache: {cache}
  synthetic: {{clips: [run, walk], test_clips: [run], train_renderings: 1, test_renderings: 1}}
optim: {{epochs: {epochs}, batch_size: 8, lr: 1.0e-3, milestones: [1], max_steps_per_epoch: 2, eval_every: 1}}
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("training")

    def write(name, stage="mesh", epochs=2):
        path = root / f"{name}.yaml"
        path.write_text(TINY.format(stage=stage, output=root / name, cache=root / "data", epochs=epochs))
        return path

    return write


def test_training_writes_authors_format_checkpoints_and_resumes(tiny, capsys):
    config_path = tiny("mesh")
    assert train_main([str(config_path)]) == 0
    table = capsys.readouterr().out
    assert "| MPJPE | PA-MPJPE | PVE | ACCEL |" in table
    config = load_config(config_path)
    content = read_checkpoint_file(config.output / LAST)
    assert {"epoch", "model_state_dict", "optim_state_dict", "scheduler_state_dict", "train_log", "test_log"} <= set(
        content
    )
    assert content["epoch"] == 2 and len(content["train_log"]) == 2 and len(content["test_log"]["mpjpe"]) == 2
    assert content["scheduler_state_dict"]["last_epoch"] == 2
    assert checkpoint_config(config.output / LAST) == config.model
    model = PMCE(config.model, np.zeros(431, int))
    assert load_pmce_weights(model, config.output / LAST) == "full"
    assert (config.output / BEST).is_file()
    with (config.output / LOG).open() as file:
        rows = list(csv.DictReader(file))
    assert [r["epoch"] for r in rows] == ["1", "2"] and float(rows[1]["lr"]) == pytest.approx(0.9e-3)
    assert rows[0]["loss_edge"] == "" and float(rows[1]["mpjpe"]) > 0

    longer = dataclasses.replace(config, optim=dataclasses.replace(config.optim, epochs=3))
    trainer = Trainer(longer, resume=True)
    assert trainer.start_epoch == 3 and trainer.scheduler.last_epoch == 2
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    torch.testing.assert_close(
        before,
        PMCE(config.model, np.zeros(431, int)).state_dict() | {k: v for k, v in content["model_state_dict"].items()},
    )
    trainer.fit()
    assert len(read_checkpoint_file(config.output / LAST)["train_log"]) == 3


def test_stage_one_saves_the_lifter_alone_and_stage_two_starts_from_it(tiny):
    config = load_config(tiny("pose", stage="pose", epochs=1))
    Trainer(config).fit()
    state = read_checkpoint_file(config.output / LAST)["model_state_dict"]
    assert not any(k.startswith(("pose_lifter.", "pose_mesh_coevo.")) for k in state)
    model = PMCE(config.model, np.zeros(431, int))
    assert load_pmce_weights(model, config.output / LAST) == "pose_lifter"
    mesh = dataclasses.replace(load_config(tiny("from_pose")), pose_checkpoint=config.output / LAST)
    trainer = Trainer(mesh)
    torch.testing.assert_close(trainer.model.pose_lifter.state_dict(), state)


def test_one_command_runs_both_stages(tiny, capsys):
    path = tiny("both", epochs=1)
    path.write_text(path.read_text() + "stage1: {epochs: 1, batch_size: 8, max_steps_per_epoch: 2}\n")
    config = load_config(path)
    assert train_main([str(path)]) == 0
    assert "| both |" in capsys.readouterr().out
    stage1 = read_checkpoint_file(config.output / "stage1" / LAST)
    assert stage1["stage"] == "pose" and read_checkpoint_file(config.output / LAST)["stage"] == "mesh"
    path.write_text(path.read_text().replace("stage: mesh", "stage: pose"))
    with pytest.raises(ValueError, match="stage1 goes with stage 'mesh'"):
        load_config(path)


def test_the_losses_fall_on_a_fixed_batch(tiny):
    trainer = Trainer(load_config(tiny("fall")))
    batch = next(iter(torch.utils.data.DataLoader(trainer.train_set, batch_size=8)))
    optimizer = torch.optim.Adam(trainer.model.parameters(), lr=1e-3)
    losses = []
    for _ in range(25):
        loss, _ = trainer._step(batch, epoch=1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_eval_command_reads_checkpoints_and_refuses_bad_files(tiny, capsys, tmp_path):
    config_path = tiny("mesh")
    output = load_config(config_path).output
    if not (output / LAST).is_file():
        Trainer(load_config(config_path)).fit()
    capsys.readouterr()
    assert eval_main([str(config_path), str(output / LAST)]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1]
    values = [float(v) for v in row.strip("|").split("|")[1:5]]
    assert all(v > 0 for v in values)
    (tmp_path / "junk.pth.tar").write_bytes(b"not a checkpoint")
    assert eval_main([str(config_path), str(tmp_path / "junk.pth.tar")]) == 2
    assert capsys.readouterr().err.startswith(f"pmce-eval: {tmp_path / 'junk.pth.tar'}")


def test_exported_weights_are_half_size_and_load(tiny, tmp_path):
    config = load_config(tiny("mesh"))
    if not (config.output / LAST).is_file():
        Trainer(config).fit()
    path = export_inference_weights(config.output / LAST, tmp_path / "demo.pt")
    content = read_checkpoint_file(path)
    assert set(content) == {"model_state_dict", CONFIG_KEY, "body", "label", "epoch", "frame_intervals_s", "recipe"}
    assert content["recipe"]["label"] == content["label"] and content["recipe"]["stage"] == "mesh"
    assert all(v.dtype == torch.float16 for v in content["model_state_dict"].values() if v.is_floating_point())
    assert checkpoint_config(path) == dataclasses.replace(config.model, fast=False)
    model = PMCE(checkpoint_config(path), np.zeros(431, int))
    assert load_pmce_weights(model, path) == "full"
    unevaluated = tmp_path / "unevaluated.pt"
    assert eval_main([str(tiny("mesh")), str(config.output / LAST), "--export", str(unevaluated), "--no-metrics"]) == 0
    assert "test_metrics" not in read_checkpoint_file(unevaluated) and "recipe" in read_checkpoint_file(unevaluated)


def test_demo_weights_estimate_held_out_motion_far_better_than_untrained():
    """The shipped weights on a fresh rendering of a clip they never saw (run): a trained model, not a stand-in
    that merely loads."""
    from pmce_ros.assets import DEMO_PMCE_WEIGHTS
    from pmce_ros.body.body_model import load_body
    from pmce_ros.perception.features import FeatureExtractor, FeatureExtractorConfig
    from pmce_ros.training.config import TrainConfig
    from pmce_ros.training.evaluate import evaluate
    from pmce_ros.training.sequences import WindowDataset
    from pmce_ros.training.synthetic_data import SyntheticDataConfig, build_split, sequence_from_record

    body = load_body()
    data = SyntheticDataConfig(clips=("run",), test_clips=("run",), test_renderings=1, seed=7)
    records = build_split(data, "test", body, FeatureExtractor(FeatureExtractorConfig(allow_untrained=True)))
    dataset = WindowDataset([sequence_from_record(r, body) for r in records], 16, body.h36m_regressor)
    architecture = checkpoint_config(DEMO_PMCE_WEIGHTS)
    trained = PMCE(architecture, body.coarse.vertex_joint_index, body.coarse.vertices)
    untrained = PMCE(architecture, body.coarse.vertex_joint_index, body.coarse.vertices)
    load_pmce_weights(trained, DEMO_PMCE_WEIGHTS)
    untrained.load_state_dict({k: v for k, v in trained.state_dict().items() if k.startswith("feature_")}, strict=False)
    ours, baseline = (evaluate(m, dataset, body, TrainConfig()) for m in (trained, untrained))
    assert ours["mpjpe"] < 0.3 * baseline["mpjpe"] and ours["pve"] < 0.3 * baseline["pve"]
    assert ours["mpjpe"] < DEMO_MPJPE_LIMIT_MM
