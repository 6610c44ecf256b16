"""Pictures of the estimates: each person's mesh (an opaque silhouette in the person's colour, shaded by how much
its faces turn towards the camera) and skeleton projected onto the frame with its id, and a banner naming the
weights (in red when any is a stand-in)."""

from dataclasses import dataclass

import cv2
import numpy as np

from pmce_ros.labels import STAND_IN_WARNING
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
MIN_DEPTH_M = 0.05
# Lambert shading with the light at the camera: a face seen edge-on gets AMBIENT of the colour, one facing the
# camera all of it. Faces are averaged on a grid of at most SHADING_CELLS cells across the person (a blur fills
# the cells no face centre falls in), so shading costs the same at any size.
AMBIENT = 0.35
SHADING_CELLS = 48
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


def _corners(vertices: np.ndarray, faces: np.ndarray):
    """x, y, z of corner k of every face, one (3, F) array per coordinate: gathers from 1-D arrays are several
    times faster than from the (V, 3) array."""
    return [coordinate[faces.T] for coordinate in vertices.T.astype(np.float32)]


def shaded(
    pixels: np.ndarray, vertices: np.ndarray, faces: np.ndarray, origin: tuple[int, int], shape, colour
) -> np.ndarray:
    """(H, W, 3) uint8 over the silhouette's box (top-left pixel `origin` = (x, y), `shape` (H, W)): `colour`
    (BGR) times, per face, AMBIENT plus the rest times the cosine between its normal and the line of sight to it,
    averaged where the faces land. Coloured on the grid and scaled up as 8-bit: full-size float images cost
    several milliseconds for a person 1000 px tall."""
    (ax, bx, cx), (ay, by, cy), (az, bz, cz) = _corners(vertices, faces)
    ux, uy, uz, wx, wy, wz = bx - ax, by - ay, bz - az, cx - ax, cy - ay, cz - az
    nx, ny, nz = uy * wz - uz * wy, uz * wx - ux * wz, ux * wy - uy * wx
    sx, sy, sz = ax + bx + cx, ay + by + cy, az + bz + cz  # three times the centroid: the line of sight
    cosine = -(nx * sx + ny * sy + nz * sz) / np.maximum(
        np.sqrt((nx * nx + ny * ny + nz * nz) * (sx * sx + sy * sy + sz * sz)), 1e-12
    )
    intensity = AMBIENT + (1 - AMBIENT) * np.clip(cosine, 0.0, 1.0)
    height, width = shape
    cell = max(1.0, max(height, width) / SHADING_CELLS)
    columns, rows = int(width / cell) + 1, int(height / cell) + 1
    px, py = (coordinate.astype(np.float32) for coordinate in pixels.T)
    centre_x = (px[faces[:, 0]] + px[faces[:, 1]] + px[faces[:, 2]]) / 3 - origin[0]
    centre_y = (py[faces[:, 0]] + py[faces[:, 1]] + py[faces[:, 2]]) / 3 - origin[1]
    x = np.clip((centre_x / cell).astype(int), 0, columns - 1)
    y = np.clip((centre_y / cell).astype(int), 0, rows - 1)
    index = y * columns + x
    sums = np.bincount(index, intensity, rows * columns).reshape(rows, columns).astype(np.float32)
    counts = np.bincount(index, None, rows * columns).reshape(rows, columns).astype(np.float32)
    sums, counts = cv2.GaussianBlur(sums, (5, 5), 0), cv2.GaussianBlur(counts, (5, 5), 0)
    grid = np.where(counts > 1e-3, sums / np.maximum(counts, 1e-3), AMBIENT)
    painted = (grid[..., None] * np.asarray(colour, np.float32)).astype(np.uint8)
    return cv2.resize(painted, (width, height), interpolation=cv2.INTER_LINEAR)


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
    (ax, bx, cx), (ay, by, cy), (az, bz, cz) = _corners(vertices, faces)
    # The normal (b - a) x (c - a) dotted with a is the triple product a . (b x c).
    triple = ax * (by * cz - bz * cy) + ay * (bz * cx - bx * cz) + az * (bx * cy - by * cx)
    return triple < 0


def _rows_of_triangles(xs: np.ndarray, ys: np.ndarray, rows: int, columns: int) -> np.ndarray | None:
    """(rows, columns) boolean grid: the cells whose centres (whole coordinates) lie in any of the triangles
    with corners (xs[k], ys[k]), k = 0..2 ((3, N) arrays in cell units), exact up to rounding; None when the
    triangles cross more than MAX_SILHOUETTE_CUTS rows in all.

    Each triangle is cut by the rows of cell centres it spans; each cut is an x interval, added to a per-row
    difference array (+1 at its first cell, -1 after its last), whose running sum along the row is positive
    exactly inside the union of the intervals.
    """
    lowest = np.minimum(np.minimum(ys[0], ys[1]), ys[2])
    highest = np.maximum(np.maximum(ys[0], ys[1]), ys[2])
    first = np.maximum(np.ceil(lowest), 0).astype(np.int64)
    count = np.maximum(np.minimum(np.floor(highest), rows - 1).astype(np.int64) - first + 1, 0)
    total = int(count.sum())
    if total > MAX_SILHOUETTE_CUTS:
        return None
    triangle = np.repeat(np.arange(len(count)), count)
    row = np.arange(total) - np.repeat(np.cumsum(count) - count - first, count)
    y = row.astype(np.float32)
    left = np.full(total, np.inf, np.float32)
    right = np.full(total, -np.inf, np.float32)
    for k in range(3):
        # Edge k runs from corner k to the next: x = start + slope * y over its span of y; flat edges never cross.
        x0, y0, x1, y1 = xs[k], ys[k], xs[(k + 1) % 3], ys[(k + 1) % 3]
        rise = y1 - y0
        slope = (x1 - x0) / np.where(rise == 0, 1, rise)
        start = x0 - slope * y0
        low = np.where(rise == 0, np.inf, np.minimum(y0, y1))
        crosses = (low[triangle] <= y) & (y <= np.maximum(y0, y1)[triangle])
        x = start[triangle] + slope[triangle] * y
        np.minimum(left, np.where(crosses, x, np.inf), out=left)
        np.maximum(right, np.where(crosses, x, -np.inf), out=right)
    begin = np.maximum(np.ceil(left), 0)
    finish = np.minimum(np.floor(right), columns - 1)
    kept = begin <= finish
    width = columns + 1
    cells = np.concatenate([row * width + np.where(kept, begin, 0), row * width + np.where(kept, finish + 1, 0)])
    steps = np.bincount(
        cells.astype(np.int64), np.concatenate([kept, -kept.astype(np.float64)]), minlength=rows * width
    )
    return np.cumsum(steps.reshape(rows, width)[:, :columns], axis=1) > 0.5


def silhouette_mask(pixels: np.ndarray, faces: np.ndarray, height: int, width: int) -> tuple[tuple, np.ndarray]:
    """Where the union of the projected triangles `pixels[faces]` lies in an (H, W) image: the (rows, columns)
    slices of its bounding box and a boolean mask of that box.

    The triangles are rasterised together on a grid at most SILHOUETTE_CELLS cells across (`_rows_of_triangles`);
    each triangle's centroid is marked too, so triangles smaller than a cell leave no gaps. The grid's mask is
    scaled up with linear interpolation, which rounds its cell-sized steps.
    """
    along_x, along_y = pixels.T
    low = np.maximum(np.floor([along_x.min(), along_y.min()]), 0)
    high = np.minimum(np.ceil([along_x.max(), along_y.max()]), [width - 1, height - 1])
    if (high <= low).any():
        return (slice(0, 0), slice(0, 0)), np.zeros((0, 0), bool)
    x0, y0 = low.astype(int)
    box = (slice(y0, int(high[1]) + 1), slice(x0, int(high[0]) + 1))
    cell = max(1.0, float((high - low).max()) / SILHOUETTE_CELLS)
    grid = ((high - low) / cell).astype(int) + 2  # one spare cell: the scaled grid must cover the last pixel
    coords = np.clip((pixels - low) / cell - 0.5, -grid, 2 * grid).astype(np.float32)  # cell centres at integers
    xs, ys = coords[:, 0][faces.T], coords[:, 1][faces.T]
    inside = _rows_of_triangles(xs, ys, grid[1], grid[0])
    if inside is None:
        mask = np.zeros((box[0].stop - y0, box[1].stop - x0), np.uint8)
        hull = cv2.convexHull(np.round(np.clip(pixels - low, -4 * width, 4 * width)).astype(np.int32))
        cv2.fillPoly(mask, [hull], 255)
        return box, mask > 0
    small = inside.astype(np.uint8) * 255
    centre_x = np.clip(np.round(xs.mean(0)).astype(int), 0, grid[0] - 1)
    centre_y = np.clip(np.round(ys.mean(0)).astype(int), 0, grid[1] - 1)
    small[centre_y, centre_x] = 255
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
        in_front = visible[faces].all(axis=1)
        shown = faces[in_front & _facing_camera(person.mesh, faces)]
        if len(shown):
            box, inside = silhouette_mask(pixels, shown, height, width)
            if inside.size:
                origin = (box[1].start, box[0].start)
                painted = shaded(pixels, person.mesh, shown, origin, inside.shape, _bgr255(person.track_id))
                window = out[box]
                cv2.copyTo(painted, inside.view(np.uint8), window)
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


def add_banner(image: np.ndarray, lines: list[str], warning: bool, out: np.ndarray | None = None) -> np.ndarray:
    """The image below a dark band of text lines (red text when `warning`). Written into `out` when it has the
    right shape: a buffer reused frame after frame is not page-faulted in again (a fresh 1080p frame cost 10 ms
    of page faults once OpenVINO shared the process)."""
    scale, line_height = 0.42, 16
    band_height = line_height * len(lines) + 6
    shape = (band_height + image.shape[0], image.shape[1], 3)
    if out is None or out.shape != shape:
        out = np.empty(shape, np.uint8)
    band = out[:band_height]
    band[:] = 30
    colour = (80, 80, 255) if warning else (230, 230, 230)
    for row, line in enumerate(lines):
        cv2.putText(band, line, (6, line_height * (row + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
    out[band_height:] = image
    return out


def weights_banner(weights: str, stand_in: bool, width_chars: int = 110) -> list[str]:
    lines = [STAND_IN_WARNING if stand_in else "weights in use:"]
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
