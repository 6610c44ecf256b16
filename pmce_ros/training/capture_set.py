"""Real motion capture at scale: the public repositories we train on, read into one set of clips with their
provenance, whole subjects held out for evaluation.

`build_capture_set` reads local copies (git clones at the recorded commits) of the repositories in `SOURCES`,
loads every clip with its format's reader (ASF/AMC: `training/acclaim.py`, BVH: `training/bvh.py`), resamples it
to 30 fps and writes it as one .npz per clip (the source skeleton and world rotations; nothing else of the file),
beside `manifest.json`: per clip its source, subject, split and frame count, per source its repository, commit and
licence, and every file refused with the reason. Nothing of the capture is committed; `pmce-capture-set` rebuilds
the set from the clones. Training (`dataset: motion` with `data.capture_set`) draws its windows from the train
split; `bench/real_capture.py` evaluates on the held-out subjects, whose joints it takes from the capture itself.

Subjects are named across sources (`cmu:13`), so a CMU subject held out is held out of every repository that
carries a conversion of their takes.
"""

import argparse
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from pmce_ros.training import acclaim, bvh
from pmce_ros.training.mocap import MocapClip, SourceSkeleton

FPS = 30.0
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CaptureSource:
    name: str
    repository: str  # owner/name on GitHub
    commit: str
    licence: str
    pattern: str  # glob of the clips inside the repository
    subject: str  # regex on the clip's path inside the repository: its first group names the subject
    subject_prefix: str  # the subject's namespace: subjects of one capture database share it
    skeleton: str  # what the bone lengths are: the subject's own, or a fixed conversion skeleton

    def subject_of(self, relative: str) -> str:
        found = re.search(self.subject, relative)
        if found is None:
            raise ValueError(f"{relative}: no subject in its path (expected {self.subject!r})")
        return f"{self.subject_prefix}:{found.group(1).lstrip('0') or '0'}"


CMU_TERMS = "CMU Graphics Lab Motion Capture Database: free for all uses; the data may not be resold, even converted"
SOURCES = (
    CaptureSource(
        "hdm05",
        "zhangchi8620/JointLearning-HDM05",
        "b252ad65598e052c38f49490c1ac9dbadc283fd3",
        "HDM05 (Mueller et al. 2007), CC BY-SA 3.0: attribution, and share-alike for what is made from it",
        "**/*.amc",
        r"HDM_([a-z]+)_",
        "hdm05",
        "the actor's own (ASF)",
    ),
    CaptureSource(
        "cmu_dance",
        "papagina/Auto_Conditioned_RNN_motion",
        "fbb7f6414035fc5c6752e1c21b8d8c1f777b0eb8",
        CMU_TERMS,
        "train_data_bvh/*/*.bvh",
        r"train_data_bvh/([a-z]+)/",
        "cmu-dance",
        "a fixed DAZ conversion skeleton",
    ),
    CaptureSource(
        "cmu_daz",
        "Przestr/motion-capture",
        "c200c31036a2b8cd2182ddbc85756b2dd79d70d2",
        CMU_TERMS,
        "data/*/*.bvh",
        r"data/(\d+)/",
        "cmu",
        "a fixed DAZ conversion skeleton",
    ),
    CaptureSource(
        "cmu_iclone",
        "DragonForgedTheArtist/IClone-CMU-Mocap",
        "79529f962ade3274163af53cd92179cee2ed9407",
        CMU_TERMS,
        "All_BVH/subjects/*/*.bvh",
        r"subjects/(\d+)/",
        "cmu",
        "an iClone character's",
    ),
)
# Whole subjects never trained on: one HDM05 actor and three CMU subjects that no other source carries.
HELD_OUT_SUBJECTS = ("hdm05:mm", "cmu:13", "cmu:14", "cmu:16")


def _reader(path: Path):
    if acclaim.is_clip(path):
        return acclaim
    if bvh.is_clip(path):
        return bvh
    raise ValueError(f"{path}: neither ASF/AMC nor BVH")


def checkout(root: Path, source: CaptureSource) -> Path | None:
    """The clone of `source` under `root`: root/<name> (git clone's default) or root/<owner>+<name>."""
    owner, name = source.repository.split("/")
    for folder in (root / name, root / f"{owner}+{name}"):
        if folder.is_dir():
            return folder
    return None


def checked_out_commit(folder: Path) -> str | None:
    """The commit a clone is at, or None for a copy without git."""
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    return result.stdout.strip()


def save_clip(clip: MocapClip, path: Path) -> None:
    skeleton = clip.skeleton
    names = sorted(clip.world_rotations)
    points = list(skeleton.parents)
    structure = {
        "parents": skeleton.parents,
        "carriers": {
            joint: [carrier, list(bone) if bone else None] for joint, (carrier, bone) in skeleton.carriers.items()
        },
        "moved_by": skeleton.moved_by,
        "joint_points": skeleton.joint_points,
        "points": points,
        "rotations": names,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        version=np.int64(FORMAT_VERSION),
        fps=np.float64(clip.fps),
        root_position=clip.root_position.astype(np.float32),
        rest_positions=np.stack([skeleton.rest_positions[p] for p in points]).astype(np.float64),
        quaternions=np.stack([clip.world_rotations[n].as_quat() for n in names]).astype(np.float32),
        structure=np.array(json.dumps(structure)),
    )


def load_saved_clip(path: Path) -> MocapClip:
    with np.load(path, allow_pickle=False) as content:
        if int(content["version"]) != FORMAT_VERSION:
            raise ValueError(f"{path}: capture-set format {int(content['version'])}, expected {FORMAT_VERSION}")
        structure = json.loads(str(content["structure"]))
        rest, quaternions = content["rest_positions"], content["quaternions"].astype(np.float64)
        root_position, fps = content["root_position"].astype(np.float64), float(content["fps"])
    skeleton = SourceSkeleton(
        parents=structure["parents"],
        rest_positions=dict(zip(structure["points"], rest)),
        carriers={j: (c, tuple(b) if b else None) for j, (c, b) in structure["carriers"].items()},
        moved_by=structure["moved_by"],
        joint_points=structure["joint_points"],
    )
    rotations = {name: Rotation.from_quat(q) for name, q in zip(structure["rotations"], quaternions)}
    return MocapClip(path.stem, fps, root_position, rotations, skeleton)


def build_capture_set(root: Path, out: Path, progress=print) -> dict:
    """Every clip of every source found under `root`, written under `out`; returns the manifest."""
    manifest = {"fps": FPS, "held_out_subjects": list(HELD_OUT_SUBJECTS), "sources": {}, "clips": [], "refused": []}
    for source in SOURCES:
        folder = checkout(root, source)
        if folder is None:
            progress(f"{source.repository}: no clone under {root}, skipped")
            manifest["sources"][source.name] = {"repository": source.repository, "found": False}
            continue
        commit = checked_out_commit(folder)
        manifest["sources"][source.name] = {
            "repository": source.repository,
            "commit": source.commit,
            "checked_out": commit or "unknown (not a git clone)",
            "licence": source.licence,
            "skeleton": source.skeleton,
            "found": True,
        }
        if commit is not None and commit != source.commit:
            progress(f"{source.repository}: clone at {commit}, the recorded commit is {source.commit}")
        files = sorted(folder.glob(source.pattern))
        for number, path in enumerate(files, 1):
            relative = path.relative_to(folder).as_posix()
            try:
                clip = _reader(path).load_clip(path, FPS)
                subject = source.subject_of(relative)
            except (ValueError, FileNotFoundError, IndexError, KeyError) as error:
                manifest["refused"].append({"source": source.name, "file": relative, "reason": str(error)})
                progress(f"{source.name} {relative}: refused: {error}")
                continue
            saved = Path(source.name) / Path(relative).with_suffix(".npz")
            save_clip(clip, out / saved)
            manifest["clips"].append(
                {
                    "file": saved.as_posix(),
                    "source": source.name,
                    "subject": subject,
                    "split": "test" if subject in HELD_OUT_SUBJECTS else "train",
                    "frames": len(clip),
                }
            )
            if number % 25 == 0 or number == len(files):
                progress(f"{source.name}: {number}/{len(files)}")
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build the capture set with pmce-capture-set (docs/training.md)")
    return json.loads(path.read_text())


def split_files(folder: Path, split: str) -> list[Path]:
    """The clips of one split ("train" or "test") of a built set."""
    return [Path(folder) / clip["file"] for clip in read_manifest(folder)["clips"] if clip["split"] == split]


def provenance(folder: Path) -> list[dict]:
    """Repository, commit and licence of every source the set holds clips from: what the weights record."""
    manifest = read_manifest(folder)
    used = {clip["source"] for clip in manifest["clips"]}
    return [
        {key: manifest["sources"][name][key] for key in ("repository", "commit", "licence")} for name in sorted(used)
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build the real-capture training and evaluation set")
    parser.add_argument("repos", type=Path, help="folder holding clones of the repositories (docs/training.md)")
    parser.add_argument("--out", type=Path, default=Path("runs/capture_set"))
    args = parser.parse_args(argv)
    manifest = build_capture_set(args.repos, args.out)
    for split in ("train", "test"):
        clips = [c for c in manifest["clips"] if c["split"] == split]
        subjects = sorted({c["subject"] for c in clips})
        print(f"{split}: {len(clips)} clips, {sum(c['frames'] for c in clips)} frames at {FPS:g} fps, {subjects}")
    print(f"refused: {len(manifest['refused'])} files; manifest: {args.out / MANIFEST}")
    return 0
