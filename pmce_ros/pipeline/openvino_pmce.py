"""PMCE run by OpenVINO's CPU plugin: converted from the loaded torch model at start-up (about 6 s), fp32, any
batch size. The same outputs as torch within 1e-6 m; on the 2-core EPYC development VM the pose-only model (fast
path) took 18 against torch's 31 ms at batch 1 and 60 against 89 ms at batch 5 (bench/pmce_forward.py --pose-only).
"""

import hashlib
import warnings

import torch

from pmce_ros.model.pmce import PMCE

# Converted networks by (architecture, weights digest). Converting traces the model through TorchScript, whose
# classes stay in torch's global compilation unit for the life of the process (about 60 MB a conversion): a
# node configured again after a cleanup reuses its conversion instead of tracing anew.
_CONVERTED: dict[tuple[str, str], object] = {}


def _digest(model: PMCE) -> str:
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _converted(model: PMCE, examples: list[torch.Tensor], shapes: list) -> object:
    import openvino

    key = (repr(model.config), _digest(model))
    if key not in _CONVERTED:
        with torch.inference_mode(), warnings.catch_warnings():
            # OpenVINO's converter traces: torch warns that tracing is deprecated and at every shape check it turns
            # into a constant (the batch stays dynamic; the rest is fixed by the architecture anyway).
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", FutureWarning)
            _CONVERTED[key] = openvino.convert_model(model.eval(), example_input=tuple(examples), input=shapes)
    return _CONVERTED[key]


class OpenVINOPMCE:
    """Calls like the model it was converted from (eval mode, no gradients): torch tensors in and out."""

    def __init__(self, model: PMCE):
        import openvino

        config = model.config
        examples = [torch.zeros(1, config.num_frames, config.num_joints, 2)]
        shapes = [openvino.PartialShape([-1, config.num_frames, config.num_joints, 2])]
        if config.image_stream:
            examples.append(torch.zeros(1, config.num_frames, config.feature_dim))
            shapes.append(openvino.PartialShape([-1, config.num_frames, config.feature_dim]))
        converted = _converted(model, examples, shapes)
        self.image_stream = config.image_stream
        core, options = openvino.Core(), {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
        self.compiled = core.compile_model(converted, "CPU", options)
        # One person, the usual case, also gets a network compiled for batch 1: fixed shapes let OpenVINO plan
        # every operator once (6.6 against 7.5 ms a call for the pose-only model, same outputs within 1e-6 m).
        single = converted.clone()
        single.reshape({index: list(example.shape) for index, example in enumerate(examples)})  # batch 1
        self.single = core.compile_model(single, "CPU", options)

    def __call__(self, pose2d: torch.Tensor, img_feat: torch.Tensor | None = None):
        inputs = [pose2d.numpy()] + ([img_feat.float().numpy()] if self.image_stream else [])
        outputs = (self.single if pose2d.shape[0] == 1 else self.compiled)(inputs)
        return tuple(torch.from_numpy(outputs[index]) for index in range(3))
