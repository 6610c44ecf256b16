"""ResNet-50 image features (2048-d, average-pooled) of person crops, as PMCE's image stream expects.

Weights: SPIN's checkpoint (`spin_model_checkpoint.pth.tar`, the HMR network under key `model`, of which the
ResNet-50 backbone is taken by name) or any torchvision-layout ResNet-50 state dict. Without a file the extractor
runs untrained only when `allow_untrained` says so, and then reports itself as a stand-in: its features carry no
learned meaning.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchvision

from pmce_ros.model.checkpoint import load_checkpoint
from pmce_ros.model.seeding import seeded

BACKBONE_PREFIXES = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.")


@dataclass(frozen=True)
class FeatureExtractorConfig:
    weights: Path | None = None  # SPIN checkpoint or torchvision ResNet-50 state dict
    allow_untrained: bool = False  # run with random weights (seeded) when no file is given
    device: str = "cpu"
    batch_size: int = 16  # crops per forward pass


def backbone_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ResNet-50 part of a SPIN/HMR or torchvision state dict (HMR's regressor and torchvision's fc dropped)."""
    return {k: v for k, v in state.items() if k.startswith(BACKBONE_PREFIXES)}


class FeatureExtractor:
    def __init__(self, config: FeatureExtractorConfig = FeatureExtractorConfig()):
        self.config = config
        with seeded():
            network = torchvision.models.resnet50(weights=None)
        network.fc = torch.nn.Identity()
        if config.weights is not None:
            state = backbone_state(load_checkpoint(config.weights))
            # BatchNorm's num_batches_tracked is absent from older checkpoints and unused in eval mode.
            expected = {
                k: v for k, v in backbone_state(network.state_dict()).items() if not k.endswith("num_batches_tracked")
            }
            missing = sorted(set(expected) - set(state))
            wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
            if missing or wrong:
                raise ValueError(
                    f"{config.weights} holds no ResNet-50 backbone: {len(missing)} missing keys "
                    f"(e.g. {missing[:3]}), {len(wrong)} of another shape (e.g. {wrong[:3]})"
                )
            network.load_state_dict(state, strict=False)
            self.weights_name = Path(config.weights).name
            self.stand_in = False
        elif config.allow_untrained:
            self.weights_name = "untrained ResNet-50 (stand-in, random weights)"
            self.stand_in = True
        else:
            raise ValueError(
                "no ResNet-50 weights given: set the SPIN checkpoint path, or allow_untrained to run "
                "with random features (every output is then marked as a stand-in)"
            )
        self.network = network.eval().to(config.device)

    @torch.inference_mode()
    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """(N, 3, 224, 224) normalised crops -> (N, 2048) float32 features."""
        if len(crops) == 0:
            return np.zeros((0, 2048), np.float32)
        outputs = [
            self.network(
                torch.from_numpy(crops[i : i + self.config.batch_size]).to(self.config.device, non_blocking=True)
            )
            for i in range(0, len(crops), self.config.batch_size)
        ]
        return torch.cat(outputs).float().cpu().numpy()
