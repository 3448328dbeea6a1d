"""Drawing one frame: the face features of a pose on the identity's layers, warped into the
frame."""

from __future__ import annotations

import math

import cv2
import numpy as np

from . import colors, drawing
from .assets import Assets, style_assets
from .style import HeadPose, HeadStyle

_MAX_YAW_DEG = 24.0  # fake-3D turn of the face at |yaw| = 1


def _draw_eye(
    layer: np.ndarray,
    ex: float,
    ey: float,
    w: float,
    h: float,
    fore: float,
    pose: HeadPose,
    style: HeadStyle,
    at: Assets,
) -> None:
    """Sclera, iris, pupil, highlight, then eyelids according to ``pose.eye_open``."""
    px = at.size / 256.0
    drawing.ellipse(layer, (ex, ey), (w, h), (246, 244, 238, 255))
    r = 0.92 * h
    ix = ex + pose.gaze_x * 0.25 * w
    iy = ey + pose.gaze_y * 0.15 * h
    eye = style.eye_color
    drawing.ellipse(layer, (ix, iy), (r * fore, r), colors.rgba(eye))
    drawing.ellipse(
        layer, (ix, iy), (r * fore, r), colors.rgba(colors.shade(eye, 0.55)), max(1, round(px))
    )
    drawing.ellipse(layer, (ix, iy), (0.45 * r * fore, 0.45 * r), (15, 12, 12, 255))
    hr = 0.2 * r
    drawing.ellipse(layer, (ix - 0.3 * r * fore, iy - 0.35 * r), (hr, hr), (255, 255, 255, 255))

    o = colors.clamp(pose.eye_open, 0.0, 1.0)
    xs = np.linspace(-1.0, 1.0, 13)
    sq = np.sqrt(1.0 - xs**2)
    top, bot = ey - h * sq, ey + h * sq
    yc = ey + 0.3 * h * sq
    yu = yc + (top - yc) * o
    yl = yc + (bot - yc) * min(1.0, 1.6 * o)
    m = 0.45 * h + 1.0 * px
    xx = ex + w * xs
    lid = colors.rgba(at.lid)
    drawing.poly(
        layer, np.concatenate([np.stack([xx, top - m * sq], 1), np.stack([xx, yu], 1)[::-1]]), lid
    )
    drawing.poly(
        layer, np.concatenate([np.stack([xx, yl], 1), np.stack([xx, bot + m * sq], 1)[::-1]]), lid
    )
    lash = np.stack([xx, yu], 1)
    drawing.line(layer, lash, colors.rgba(at.lash), round(1.6 * px))
    drawing.line(
        layer,
        np.stack([xx, yl], 1)[2:-2],
        colors.rgba(colors.shade(at.skin, 0.72)),
        round(0.8 * px),
    )


def _draw_features(layer: np.ndarray, style: HeadStyle, pose: HeadPose, at: Assets) -> None:
    """Eyes, eyebrows, nose and mouth with the fake-3D yaw applied."""
    cx, cy, a, b = at.cx, at.cy, at.a, at.b
    px = at.size / 256.0
    radius = 1.02 * a
    psi = colors.clamp(pose.yaw, -1.0, 1.0) * math.radians(_MAX_YAW_DEG)

    def proj(x0: np.ndarray | float, r: float = radius) -> tuple[np.ndarray, np.ndarray]:
        """Horizontal offset on a cylinder of radius ``r`` turned by ``psi``; foreshortening."""
        phi = np.arcsin(np.clip(np.asarray(x0, float) / r, -0.98, 0.98))
        return r * np.sin(phi + psi), np.cos(phi + psi) / np.cos(phi)

    # eyes
    eye_y = cy - 0.08 * b + style.eye_height * b
    eye_dx = style.eye_spacing * a
    ew, eh = 0.27 * a * style.eye_size, 0.165 * a * style.eye_size
    for side in (-1.0, 1.0):  # project both corners: foreshortening + stays on the face
        xo, _ = proj(np.array([side * eye_dx - ew, side * eye_dx + ew]))
        fore = colors.clamp(float(xo[1] - xo[0]) / (2 * ew), 0.4, 1.2)
        _draw_eye(
            layer, cx + 0.5 * float(xo[0] + xo[1]), eye_y, ew * fore, eh, fore, pose, style, at
        )

    # eyebrows: tapered, thicker at the inner end
    v = np.linspace(-1.0, 1.0, 11)
    thick = style.brow_thickness * 0.045 * b
    brow_y = eye_y - 1.9 * eh - pose.brow_raise * 0.07 * b
    for side in (-1.0, 1.0):
        x0 = side * eye_dx + v * 1.25 * ew
        xo, _ = proj(x0)
        inner = (1.0 - side * v) / 2.0  # 1 at the inner end
        y = brow_y - style.brow_arch * (1 - v**2) * 0.07 * b + (inner - 0.5) * 0.04 * b
        y = y - pose.brow_raise * (1 - inner) * 0.02 * b
        t = thick * (0.45 + 0.55 * inner) * (1 - 0.5 * v**8)
        xs = cx + xo
        drawing.poly(
            layer,
            np.concatenate([np.stack([xs, y - t / 2], 1), np.stack([xs, y + t / 2], 1)[::-1]]),
            colors.rgba(at.brow),
        )

    # nose: side shadow, underside, nostrils, tip highlight
    ns = style.nose_size
    tip_x = cx + float(proj(0.0, 1.25 * radius)[0])
    tip_y = cy + 0.24 * b * (0.9 + 0.1 * ns)
    bridge_x = cx + float(proj(0.0, 1.08 * radius)[0])
    shadow = colors.rgba(colors.shade(at.skin, 0.8))
    sh = np.array(
        [
            [bridge_x + 0.06 * a, cy - 0.02 * b],
            [tip_x + 0.09 * a * ns, tip_y - 0.06 * b],
            [tip_x + 0.05 * a * ns, tip_y + 0.02 * b],
        ]
    )
    drawing.line(layer, sh, shadow, round(1.8 * px))
    drawing.ellipse(layer, (tip_x, tip_y + 0.035 * b), (0.13 * a * ns, 0.035 * b), shadow)
    nost = colors.rgba(colors.shade(at.skin, 0.5))
    for side in (-1.0, 1.0):
        nx = tip_x + side * 0.085 * a * ns * (1 - 0.3 * side * math.sin(psi))
        drawing.ellipse(layer, (nx, tip_y + 0.03 * b), (0.045 * a * ns, 0.022 * b), nost)
    drawing.ellipse(
        layer,
        (tip_x - 0.03 * a, tip_y - 0.03 * b),
        (0.05 * a, 0.035 * b),
        colors.rgba(colors.shade(at.skin, 1.08)),
    )

    # mouth
    my = cy + 0.55 * b
    r_mouth = 1.05 * at.face_half_width(my)
    mw = min(0.38 * a * style.mouth_width * pose.mouth_width, 0.75 * r_mouth)
    lt = 0.045 * b
    u = np.linspace(-1.0, 1.0, 17)
    xo, _ = proj(u * mw, r_mouth)
    xs = cx + xo
    sq = (1.0 - u**2) ** 0.6
    lift = style.smile * lt * 1.6 * u**2
    open_h = colors.clamp(pose.mouth_open, 0.0, 1.0) * 0.24 * b
    inner_up = my - 0.25 * open_h * sq - lift
    inner_lo = my + 0.75 * open_h * sq - lift
    t_up = lt * (0.75 + 0.45 * np.exp(-(((np.abs(u) - 0.3) / 0.22) ** 2)))
    outer_up = inner_up - t_up * sq
    outer_lo = inner_lo + 1.2 * lt * sq
    lips = style.lip_color
    drawing.poly(
        layer,
        np.concatenate([np.stack([xs, outer_up], 1), np.stack([xs, outer_lo], 1)[::-1]]),
        colors.rgba(lips),
    )
    if open_h > 0.6 * px:
        drawing.poly(
            layer,
            np.concatenate([np.stack([xs, inner_up], 1), np.stack([xs, inner_lo], 1)[::-1]]),
            (70, 18, 28, 255),
        )
        k = np.abs(u) < 0.75
        teeth_lo = np.minimum(inner_up + 0.07 * b * sq, inner_lo)
        teeth = np.concatenate(
            [np.stack([xs[k], inner_up[k]], 1), np.stack([xs[k], teeth_lo[k]], 1)[::-1]]
        )
        drawing.poly(layer, teeth, (242, 240, 232, 255))
        tongue_y = inner_lo - 0.25 * open_h * sq
        k2 = np.abs(u) < 0.6
        tongue = np.concatenate(
            [
                np.stack([xs[k2], inner_lo[k2]], 1),
                np.stack([xs[k2], np.maximum(tongue_y[k2], teeth_lo[k2])], 1)[::-1],
            ]
        )
        drawing.poly(layer, tongue, (200, 80, 90, 255))
    line = np.stack([xs, 0.5 * (inner_up + inner_lo)], 1)[1:-1]
    drawing.line(layer, line, colors.rgba(colors.shade(lips, 0.5)), round(1.0 * px))
    hl = colors.rgba(colors.mix(lips, (255, 255, 255), 0.25))
    drawing.ellipse(
        layer, (float(xs[8]) - 0.05 * mw, float(outer_lo[8]) - 0.55 * lt), (0.25 * mw, 0.3 * lt), hl
    )


# Framing like the talking-head datasets FOMM is trained on (face crops where the face fills
# most of the frame): the scene is drawn ZOOM times larger and a frame-size window centred on
# the head's rest position is kept. Head motion then moves many more pixels, so motion, not
# the static background, dominates what a model must explain.
ZOOM = 1.4
_HEAD_CENTER = (0.5, 0.46)


def render_frame(style: HeadStyle, pose: HeadPose, size: int = 256) -> np.ndarray:
    """Render one ``size x size`` RGB uint8 frame of ``style`` in ``pose``."""
    big = round(size * ZOOM)
    full = _render_scene(style, pose, big)
    x0 = round(_HEAD_CENTER[0] * big - size / 2)
    y0 = round(_HEAD_CENTER[1] * big - size / 2)
    return np.ascontiguousarray(full[y0 : y0 + size, x0 : x0 + size])


def _render_scene(style: HeadStyle, pose: HeadPose, size: int) -> np.ndarray:
    """The whole scene at ``size x size`` (before the framing crop)."""
    at = style_assets(style, size)
    s = float(size)
    jx, jy = pose.jitter_x * s, pose.jitter_y * s

    # background (static up to camera jitter)
    m = at.margin
    mb = np.float32([[1, 0, jx - m], [0, 1, jy - m]])
    frame = cv2.warpAffine(
        at.background, mb, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )

    # head transform: canonical -> frame, about the neck pivot
    ang = float(pose.rotation)
    mh = cv2.getRotationMatrix2D(at.pivot, ang, float(pose.scale))
    mh[0, 2] += pose.tx * s + jx
    mh[1, 2] += pose.ty * s + jy

    # body: follows the head partially
    cx = at.cx + 0.5 * pose.tx * s + jx
    sy = at.cy + at.b + 0.06 * s + 0.3 * pose.ty * s + jy
    sw = style.shoulder_width * s
    nw = 0.42 * at.a
    neck_col = colors.shade(style.skin, 0.82)
    top = np.array([[at.cx - nw, at.pivot[1] - 0.3 * at.b], [at.cx + nw, at.pivot[1] - 0.3 * at.b]])
    top = top @ mh[:, :2].T + mh[:, 2]
    neck = np.array(
        [top[0], top[1], [cx + 1.1 * nw, sy + 0.04 * s], [cx - 1.1 * nw, sy + 0.04 * s]]
    )
    drawing.poly(frame, neck, neck_col)
    shoulder = drawing.ellipse_pts(
        cx - sw + 0.12 * s, sy + 0.1 * s, 0.12 * s, 0.1 * s, 180, 270, 10
    )
    right = shoulder.copy()
    right[:, 0] = 2 * cx - right[:, 0]
    body = np.concatenate(
        [[[cx - sw - 0.02 * s, s + 4]], shoulder, right[::-1], [[cx + sw + 0.02 * s, s + 4]]]
    )
    drawing.poly(frame, body, style.shirt_color)
    fold = colors.shade(style.shirt_color, 0.82)
    if style.shirt_stripes:
        for k in range(1, 5):
            yk = sy + 0.05 * s + k * 0.045 * s
            drawing.line(
                frame,
                np.array([[cx - 0.93 * sw, yk], [cx + 0.93 * sw, yk]]),
                fold,
                round(2 * s / 256),
            )
    for side in (-1.0, 1.0):
        drawing.line(
            frame,
            np.array([[cx + side * 0.72 * sw, sy + 0.14 * s], [cx + side * 0.78 * sw, s + 2]]),
            fold,
            round(1.5 * s / 256),
        )
    collar = drawing.ellipse_pts(cx, sy - 0.005 * s, 1.25 * nw, 0.07 * s, 0, 180, 16)
    drawing.poly(frame, collar, neck_col)
    drawing.line(frame, collar, style.shirt_trim, round(2.5 * s / 256))

    # head: canonical layer + features + front hair, warped into the frame
    layer = at.base.copy()
    _draw_features(layer, style, pose, at)
    fx, fy = at.front_xy
    fh, fw = at.front.shape[:2]
    drawing.over(layer[fy : fy + fh, fx : fx + fw], at.front)

    x0, y0, x1, y1 = at.head_box
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], float) @ mh[:, :2].T + mh[:, 2]
    bx0, by0 = np.floor(corners.min(0)).astype(int) - 1
    bx1, by1 = np.ceil(corners.max(0)).astype(int) + 2
    bx0, by0, bx1, by1 = max(bx0, 0), max(by0, 0), min(bx1, size), min(by1, size)
    if bx1 > bx0 and by1 > by0:
        mr = mh.copy()
        mr[0, 2] -= bx0
        mr[1, 2] -= by0
        head = cv2.warpAffine(
            layer,
            mr,
            (bx1 - bx0, by1 - by0),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0, 0),
        )
        roi = frame[by0:by1, bx0:bx1]
        inv = 255 - head[..., 3]
        roi[...] = cv2.add(
            head[..., :3], cv2.multiply(roi, cv2.merge([inv, inv, inv]), scale=1 / 255)
        )
    return frame
