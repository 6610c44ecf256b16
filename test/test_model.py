"""The PMCE network: architecture, checkpoint compatibility, fast path, compiled execution."""

import pickle

import numpy as np
import pytest
import torch

from pmce_ros.model import PMCE, CheckpointMismatchError, PMCEConfig, load_checkpoint, load_pmce_weights
from pmce_ros.model.compiled import CompiledPMCE, chunk_plan, compiled_sizes
from pmce_ros.model.layers import AdaLayerNorm
from pmce_ros.pipeline.openvino_pmce import OpenVINOPMCE

KEY_LIST = "test/data/pmce_state_dict_keys_J19.txt"


def make_model(num_joints=19, seed=0, **config) -> PMCE:
    torch.manual_seed(seed)
    index = torch.arange(431) % num_joints
    model = PMCE(PMCEConfig(num_joints=num_joints, **config), vertex_joint_index=index).eval()
    # Random, non-trivial values everywhere (the zero-initialised embeddings too).
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return model


def inputs(batch=2, num_joints=19, seed=3):
    generator = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, 16, num_joints, 2, generator=generator) * 0.5,
        torch.relu(torch.randn(batch, 16, 2048, generator=generator)),
    )


@pytest.fixture(scope="module")
def model():
    return make_model()


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_the_release():
    assert count(make_model(19)) == 103_066_416
    assert count(make_model(19).pose_lifter) == 3_699_220
    assert count(make_model(17)) == 103_064_752


def test_state_dict_names_and_shapes_match_the_release(model):
    expected = {}
    for line in open(KEY_LIST).read().splitlines():
        name, shape = line.split("\t")
        expected[name] = tuple(int(d) for d in shape.strip("()").split(",") if d.strip())
    actual = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert actual == expected


def test_output_shapes_and_units(model):
    pose2d, features = inputs(batch=3)
    with torch.no_grad():
        mesh, joints, pose3d = model(pose2d, features)
    assert mesh.shape == (3, 6890, 3) and joints.shape == (3, 19, 3) and pose3d.shape == (3, 19, 3)
    # The lifter speaks millimetres and the decoder metres: the decoder is fed pose3d / 1000.
    with torch.no_grad():
        decoder_joints, decoder_mesh = model.pose_mesh_coevo(pose3d / 1000, features)
    torch.testing.assert_close(decoder_joints, joints, rtol=0, atol=0)
    torch.testing.assert_close(decoder_mesh, mesh, rtol=0, atol=0)


def test_batching_does_not_mix_people(model):
    pose2d, features = inputs(batch=4)
    with torch.no_grad():
        together = model(pose2d, features)
        alone = [model(pose2d[i : i + 1], features[i : i + 1]) for i in range(4)]
    for k in range(3):
        torch.testing.assert_close(together[k], torch.cat([a[k] for a in alone]), rtol=1e-5, atol=1e-5)


def test_wrong_input_shapes_are_refused(model):
    pose2d, features = inputs()
    with pytest.raises(ValueError, match="pose2d"):
        model(pose2d[:, :8], features)
    with pytest.raises(ValueError, match="img_feat"):
        model(pose2d, features[:, :, :512])


def test_vertex_joint_index_is_checked():
    with pytest.raises(ValueError, match="431"):
        PMCE(PMCEConfig(), vertex_joint_index=torch.zeros(430, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 19\)"):
        PMCE(PMCEConfig(), vertex_joint_index=torch.full((431,), 19))


def test_adaptive_layer_norm_follows_its_formula():
    torch.manual_seed(0)
    norm = AdaLayerNorm(64, 2048)
    x, feature = torch.randn(2, 5, 64), torch.randn(2, 2048)
    with torch.no_grad():
        out = norm(x, feature).numpy()
        gamma = (feature @ norm.mlp_gamma.weight.T + norm.mlp_gamma.bias).numpy()[:, None, :]
        beta = (feature @ norm.mlp_beta.weight.T + norm.mlp_beta.bias).numpy()[:, None, :]
    xs = x.numpy().astype(np.float64)
    mean = xs.mean(-1, keepdims=True)
    unbiased_std = np.sqrt(((xs - mean) ** 2).sum(-1, keepdims=True) / (64 - 1))
    np.testing.assert_allclose(out, gamma * (xs - mean) / (unbiased_std + 1e-6) + beta, rtol=1e-4, atol=1e-5)


def authors_checkpoint(model: PMCE, path, stage1=False):
    """A file in the release's layout: training state around the weights."""
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-5)
    weights = model.pose_lifter.state_dict() if stage1 else model.state_dict()
    torch.save(
        {
            "epoch": 7,
            "model_state_dict": weights,
            "optim_state_dict": optimizer.state_dict(),
            "scheduler_state_dict": torch.optim.lr_scheduler.MultiStepLR(optimizer, [2, 4]).state_dict(),
            "train_log": [1.5, 1.2],
            "test_log": [80.1, 75.3],
        },
        path,
    )
    return path


def test_authors_checkpoint_loads_strictly_and_reproduces_outputs(model, tmp_path):
    path = authors_checkpoint(model, tmp_path / "mesh_vis.pth.tar")
    fresh = make_model(seed=9)
    assert load_pmce_weights(fresh, path) == "full"
    pose2d, features = inputs()
    with torch.no_grad():
        for ours, theirs in zip(fresh(pose2d, features), model(pose2d, features)):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    # A bare state dict works too.
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    assert load_checkpoint(tmp_path / "bare.pt").keys() == model.state_dict().keys()


def test_stage1_pose_checkpoint_loads_into_the_lifter(model, tmp_path):
    path = authors_checkpoint(model, tmp_path / "pose_3dpw.pth.tar", stage1=True)
    fresh = make_model(seed=9)
    decoder_before = {k: v.clone() for k, v in fresh.pose_mesh_coevo.state_dict().items()}
    assert load_pmce_weights(fresh, path) == "pose_lifter"
    for name, value in fresh.pose_lifter.state_dict().items():
        assert torch.equal(value, model.pose_lifter.state_dict()[name])
    for name, value in fresh.pose_mesh_coevo.state_dict().items():
        assert torch.equal(value, decoder_before[name])


def test_mismatched_checkpoint_names_the_differences(tmp_path):
    path = authors_checkpoint(make_model(17), tmp_path / "mesh_h36m.pth.tar")
    with pytest.raises(CheckpointMismatchError) as error:
        load_pmce_weights(make_model(19), path)
    message = str(error.value)
    assert "pose_lifter.spatial_pos_embed: file (1, 17, 256), model (1, 19, 256)" in message
    assert "pose_mesh_coevo.coevoblock1.joint_pos_embed" in message

    state = make_model(19).state_dict()
    state["pose_lifter.extra.weight"] = torch.zeros(1)
    del state["pose_mesh_coevo.linear_cur3.bias"]
    torch.save({"model_state_dict": state}, tmp_path / "edited.pt")
    with pytest.raises(CheckpointMismatchError, match="missing keys: pose_mesh_coevo.linear_cur3.bias"):
        load_pmce_weights(make_model(19), tmp_path / "edited.pt")


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_checkpoint_with_arbitrary_objects_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pth.tar"
    with open(path, "wb") as f:
        pickle.dump({"model_state_dict": Payload()}, f)
    with pytest.raises(ValueError, match="refusing to unpickle|not a readable"):
        load_checkpoint(path)
    assert "must never run" not in capsys.readouterr().out
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError):
        load_checkpoint(tmp_path / "text.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_fast_path_matches_faithful_path(model):
    fast = make_model(fast=True)
    fast.load_state_dict(model.state_dict())
    pose2d, features = inputs(batch=3)
    with torch.no_grad():
        faithful = model(pose2d, features)
    with torch.inference_mode():
        fused = fast(pose2d, features)
    for a, b in zip(fused, faithful):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_batches_are_padded_to_a_compiled_size_or_chunked():
    assert compiled_sizes(1) == [1] and compiled_sizes(8) == [1, 2, 4, 8] and compiled_sizes(6) == [1, 2, 4, 6]
    assert chunk_plan(3, 8) == [(3, 4)]
    assert chunk_plan(8, 8) == [(8, 8)]
    assert chunk_plan(13, 6) == [(6, 6), (6, 6), (1, 1)]
    assert chunk_plan(5, 6) == [(5, 6)]
    with pytest.raises(ValueError):
        compiled_sizes(0)


@pytest.mark.slow
def test_compiled_path_matches_faithful_path(model):
    fast = make_model(fast=True)
    fast.load_state_dict(model.state_dict())
    compiled = CompiledPMCE(fast, max_batch=4)
    pose2d, features = inputs(batch=5)
    with torch.no_grad():
        faithful = model(pose2d, features)
    with torch.inference_mode():
        padded = compiled(pose2d[:3], features[:3])  # 3 people padded to the graph for 4
        chunked = compiled(pose2d, features)  # 4 + 1
    for a, b, c in zip(padded, chunked, faithful):
        assert a.shape[0] == 3 and b.shape[0] == 5
        torch.testing.assert_close(a, c[:3], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(b, c, rtol=1e-5, atol=1e-5)


REDUCED = dict(lifter_dim=32, lifter_heads=4, gru_hidden=16, upsample_kernel=1)


@pytest.mark.parametrize("image_stream", [True, False])
def test_openvino_gives_torchs_outputs_at_any_batch(image_stream):
    model = make_model(image_stream=image_stream, **REDUCED)
    runner = OpenVINOPMCE(model)
    assert runner.single.input(0).get_partial_shape().is_static  # one person: the fixed-shape network
    assert runner.compiled.input(0).get_partial_shape().is_dynamic
    for batch in (1, 3):
        pose2d, features = inputs(batch=batch)
        with torch.inference_mode():
            expected, got = model(pose2d, features), runner(pose2d, features)
        for a, b in zip(got, expected):
            assert a.shape == b.shape
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_reduced_architecture_sizes_follow_its_config():
    model = make_model(**REDUCED)
    decoder = model.pose_mesh_coevo
    assert decoder.upsample_conv.weight.shape == (6890, 431, 1)
    assert decoder.linear_cur1.weight.shape == (6890, 32)  # 2 x GRU hidden
    assert decoder.coevoblock1.joint_SA_FFN.norm1.mlp_gamma.weight.shape == (64, 32)
    mesh, joints, pose3d = model(*inputs())
    assert mesh.shape == (2, 6890, 3) and torch.isfinite(mesh).all()
    with pytest.raises(ValueError, match="odd"):
        PMCEConfig(upsample_kernel=2)


def test_training_options_are_off_by_default_and_change_nothing_else(model):
    assert "feature_mean" not in model.state_dict()
    scaled = make_model(lifter_output_scale=1000.0, standardize_features=True)
    assert set(scaled.state_dict()) == set(model.state_dict()) | {"feature_mean", "feature_std"}
    pose2d, feat = inputs()
    mean, std = feat.mean((0, 1)), feat.std((0, 1)) + 0.5
    with torch.no_grad():
        scaled.feature_mean.copy_(mean)
        scaled.feature_std.copy_(std)
        lifted = scaled.pose_lifter(pose2d, scaled.prepare_features(feat))
        reference = model.pose_lifter(pose2d, (feat - mean) / std) * 1000
    torch.testing.assert_close(lifted, reference)
