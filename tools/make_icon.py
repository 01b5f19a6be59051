#!/usr/bin/env python3
"""Draw the 128x128 icon of the extension and the module: a heart on a CT-dark tile, its coronary arteries in the
per-artery colours the module uses, and bright calcified plaques.

Writes Resources/CoronaryCalcium.png (extension icon, Extension Manager) and
CoronaryCalcium/Resources/Icons/CoronaryCalcium.png (module icon). Needs Pillow and numpy.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUTS = (os.path.join(REPO, "Resources", "CoronaryCalcium.png"),
           os.path.join(REPO, "CoronaryCalcium", "Resources", "Icons", "CoronaryCalcium.png"))
SIZE = 128
SCALE = 4  # drawn at 4x and downsampled for smooth edges
LAD, LCX, RCA = (228, 41, 46), (56, 117, 237), (41, 184, 79)


def _heart_polygon(cx: float, cy: float, size: float, n: int = 400):
    """The classic parametric heart curve, scaled to ``size`` pixels and tilted like a heart in the chest."""
    t = np.linspace(0, 2 * np.pi, n)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    angle = np.radians(-18)
    xr = x * np.cos(angle) - y * np.sin(angle)
    yr = x * np.sin(angle) + y * np.cos(angle)
    factor = size / 34.0
    return [(cx + factor * a, cy + factor * b) for a, b in zip(xr, yr)]


def _curve(points, steps: int = 60):
    """Quadratic Bezier through control points (p0, p1, p2)."""
    (x0, y0), (x1, y1), (x2, y2) = points
    t = np.linspace(0, 1, steps)
    x = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * x1 + t ** 2 * x2
    y = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * y1 + t ** 2 * y2
    return list(zip(x, y))


def draw_icon() -> Image.Image:
    s = SIZE * SCALE
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, s - 1, s - 1), radius=22 * SCALE, fill=(28, 32, 40, 255))
    # faint chest outline, as on an axial CT
    draw.ellipse((10 * SCALE, 18 * SCALE, 118 * SCALE, 112 * SCALE), outline=(70, 76, 88, 255), width=3 * SCALE)

    heart = _heart_polygon(64 * SCALE, 64 * SCALE, 78 * SCALE)
    draw.polygon(heart, fill=(170, 72, 62, 255))
    shade = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    ImageDraw.Draw(shade).polygon(_heart_polygon(70 * SCALE, 70 * SCALE, 60 * SCALE), fill=(120, 44, 40, 120))
    image = Image.alpha_composite(image, shade.filter(ImageFilter.GaussianBlur(6 * SCALE)))
    draw = ImageDraw.Draw(image)

    width = 5 * SCALE
    lad = _curve([(58 * SCALE, 36 * SCALE), (70 * SCALE, 62 * SCALE), (72 * SCALE, 98 * SCALE)])
    lcx = _curve([(58 * SCALE, 36 * SCALE), (88 * SCALE, 38 * SCALE), (96 * SCALE, 66 * SCALE)])
    rca = _curve([(50 * SCALE, 40 * SCALE), (30 * SCALE, 56 * SCALE), (42 * SCALE, 86 * SCALE)])
    for curve, color in ((lcx, LCX), (rca, RCA), (lad, LAD)):
        draw.line(curve, fill=color + (255,), width=width, joint="curve")

    for (x, y), radius in (((lad[22][0], lad[22][1]), 6.5), ((lcx[30][0], lcx[30][1]), 5.0),
                           ((rca[28][0], rca[28][1]), 5.5), ((lad[44][0], lad[44][1]), 4.0)):
        r = radius * SCALE
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 245, 255), outline=(255, 236, 150, 255),
                     width=SCALE)
    return image.resize((SIZE, SIZE), Image.LANCZOS)


def main() -> None:
    icon = draw_icon()
    for path in OUTPUTS:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        icon.save(path, optimize=True)
        print("wrote %s (%dx%d)" % (os.path.relpath(path, REPO), icon.width, icon.height))


if __name__ == "__main__":
    main()
