"""Pictures of the estimates: each person's mesh (translucent silhouette) and skeleton projected onto the frame in
the person's colour with its id, and a banner naming the weights (in red when any is a stand-in)."""

from dataclasses import dataclass

import cv2
import numpy as np

from pmce_ros.perception.placement import Intrinsics

# Distinct colours for people (RGB, 0-1), by track id; shared by the RViz markers.
PALETTE = np.array(
    [
        [0.90, 0.30, 0.25],
        [0.20, 0.60, 0.90],
        [0.30, 0.80, 0.35],
        [0.95, 0.70, 0.15],
        [0.65, 0.40, 0.85],
        [0.10, 0.80, 0.80],
        [0.95, 0.45, 0.70],
        [0.60, 0.60, 0.20],
        [0.45, 0.30, 0.20],
        [0.50, 0.50, 0.95],
    ]
)
MESH_ALPHA = 0.45
MIN_DEPTH_M = 0.05
# Filling costs the triangles' total area. A person's mesh covers its own silhouette a few times over; meshes
# whose triangles add up to more than this many images (untrained weights, a body at the lens) are drawn as
# the convex hull of their vertices instead, in constant time.
MAX_FILL_IMAGES = 20


def person_color(track_id: int, alpha: float = 1.0) -> np.ndarray:
    """RGBA in 0-1."""
    return np.append(PALETTE[track_id % len(PALETTE)], alpha)


def _bgr255(track_id: int) -> tuple[int, int, int]:
    r, g, b = (255 * PALETTE[track_id % len(PALETTE)]).astype(int)
    return int(b), int(g), int(r)


@dataclass
class DrawnPerson:
    track_id: int
    mesh: np.ndarray  # (V, 3) camera frame, metres
    joints: np.ndarray  # (J, 3) camera frame, metres
    edges: list[tuple[int, int]]
    box: np.ndarray  # (4,) pixels


def project(points: np.ndarray, camera: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates of camera-frame points and whether each lies in front of the camera."""
    depth = points[:, 2]
    visible = depth > MIN_DEPTH_M
    safe = np.where(visible, depth, 1.0)
    pixels = np.column_stack([camera.fx * points[:, 0] / safe + camera.cx, camera.fy * points[:, 1] / safe + camera.cy])
    return pixels, visible


def draw_people(image: np.ndarray, people: list[DrawnPerson], faces: np.ndarray, camera: Intrinsics) -> np.ndarray:
    """A copy of `image` (BGR) with every person's mesh, skeleton and id drawn on it."""
    out = image.copy()
    limit = 4 * max(image.shape[:2])  # keeps fillPoly's coordinates in range for meshes near the camera
    for person in sorted(people, key=lambda p: -float(np.median(p.mesh[:, 2]))):  # far ones first
        pixels, visible = project(person.mesh, camera)
        shown = faces[visible[faces].all(axis=1)]
        if len(shown):
            triangles = np.clip(pixels[shown], -limit, limit)
            edges_a, edges_b = triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]
            area = 0.5 * np.abs(edges_a[:, 0] * edges_b[:, 1] - edges_a[:, 1] * edges_b[:, 0]).sum()
            mask = np.zeros(image.shape[:2], np.uint8)
            if area <= MAX_FILL_IMAGES * image.shape[0] * image.shape[1]:
                cv2.fillPoly(mask, list(np.round(triangles).astype(np.int32)), 255)
            else:
                hull = cv2.convexHull(np.round(triangles.reshape(-1, 2)).astype(np.int32))
                cv2.fillPoly(mask, [hull], 255)
            colour = np.array(_bgr255(person.track_id), np.float32)
            region = mask > 0
            out[region] = ((1 - MESH_ALPHA) * out[region] + MESH_ALPHA * colour).astype(np.uint8)
        joints, joints_visible = project(person.joints, camera)
        dark = tuple(int(0.5 * c) for c in _bgr255(person.track_id))
        for a, b in person.edges:
            if joints_visible[a] and joints_visible[b]:
                cv2.line(
                    out,
                    tuple(np.clip(joints[a], -limit, limit).astype(int)),
                    tuple(np.clip(joints[b], -limit, limit).astype(int)),
                    dark,
                    2,
                    cv2.LINE_AA,
                )
        x0, y0 = int(person.box[0]), int(person.box[1])
        cv2.putText(
            out,
            f"id {person.track_id}",
            (x0, max(y0 - 6, 14)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.55,
            _bgr255(person.track_id),
            2,
            cv2.LINE_AA,
        )
    return out


def add_banner(image: np.ndarray, lines: list[str], warning: bool) -> np.ndarray:
    """Text lines on a dark band above the image (red text when `warning`)."""
    scale, height = 0.42, 16
    band = np.full((height * len(lines) + 6, image.shape[1], 3), 30, np.uint8)
    colour = (80, 80, 255) if warning else (230, 230, 230)
    for row, line in enumerate(lines):
        cv2.putText(band, line, (6, height * (row + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
    return np.vstack([band, image])


def weights_banner(weights: str, stand_in: bool, width_chars: int = 110) -> list[str]:
    lines = ["STAND-IN weights: meshes are NOT measurements of these people" if stand_in else "weights in use:"]
    current = ""
    for part in weights.split("; "):
        if current and len(current) + len(part) + 2 > width_chars:
            lines.append(current)
            current = part
        else:
            current = f"{current}; {part}" if current else part
    return lines + [current]


def contact_sheet(images: list[np.ndarray], titles: list[str], columns: int = 3, width: int = 480) -> np.ndarray:
    """Images scaled to `width` and tiled `columns` to a row, each with its title above it."""
    tiles = []
    for image, title in zip(images, titles):
        scaled = cv2.resize(image, (width, int(image.shape[0] * width / image.shape[1])))
        tiles.append(add_banner(scaled, [title], warning=False))
    height = max(t.shape[0] for t in tiles)
    tiles = [np.vstack([t, np.zeros((height - t.shape[0], width, 3), np.uint8)]) for t in tiles]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)
