"""The sequences of one split of the configured dataset: synthetic (built once, then read from its cache) or
the authors' preprocessed files."""

from pathlib import Path

from tqdm import tqdm

from pmce_ros.body.body_model import BodyModel
from pmce_ros.perception.features import FeatureExtractor, FeatureExtractorConfig
from pmce_ros.training import authors_data
from pmce_ros.training.config import TrainConfig
from pmce_ros.training.sequences import Sequence
from pmce_ros.training.synthetic_data import build_split, load_records, save_records, sequence_from_record


def synthetic_cache(config: TrainConfig, split: str) -> Path:
    return (config.data.cache or config.output / "data") / f"synthetic_{split}.npz"


def synthetic_sequences(config: TrainConfig, split: str, body: BodyModel) -> list[Sequence]:
    cache = synthetic_cache(config, split)
    if not cache.is_file():
        features = FeatureExtractor(
            FeatureExtractorConfig(weights=config.feature_weights, allow_untrained=config.feature_weights is None)
        )
        with tqdm(desc=f"building synthetic {split} split", unit="rendering") as bar:
            records = build_split(
                config.data.synthetic,
                split,
                body,
                features,
                progress=lambda name: bar.update() or bar.set_postfix_str(name),
            )
        save_records(records, cache, body.name)
    return [sequence_from_record(record, body) for record in load_records(cache, body.name)]


def load_sequences(config: TrainConfig, split: str, body: BodyModel) -> list[Sequence]:
    data = config.data
    name = data.train_split if split == "train" else data.test_split
    if data.dataset == "synthetic" or (data.dataset == "motion" and split == "test"):
        return synthetic_sequences(config, split, body)
    if data.dataset == "motion":
        raise ValueError("dataset 'motion' draws its training windows per sample (MotionWindowDataset)")
    if data.root is None:
        raise ValueError(f"data.root must name the folder of the {data.dataset} files")
    if data.dataset == "3dpw":
        return authors_data.load_3dpw(data.root, name, body)
    if data.dataset == "h36m":
        return authors_data.load_h36m(data.root, name, data.subjects, body)
    return authors_data.load_mpii3d(data.root, name)
