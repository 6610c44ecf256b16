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
# The silhouette is rasterised on a grid at most this many cells across the person, then scaled up: the union
# of 13,776 triangles costs about the same at any image size (cv2.fillPoly on all of them at once took seconds
# at 1080p and, filling by parity, left holes where the surface overlaps itself).
SILHOUETTE_CELLS = 128
# Meshes whose triangles cross more (row, triangle) pairs of that grid than this (untrained weights, a body at the
# lens) are drawn as the convex hull of their vertices instead, in constant time.
MAX_SILHOUETTE_CUTS = 500_000


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


def _facing_camera(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Per face: whether its normal points towards the camera (at the origin). The body's surface is closed, so
    these faces alone cover its whole silhouette: half the triangles to rasterise."""
    points = vertices.astype(np.float32)
    a, b, c = (points[faces[:, k]] for k in range(3))
    # The normal (b - a) x (c - a) dotted with a is the triple product a . (b x c).
    triple = (
        a[:, 0] * (b[:, 1] * c[:, 2] - b[:, 2] * c[:, 1])
        + a[:, 1] * (b[:, 2] * c[:, 0] - b[:, 0] * c[:, 2])
        + a[:, 2] * (b[:, 0] * c[:, 1] - b[:, 1] * c[:, 0])
    )
    return triple < 0


def _rows_of_triangles(corners: tuple, rows: int, columns: int) -> np.ndarray | None:
    """(rows, columns) boolean grid: the cells whose centres (whole coordinates) lie in any of the triangles
    `corners` (three (N, 2) arrays of x, y in cell units), exact up to rounding; None when the triangles cross
    more than MAX_SILHOUETTE_CUTS rows in all.

    Each triangle is cut by the rows of cell centres it spans; each cut is an x interval, added to a per-row
    difference array (+1 at its first cell, -1 after its last), whose running sum along the row is positive
    exactly inside the union of the intervals.
    """
    ys = np.stack([c[:, 1] for c in corners])
    first = np.maximum(np.ceil(ys.min(0)), 0).astype(int)
    count = np.maximum(np.minimum(np.floor(ys.max(0)), rows - 1).astype(int) - first + 1, 0)
    if count.sum() > MAX_SILHOUETTE_CUTS:
        return None
    triangle = np.repeat(np.arange(len(count)), count)
    row = first[triangle] + np.arange(len(triangle)) - np.repeat(np.cumsum(count) - count, count)
    y = row.astype(np.float32)
    left = np.full(len(row), np.inf, np.float32)
    right = np.full(len(row), -np.inf, np.float32)
    for start, end in ((0, 1), (1, 2), (2, 0)):
        p, q = corners[start][triangle], corners[end][triangle]
        rise = q[:, 1] - p[:, 1]
        crosses = (np.minimum(p[:, 1], q[:, 1]) <= y) & (y <= np.maximum(p[:, 1], q[:, 1])) & (rise != 0)
        x = p[:, 0] + (y - p[:, 1]) * (q[:, 0] - p[:, 0]) / np.where(rise != 0, rise, 1)
        left = np.where(crosses, np.minimum(left, x), left)
        right = np.where(crosses, np.maximum(right, x), right)
    begin = np.maximum(np.ceil(left), 0)
    finish = np.minimum(np.floor(right), columns - 1)
    kept = begin <= finish
    row, begin, finish = row[kept], begin[kept].astype(int), finish[kept].astype(int)
    width = columns + 1
    steps = np.bincount(
        np.concatenate([row * width + begin, row * width + finish + 1]),
        np.concatenate([np.ones(len(row)), -np.ones(len(row))]),
        minlength=rows * width,
    )
    return np.cumsum(steps.reshape(rows, width)[:, :columns], axis=1) > 0.5


def silhouette_mask(pixels: np.ndarray, faces: np.ndarray, height: int, width: int) -> tuple[tuple, np.ndarray]:
    """Where the union of the projected triangles `pixels[faces]` lies in an (H, W) image: the (rows, columns)
    slices of its bounding box and a boolean mask of that box.

    The triangles are rasterised together on a grid at most SILHOUETTE_CELLS cells across (`_rows_of_triangles`);
    each triangle's centroid is marked too, so triangles smaller than a cell leave no gaps. The grid's mask is
    scaled up with linear interpolation, which rounds its cell-sized steps.
    """
    low = np.maximum(np.floor(pixels.min(0)), 0)
    high = np.minimum(np.ceil(pixels.max(0)), [width - 1, height - 1])
    if (high <= low).any():
        return (slice(0, 0), slice(0, 0)), np.zeros((0, 0), bool)
    x0, y0 = low.astype(int)
    box = (slice(y0, int(high[1]) + 1), slice(x0, int(high[0]) + 1))
    cell = max(1.0, float((high - low).max()) / SILHOUETTE_CELLS)
    grid = ((high - low) / cell).astype(int) + 2  # one spare cell: the scaled grid must cover the last pixel
    coords = np.clip((pixels - low) / cell - 0.5, -grid, 2 * grid).astype(np.float32)  # cell centres at integers
    corners = coords[faces[:, 0]], coords[faces[:, 1]], coords[faces[:, 2]]
    inside = _rows_of_triangles(corners, grid[1], grid[0])
    if inside is None:
        mask = np.zeros((box[0].stop - y0, box[1].stop - x0), np.uint8)
        hull = cv2.convexHull(np.round(np.clip(pixels - low, -4 * width, 4 * width)).astype(np.int32))
        cv2.fillPoly(mask, [hull], 255)
        return box, mask > 0
    small = inside.astype(np.uint8) * 255
    centroids = np.clip(np.round((corners[0] + corners[1] + corners[2]) / 3).astype(int), 0, grid - 1)
    small[centroids[:, 1], centroids[:, 0]] = 255
    scaled = cv2.resize(small, (int(round(grid[0] * cell)), int(round(grid[1] * cell))), interpolation=cv2.INTER_LINEAR)
    mask = np.zeros((box[0].stop - y0, box[1].stop - x0), bool)
    rows, columns = min(mask.shape[0], scaled.shape[0]), min(mask.shape[1], scaled.shape[1])
    mask[:rows, :columns] = scaled[:rows, :columns] > 127
    return box, mask


def draw_people(out: np.ndarray, people: list[DrawnPerson], faces: np.ndarray, camera: Intrinsics) -> None:
    """Draws every person's mesh, skeleton and id on the BGR image `out`, in place."""
    limit = 4 * max(out.shape[:2])  # keeps OpenCV's coordinates in range for points near the camera
    height, width = out.shape[:2]
    for person in sorted(people, key=lambda p: -float(np.median(p.mesh[:, 2]))):  # far ones first
        pixels, visible = project(person.mesh, camera)
        in_front = visible[faces[:, 0]] & visible[faces[:, 1]] & visible[faces[:, 2]]
        shown = faces[in_front & _facing_camera(person.mesh, faces)]
        if len(shown):
            box, inside = silhouette_mask(pixels, shown, height, width)
            window = out[box]
            tinted = cv2.addWeighted(window, 1 - MESH_ALPHA, window, 0.0, 0.0)
            cv2.add(tinted, tuple(MESH_ALPHA * c for c in _bgr255(person.track_id)) + (0.0,), dst=tinted)
            cv2.copyTo(tinted, inside.view(np.uint8), window)
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
