"""Training of both stages with the authors' optimiser and schedule, resumable, in the authors' checkpoint format.

Stage 1 ('pose') trains the lifter alone on the L1 of its joints and saves the lifter's weights without the
`pose_lifter.` prefix, as the release's pose checkpoints do; stage 2 ('mesh') trains the whole model (nothing
frozen) on PMCELoss, optionally starting the lifter from a stage-1 file. Every epoch writes `last.pth.tar`
(resumed from by `resume=True`) and appends a row to `log.csv`; the epoch with the lowest test error is kept as
`best.pth.tar`.
"""

import csv
import dataclasses
import json
import math
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pmce_ros.body.body_model import GENERATED_BODIES, BodyModel, load_body
from pmce_ros.model import PMCE, load_pmce_weights
from pmce_ros.model.checkpoint import (
    AUTHORS_FRAME_INTERVAL_S,
    CONFIG_KEY,
    FRAME_INTERVALS_KEY,
    read_checkpoint_file,
    recorded_config,
    state_dict_from,
)
from pmce_ros.model.seeding import seeded
from pmce_ros.training import capture_set
from pmce_ros.training.body_transfer import transfer_decoder_state
from pmce_ros.training.config import TrainConfig
from pmce_ros.training.data import load_sequences
from pmce_ros.training.evaluate import HEADLINE, METRICS, evaluate
from pmce_ros.training.losses import LOSS_TERMS, PMCELoss, lifter_loss
from pmce_ros.training.motion_windows import MotionWindowDataset
from pmce_ros.training.sequences import WindowDataset

LAST, BEST, LOG = "last.pth.tar", "best.pth.tar", "log.csv"
FEATURE_STD_FLOOR = 1e-3  # keeps constant feature channels (and the zeros of 'only pose') finite


def build_model(config: TrainConfig, body: BodyModel) -> PMCE:
    with seeded(config.optim.seed):
        return PMCE(config.model, body.coarse.vertex_joint_index, body.coarse.vertices)


def training_record(config: TrainConfig) -> dict:
    """What a checkpoint of ours says about its training: the window spacings it saw (seconds, shortest and
    longest) and the whole recipe (the TrainConfig, as plain values)."""
    data = config.data
    if data.dataset == "motion":
        intervals = (data.motion.stride[0] / data.synthetic.fps, data.motion.stride[1] / data.synthetic.fps)
    else:
        intervals = (1 / data.synthetic.fps,) * 2 if data.dataset == "synthetic" else (AUTHORS_FRAME_INTERVAL_S,) * 2
    record = {FRAME_INTERVALS_KEY: intervals, "recipe": json.loads(json.dumps(dataclasses.asdict(config), default=str))}
    if data.dataset == "motion" and data.capture_set is not None:
        record["capture_sources"] = capture_set.provenance(data.capture_set)
    return record


def checkpoint_content(config: TrainConfig, body: BodyModel, model: PMCE, **authors_entries) -> dict:
    """The release's checkpoint layout plus what our loader needs to rebuild the network."""
    weights = model.pose_lifter if config.stage == "pose" else model
    return {
        **authors_entries,
        "model_state_dict": weights.state_dict(),
        CONFIG_KEY: dataclasses.asdict(config.model),
        "stage": config.stage,
        "body": body.name,
        "label": config.label,
        **training_record(config),
    }


class Trainer:
    def __init__(self, config: TrainConfig, resume: bool = False):
        self.config = config
        self.body = load_body(config.body.smpl, config.body.authors_assets, True, config.body.generated)
        self.model = build_model(config, self.body)
        for start in (config.pose_checkpoint, config.init_weights):
            if start is not None:
                load_pmce_weights(self.model, start, self._on_this_body(read_checkpoint_file(start), start))
        trained = self.model.pose_lifter if config.stage == "pose" else self.model
        optim = config.optim
        self.optimizer = torch.optim.Adam(trained.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, list(optim.milestones), optim.gamma)
        self.loss = PMCELoss(self.body.model["f"], self.body.h36m_regressor, config.losses)
        self.train_set = self._windows("train")
        self._test_set = None
        self.start_epoch, self.train_log, self.test_log = 1, [], {}
        self.best, self.train_seconds = math.inf, 0.0
        config.output.mkdir(parents=True, exist_ok=True)
        if resume and (config.output / LAST).is_file():
            self._resume(config.output / LAST)
        elif config.model.standardize_features and config.model.image_stream:
            self._set_feature_statistics()

    def _on_this_body(self, content, path: Path):
        """The checkpoint's content, its decoder re-indexed for this body when it was trained on another
        generated body (training/body_transfer.py)."""
        trained_on = content.get("body") if isinstance(content, dict) else None
        if trained_on in (None, self.body.name):
            return content
        generated = {name: key for key, name in GENERATED_BODIES.items()}
        if trained_on not in generated:
            raise ValueError(
                f"{path} was trained on {trained_on}, which cannot be rebuilt to move it to {self.body.name}"
            )
        source = load_body(generated=generated[trained_on])
        print(f"{path}: trained on the {trained_on}; its decoder re-indexed for the {self.body.name}", flush=True)
        return {
            **content,
            "model_state_dict": transfer_decoder_state(state_dict_from(content, path), source, self.body),
        }

    def _set_feature_statistics(self) -> None:
        features = torch.from_numpy(np.concatenate([s.features for s in self.train_set.sequences]).astype(np.float32))
        if not self.config.image_features:
            features = torch.zeros_like(features)
        self.model.feature_mean.copy_(features.mean(0))
        self.model.feature_std.copy_(features.std(0) + FEATURE_STD_FLOOR)

    def _windows(self, split: str) -> WindowDataset | MotionWindowDataset:
        if split == "train" and self.config.data.dataset == "motion":
            with tqdm(desc="preparing motion clips", unit="clip") as bar:
                data = self.config.data
                clips = data.synthetic.split_clips("train")
                if data.capture_set is not None:
                    clips += capture_set.split_files(data.capture_set, "train")
                return MotionWindowDataset(
                    clips,
                    data.synthetic.fps,
                    self.config.data.motion,
                    self.body,
                    self.config.model.num_frames,
                    self.config.model.described_frame,
                    self.config.optim.seed,
                    progress=lambda name: bar.update(),
                )
        return WindowDataset(
            load_sequences(self.config, split, self.body),
            self.config.model.num_frames,
            self.body.h36m_regressor,
            self.config.image_features,
            self.config.data.train_stride if split == "train" else 1,
            self.config.model.described_frame,
        )

    @property
    def test_set(self) -> WindowDataset:
        if self._test_set is None:
            self._test_set = self._windows("test")
        return self._test_set

    def _resume(self, path: Path) -> None:
        content = read_checkpoint_file(path)
        if (
            recorded_config(content) != self.config.model  # fields added since it was written take defaults
            or content.get("stage") != self.config.stage
        ):
            raise ValueError(f"{path} was written for another model or stage; use another output folder")
        weights = self.model.pose_lifter if self.config.stage == "pose" else self.model
        weights.load_state_dict(content["model_state_dict"])
        self.optimizer.load_state_dict(content["optim_state_dict"])
        self.scheduler.load_state_dict(content["scheduler_state_dict"])
        # The configuration's milestones win over the saved ones, so a finished run can be extended by raising
        # `epochs` and adding a later milestone.
        self.scheduler.milestones = Counter(self.config.optim.milestones)
        self.start_epoch = content["epoch"] + 1
        self.train_log, self.test_log = list(content["train_log"]), dict(content["test_log"])
        self.best, self.train_seconds = content["best"], content["train_seconds"]

    def _save(self, path: Path, epoch: int) -> None:
        torch.save(
            checkpoint_content(
                self.config,
                self.body,
                self.model,
                epoch=epoch,
                optim_state_dict=self.optimizer.state_dict(),
                scheduler_state_dict=self.scheduler.state_dict(),
                train_log=self.train_log,
                test_log=self.test_log,
                best=self.best,
                train_seconds=self.train_seconds,
            ),
            path,
        )

    def _step(self, batch: dict[str, torch.Tensor], epoch: int) -> tuple[torch.Tensor, dict[str, float]]:
        if self.config.stage == "pose":
            pose3d = self.model.pose_lifter(batch["pose2d"], self.model.prepare_features(batch.get("features")))
            loss = lifter_loss(pose3d, batch)
            return loss, {"lifter_joints": float(loss.detach())}
        return self.loss(self.model(batch["pose2d"], batch.get("features")), batch, epoch)

    def train_epoch(self, epoch: int) -> dict[str, float]:
        optim = self.config.optim
        generator = torch.Generator().manual_seed(optim.seed * 100_003 + epoch)
        if isinstance(self.train_set, MotionWindowDataset):
            self.train_set.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(
            self.train_set,
            batch_size=optim.batch_size,
            shuffle=True,
            generator=generator,
            num_workers=optim.workers,
            drop_last=False,
        )
        steps = min(len(loader), optim.max_steps_per_epoch or len(loader))
        self.model.train()
        sums: dict[str, float] = {}
        with tqdm(total=steps, desc=f"epoch {epoch}/{optim.epochs}", unit="batch", leave=False) as bar:
            for step, batch in enumerate(loader):
                if step == steps:
                    break
                loss, terms = self._step(batch, epoch)
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                terms["total"] = float(loss.detach())
                for name, value in terms.items():
                    sums[name] = sums.get(name, 0.0) + value
                bar.update()
                bar.set_postfix(loss=f"{terms['total']:.4f}")
        self.scheduler.step()
        return {name: value / steps for name, value in sums.items()}

    def fit(self) -> dict[str, float]:
        """Trains to the configured last epoch (from where a resumed run stopped); returns the last test metrics."""
        optim, metrics = self.config.optim, {}
        for epoch in range(self.start_epoch, optim.epochs + 1):
            lr = self.optimizer.param_groups[0]["lr"]
            started = time.monotonic()
            losses = self.train_epoch(epoch)
            self.train_seconds += time.monotonic() - started
            self.train_log.append(losses["total"])
            metrics = {}
            if epoch == optim.epochs or (optim.eval_every and epoch % optim.eval_every == 0):
                metrics = evaluate(self.model, self.test_set, self.body, self.config)
                for name, value in metrics.items():
                    self.test_log.setdefault(name, []).append(value)
                if metrics[HEADLINE] < self.best:
                    self.best = metrics[HEADLINE]
                    self._save(self.config.output / BEST, epoch)
            self._save(self.config.output / LAST, epoch)
            self._log(epoch, lr, losses, metrics)
            tqdm.write(
                f"epoch {epoch}: lr {lr:.2e}, loss {losses['total']:.4f}"
                + "".join(f", {k} {v:.1f}" for k, v in metrics.items())
            )
        return metrics

    def _log(self, epoch: int, lr: float, losses: dict, metrics: dict) -> None:
        path = self.config.output / LOG
        row = {"epoch": epoch, "lr": lr, **{f"loss_{k}": v for k, v in losses.items()}, **metrics}
        columns = ["epoch", "lr"] + [f"loss_{k}" for k in LOSS_TERMS] + list(METRICS)
        new = not path.is_file()
        with path.open("a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns, restval="")
            if new:
                writer.writeheader()
            writer.writerow(row)


def export_inference_weights(
    checkpoint: Path, path: Path, config: TrainConfig | None = None, metrics: dict | None = None
) -> Path:
    """A stage-2 checkpoint of ours reduced to what inference needs: fp16 weights, architecture, label, body,
    its training record (from `config` when given, else as the checkpoint holds it) and, when given, its
    metrics on the held-out test split."""
    content = read_checkpoint_file(checkpoint)
    if content.get("stage") != "mesh" or CONFIG_KEY not in content:
        raise ValueError(f"{checkpoint} is not a stage-2 checkpoint written by this trainer")
    architecture = dict(content[CONFIG_KEY], fast=False)  # the pipeline chooses its own path
    weights = {k: v.half() if v.is_floating_point() else v for k, v in content["model_state_dict"].items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model_state_dict": weights,
            CONFIG_KEY: architecture,
            "body": content["body"],
            "label": content["label"],
            "epoch": content["epoch"],
            **({"test_metrics": dict(metrics)} if metrics else {}),
            **(
                training_record(config)
                if config
                else {k: content[k] for k in (FRAME_INTERVALS_KEY, "recipe") if k in content}
            ),
        },
        path,
    )
    return path


def _finished(config: TrainConfig) -> bool:
    last = config.output / LAST
    return last.is_file() and read_checkpoint_file(last).get("epoch") == config.optim.epochs


def train_stages(config: TrainConfig, resume: bool = False) -> tuple[Trainer, dict[str, float]]:
    """Trains the configuration, stage 1 first when it names one (`stage1`); returns the last stage's trainer and
    its test metrics (evaluated afresh when a resumed run had nothing left to train)."""
    if config.stage1 is not None:
        stage1 = dataclasses.replace(
            config, stage="pose", optim=config.stage1, output=config.output / "stage1", stage1=None
        )
        if not (resume and _finished(stage1)):  # a finished stage 1 need not load its data again
            Trainer(stage1, resume=resume).fit()
        config = dataclasses.replace(config, pose_checkpoint=stage1.output / LAST, stage1=None)
    trainer = Trainer(config, resume=resume)
    metrics = trainer.fit() or evaluate(trainer.model, trainer.test_set, trainer.body, config)
    return trainer, metrics
