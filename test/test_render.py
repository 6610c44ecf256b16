"""Renders: the mesh silhouette equals the union of its projected triangles (a reference mask drawn triangle by
triangle with OpenCV), near and far, with no holes where the surface overlaps itself."""

import cv2
import numpy as np
import pytest

from pmce_ros.body.synthetic import make_synthetic_body
from pmce_ros.output.render import DrawnPerson, add_banner, draw_people, project
from pmce_ros.output.run_outputs import sheet_frames
from pmce_ros.perception.placement import Intrinsics

CAMERA = Intrinsics(1400.0, 1400.0, 960.0, 540.0)
HEIGHT, WIDTH = 1080, 1920


@pytest.fixture(scope="module")
def body():
    return make_synthetic_body().model


def placed(body, distance_m: float, turn_deg: float = 0.0) -> np.ndarray:
    """The stand-in body upright in the camera frame (y down), turned about its vertical axis."""
    vertices = body["v_template"] - body["v_template"].mean(0)
    vertices[:, 1] *= -1
    angle = np.radians(turn_deg)
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    return vertices @ rotation.T + [0.0, 0.0, distance_m]


def reference_mask(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """The union of the projected triangles, one fillConvexPoly each, at 1/16 px precision."""
    pixels, _ = project(vertices, CAMERA)
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    for triangle in np.round(pixels[faces] * 16).astype(np.int32):
        cv2.fillConvexPoly(mask, triangle, 255, cv2.LINE_8, 4)
    return mask > 0


def rendered_mask(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    person = DrawnPerson(3, vertices, vertices[:17], [], np.array([0.0, 30.0, 10.0, 40.0]))
    drawn = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    draw_people(drawn, [person], faces, CAMERA)
    drawn[:45, :120] = 0  # the id label
    return drawn.any(axis=2)


@pytest.mark.parametrize(("distance_m", "turn_deg"), [(2.5, 0.0), (3.0, 90.0), (12.0, 30.0)])
def test_silhouette_matches_the_union_of_triangles(body, distance_m, turn_deg):
    vertices = placed(body, distance_m, turn_deg)
    reference, rendered = reference_mask(vertices, body["f"]), rendered_mask(vertices, body["f"])
    iou = (reference & rendered).sum() / (reference | rendered).sum()
    assert iou >= 0.9, iou
    assert rendered.sum() == pytest.approx(reference.sum(), rel=0.1)


def test_overlapping_surfaces_leave_no_holes(body):
    """Seen side on, the far arm lies behind the torso: every pixel of the union must be tinted (filling by
    parity, as one fillPoly call over all triangles does, leaves such overlaps blank)."""
    vertices = placed(body, 3.0, 90.0)
    reference, rendered = reference_mask(vertices, body["f"]), rendered_mask(vertices, body["f"])
    # Outside the image counts as outside the body: the feet's edge lies just below the frame.
    interior = cv2.erode(reference.astype(np.uint8), np.ones((9, 9), np.uint8), borderValue=0) > 0
    assert interior.sum() > 10_000 and rendered[interior].all()


def test_meshes_are_opaque_and_brightest_where_they_face_the_camera(body):
    vertices = placed(body, 3.0)
    person = DrawnPerson(3, vertices, vertices[:17], [], np.array([0.0, 30.0, 10.0, 40.0]))
    on_black, on_white = np.zeros((HEIGHT, WIDTH, 3), np.uint8), np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    for image in (on_black, on_white):
        draw_people(image, [person], body["f"], CAMERA)
    inside = cv2.erode(reference_mask(vertices, body["f"]).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert np.array_equal(on_black[inside], on_white[inside])  # nothing of the background shows through
    brightness = on_black.astype(float).sum(axis=2)
    rim = inside & ~(cv2.erode(inside.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0)
    core = cv2.erode(inside.astype(np.uint8), np.ones((61, 61), np.uint8)) > 0
    assert core.sum() > 1000 and brightness[core].mean() > 1.15 * brightness[rim].mean()  # Lambert: n . view


def test_contact_sheet_shows_frames_with_people_first():
    assert sheet_frames([False] * 10 + [True] * 3 + [False] * 10) == [0, 10, 11, 12, 13, 22]
    assert sheet_frames([True] * 20) == [0, 4, 8, 11, 15, 19]
    assert sheet_frames([False] * 4) == [0, 1, 2, 3]


def test_banner_reuses_a_buffer_of_the_right_shape():
    """The renders reuse one buffer per run: its contents must be the same as a freshly stacked frame's."""
    rng = np.random.default_rng(1)
    first, second = (rng.integers(0, 255, (90, 160, 3), np.uint8) for _ in range(2))
    buffer = add_banner(first, ["weights: a", "frame 1"], warning=True)
    reused = add_banner(second, ["weights: a", "frame 2"], warning=True, out=buffer)
    assert reused is buffer
    assert np.array_equal(reused, add_banner(second, ["weights: a", "frame 2"], warning=True))
    assert np.array_equal(reused[-90:], second) and (reused[:-90] != 30).any()  # the text was drawn
    assert add_banner(second, ["one line"], warning=False, out=buffer) is not buffer  # another band height
