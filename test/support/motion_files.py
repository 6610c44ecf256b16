"""Motion files written here in real formats: an Acclaim capture rewritten as BVH, as CMU's captures are
converted (a joint where its ASF bone starts, the ASF's length unit kept)."""

from pathlib import Path

import numpy as np

from pmce_ros.training import acclaim

ASF_UNIT_M = 0.0254 / 0.45


def asf_capture_as_bvh(amc: Path, out: Path, frames: int = 240) -> Path:
    """The first `frames` frames of an ASF/AMC capture as a BVH file (intrinsic ZXY channels, 120 fps)."""
    skeleton = acclaim.read_asf(acclaim.skeleton_file(amc))
    positions, values = acclaim.read_amc(amc, skeleton)
    world = acclaim.world_rotations(skeleton, values)
    children: dict[str, list[str]] = {}
    for name, bone in skeleton.bones.items():
        children.setdefault(bone.parent, []).append(name)
    lines = [
        "HIERARCHY",
        "ROOT hip",
        "{",
        "OFFSET 0 0 0",
        "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
    ]
    order = ["root"]

    def write(name: str, offset: np.ndarray) -> None:
        order.append(name)
        lines.extend(
            [
                f"JOINT {name}",
                "{",
                "OFFSET " + " ".join(f"{v:.6f}" for v in offset / ASF_UNIT_M),
                "CHANNELS 3 Zrotation Xrotation Yrotation",
            ]
        )
        bone = skeleton.bones[name]
        for child in children.get(name, []):
            write(child, bone.direction * bone.length)
        lines.append("}")

    for child in children["root"]:
        write(child, np.zeros(3))
    lines.extend(["}", "MOTION", f"Frames: {frames}", f"Frame Time: {1 / acclaim.CAPTURE_FPS:.8f}"])
    parents = {"root": None, **{name: bone.parent for name, bone in skeleton.bones.items()}}
    rows = [positions[:frames] / ASF_UNIT_M]
    for name in order:
        local = world[name] if parents[name] is None else world[parents[name]].inv() * world[name]
        rows.append(local[:frames].as_euler("ZXY", degrees=True))
    for row in np.concatenate(rows, axis=1):
        lines.append(" ".join(f"{v:.6f}" for v in row))
    out.write_text("\n".join(lines) + "\n")
    return out
