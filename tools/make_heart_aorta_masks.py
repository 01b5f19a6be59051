"""Heart and aorta masks for a non-contrast chest CT, made without deep learning (stand-ins for TotalSegmentator's).

    PYTHONPATH=CoronaryCalcium .venv/bin/python tools/make_heart_aorta_masks.py CT_DIR OUT_DIR [--scan lidc-idri-0314]
        [--compare REF_DIR] [--review DIR]

Writes ``OUT_DIR/heart.nii.gz`` and ``OUT_DIR/aorta.nii.gz`` (uint8 0/1) on the loaded CT's exact grid, laid out like a
TotalSegmentator output folder, so ``score --region heart --totalseg-output OUT_DIR`` can use them. ``--compare`` prints
the Dice of each mask against a reference folder with the same two files; ``--review`` writes contour pictures
(needs matplotlib, which the library does not depend on).

Method (numpy, scipy and SimpleITK only; all work is on a grid of about 1.5 mm in-plane, masks are brought back to the
CT grid at the end):

1. The CT is averaged in 2x2 in-plane blocks (thin, sharp-kernel scans are noisy) and smoothed (Gaussian, 1 mm).
2. Body = the largest connected object above -300 HU, holes filled per slice. Lungs = air (below -400 HU) inside the
   body, the connected objects larger than 100 ml (airways included).
3. Aorta = a tube of balls along a centre line. The descending aorta is tracked slice by slice from a seed, down to the
   diaphragm and up to the arch: in each slice the disc (radius 7-17 mm, centre within one 1.6 mm pixel of the previous
   one) with the strongest outward edge on its circle and a homogeneous soft-tissue inside wins. The ascending aorta
   and the arch are a centre line read off the scan by hand (non-contrast: aorta, pulmonary trunk and superior vena
   cava are equally grey and the tracker jumps between them). Seeds, centre line and root level are scan-specific
   constants (``SCANS``, chosen by ``--scan``).
4. Heart = soft tissue (-30 to 120 HU after smoothing) inside the chest (per-slice convex hull of the lungs, plus the
   bony cage's hull minus a 10 mm chest wall), minus bone (above 250 HU, grown 4 mm), minus the descending aorta (grown
   4 mm), minus everything behind the front of the vertebral bodies less 6 mm (spine, oesophagus), up to the aortic
   root slice. The diaphragm is a surface, not a flat cut: the lowest lung voxel of every (y, x) column that is a lung
   base, filled in under the heart by harmonic (Laplace) interpolation. A cautious surface (bases up to 15 mm below the
   root) gives a sure core (opened with a 6 mm ball, object at the heart seed, shrunk 3 mm); the tissue between it and
   the real diaphragm (bases 45 mm or more below the root) is shared out between core and liver (soft tissue below the
   lowest lung bases) by a watershed on the HU gradient, the fat/diaphragm line being its ridge. The heart is then
   opened (3 mm), closed (5 mm) and its holes filled per slice: that takes in the fat in the grooves where the coronary
   arteries run but, like the LUNG1-001 reference mask, not the outer pericardial fat pad.

Known limit (LIDC-IDRI-0314): the lowest 2-3 cm of the heart (inferior wall, apex) are partly missed.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "CoronaryCalcium"))

from CoronaryCalciumLib.io.ct import CTVolume, load_ct  # noqa: E402

BLOCK = 2  # in-plane averaging factor
BODY_HU, AIR_HU, BONE_HU = -300.0, -400.0, 250.0
SOFT_HU = (-30.0, 120.0)  # heart (blood, myocardium) after smoothing, HU
LUNG_MIN_ML = 100.0
CHEST_WALL_MM = 10.0  # muscle and fat inside the ribs, left out of the heart
BASE_BELOW_ROOT_MM = 15  # cautious diaphragm: lung bases at least this far below the aortic root (mm = slices)
LOW_BASE_BELOW_ROOT_MM = 45  # real diaphragm: the low lung bases only


@dataclass(frozen=True)
class ScanConstants:
    """Hand-read landmarks of one scan, as voxel positions (z, y, x) on the full CT grid; radii in mm."""

    descending_seed: Tuple[int, int, int]  # a point in the descending aorta; tracked from there
    descending_range: Tuple[int, int]  # lowest and highest slice the descending aorta is tracked to
    ascending_and_arch: Tuple[Tuple[float, float, float, float], ...]  # centre line (z, y, x, radius mm), root first
    aortic_root_z: int  # the heart mask ends at this slice
    heart_seed: Tuple[int, int, int]


# LIDC-IDRI-0314: non-contrast, so the ascending aorta, the pulmonary trunk and the superior vena cava are equally grey
# and an edge-based tracker jumps between them; its centre line was read off axial slices every 5-10 mm instead (the
# thin brighter wall circle is visible), as was the arch (an oblong from front-right to back-left, slices 185-200).
SCANS: Dict[str, ScanConstants] = {
    "lidc-idri-0314": ScanConstants(
        descending_seed=(120, 330, 259), descending_range=(60, 185),
        ascending_and_arch=((132, 256, 246, 15.5), (146, 252, 248, 16.5), (156, 248, 252, 16.5),
                            (166, 250, 250, 16.5), (176, 246, 256, 16.0), (184, 248, 248, 14.5),
                            (190, 248, 250, 13.0), (195, 262, 256, 11.5), (199, 280, 260, 11.0),
                            (196, 304, 264, 11.0), (190, 316, 262, 11.5)),
        aortic_root_z=132, heart_seed=(100, 235, 290)),
}


# --------------------------------------------------------------------------------------------------------------------
# grid


def downsample(array: np.ndarray) -> np.ndarray:
    """(z, y, x) HU -> float32 block means over BLOCK x BLOCK in-plane pixels."""
    z, y, x = array.shape
    y2, x2 = y // BLOCK * BLOCK, x // BLOCK * BLOCK
    a = array[:, :y2, :x2].astype(np.float32)
    return a.reshape(z, y2 // BLOCK, BLOCK, x2 // BLOCK, BLOCK).mean(axis=(2, 4))


def upsample(mask: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Coarse bool mask -> bool mask of ``shape`` (linear interpolation of the 0/1 mask, cut at 0.5)."""
    zoom = [1.0] + [float(BLOCK)] * 2
    fine = ndimage.zoom(mask.astype(np.float32), zoom, order=1, grid_mode=True, mode="nearest")
    out = np.zeros(shape, dtype=bool)
    sz = tuple(slice(0, min(a, b)) for a, b in zip(shape, fine.shape))
    out[sz] = fine[sz] >= 0.5
    return out


def ball(radius_mm: float, spacing_zyx: Sequence[float]) -> np.ndarray:
    r = [int(np.ceil(radius_mm / s)) for s in spacing_zyx]
    zz, yy, xx = np.ogrid[-r[0]:r[0] + 1, -r[1]:r[1] + 1, -r[2]:r[2] + 1]
    return (zz * spacing_zyx[0]) ** 2 + (yy * spacing_zyx[1]) ** 2 + (xx * spacing_zyx[2]) ** 2 <= radius_mm ** 2


def fill_per_slice(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    for z in range(mask.shape[0]):
        if mask[z].any():
            out[z] = ndimage.binary_fill_holes(mask[z])
    return out


# --------------------------------------------------------------------------------------------------------------------
# body and lungs


def body_and_lungs(s: np.ndarray, voxel_ml: float) -> Tuple[np.ndarray, np.ndarray]:
    labels, n = ndimage.label(s > BODY_HU)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, n + 1))
    body = fill_per_slice(labels == 1 + int(np.argmax(sizes)))
    air = (s < AIR_HU) & body
    labels, n = ndimage.label(air)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, n + 1)) * voxel_ml
    keep = np.flatnonzero(sizes >= LUNG_MIN_ML) + 1
    return body, np.isin(labels, keep)


def hull_2d(mask: np.ndarray) -> np.ndarray:
    """Convex hull of a 2-D mask, filled."""
    from scipy.spatial import ConvexHull, Delaunay

    pts = np.argwhere(mask)
    out = np.zeros(mask.shape, dtype=bool)
    if len(pts) < 10:
        return out
    hull = ConvexHull(pts)
    tri = Delaunay(pts[hull.vertices])
    lo, hi = pts.min(0), pts.max(0) + 1
    yy, xx = np.mgrid[lo[0]:hi[0], lo[1]:hi[1]]
    inside = tri.find_simplex(np.c_[yy.ravel(), xx.ravel()]) >= 0
    out[lo[0]:hi[0], lo[1]:hi[1]] = inside.reshape(yy.shape)
    return out


# --------------------------------------------------------------------------------------------------------------------
# aorta


def _disc_score(slice2d: np.ndarray, grad: Tuple[np.ndarray, np.ndarray], cy: float, cx: float, r: float) -> float:
    angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    py, px = cy + r * np.sin(angles), cx + r * np.cos(angles)
    gy = ndimage.map_coordinates(grad[0], [py, px], order=1)
    gx = ndimage.map_coordinates(grad[1], [py, px], order=1)
    radial = gy * np.sin(angles) + gx * np.cos(angles)  # HU per pixel, negative = darker outside
    edge = float(np.mean(np.clip(-radial, 0, None)))
    ri = np.linspace(0, 0.7 * r, 4)
    iy = (cy + np.outer(ri, np.sin(angles))).ravel()
    ix = (cx + np.outer(ri, np.cos(angles))).ravel()
    inside = ndimage.map_coordinates(slice2d, [iy, ix], order=1)
    mean = float(inside.mean())
    if not 0.0 <= mean <= 90.0:
        return -1e9
    return edge - 0.5 * float(inside.std())


def track(s: np.ndarray, pixel_mm: float, seed: Tuple[float, float], z_from: int, z_to: int,
          radius_mm: Tuple[float, float] = (7.0, 17.0)) -> List[Tuple[int, float, float, float]]:
    """Follow a round vessel slice by slice from ``z_from`` to ``z_to`` (inclusive); (z, y, x, r) on the coarse grid."""
    cy, cx = seed
    step = 1 if z_to >= z_from else -1
    radii = np.arange(radius_mm[0], radius_mm[1] + 0.1, 1.0) / pixel_mm
    reach = 1  # pixel of the coarse grid per 1 mm slice
    path = []
    for z in range(z_from, z_to + step, step):
        img = s[z]
        grad = (ndimage.sobel(img, 0) / 8.0, ndimage.sobel(img, 1) / 8.0)
        best = (-1e9, cy, cx, radii[0])
        for dy in range(-reach, reach + 1):
            for dx in range(-reach, reach + 1):
                for r in radii:
                    sc = _disc_score(img, grad, cy + dy, cx + dx, r)
                    if sc > best[0]:
                        best = (sc, cy + dy, cx + dx, r)
        _, cy, cx, r = best
        path.append((z, cy, cx, r))
    return path


def smooth_path(path: List[Tuple[int, float, float, float]], size: int = 7) -> List[Tuple[int, float, float, float]]:
    arr = np.array(path, dtype=float)
    for k in (1, 2, 3):
        arr[:, k] = ndimage.median_filter(arr[:, k], size=size, mode="nearest")
        arr[:, k] = ndimage.uniform_filter1d(arr[:, k], size=3, mode="nearest")
    return [tuple(row) for row in arr]


def tube(shape: Sequence[int], points: np.ndarray, spacing_zyx: Sequence[float]) -> np.ndarray:
    """Union of balls (z, y, x, r[voxels in-plane]) along densely sampled points."""
    out = np.zeros(shape, dtype=bool)
    for z, y, x, r in points:
        rz = int(np.ceil(r * spacing_zyx[1] / spacing_zyx[0]))
        ri = int(np.ceil(r))
        z0, y0, x0 = int(round(z)), int(round(y)), int(round(x))
        zs = slice(max(0, z0 - rz), min(shape[0], z0 + rz + 1))
        ys = slice(max(0, y0 - ri), min(shape[1], y0 + ri + 1))
        xs = slice(max(0, x0 - ri), min(shape[2], x0 + ri + 1))
        zz, yy, xx = np.ogrid[zs, ys, xs]
        d2 = ((zz - z) * spacing_zyx[0]) ** 2 + ((yy - y) * spacing_zyx[1]) ** 2 + ((xx - x) * spacing_zyx[2]) ** 2
        out[zs, ys, xs] |= d2 <= (r * spacing_zyx[1]) ** 2
    return out


def densify(nodes: np.ndarray, step: float = 0.5) -> np.ndarray:
    out = [nodes[0]]
    for a, b in zip(nodes[:-1], nodes[1:]):
        n = max(1, int(np.ceil(np.linalg.norm(b[:3] - a[:3]) / step)))
        out.extend(a + (b - a) * t for t in np.linspace(0, 1, n + 1)[1:])
    return np.array(out)


def aorta_mask(s: np.ndarray, consts: ScanConstants, spacing_zyx: Sequence[float]):
    """Aorta tube on the coarse grid, and the descending aorta's tracked centre line (z, y, x, r in coarse voxels)."""
    px = spacing_zyx[1]
    seed = (consts.descending_seed[1] / BLOCK, consts.descending_seed[2] / BLOCK)
    z0, (z_low, z_high) = consts.descending_seed[0], consts.descending_range
    down = track(s, px, seed, z0, z_low)
    up = track(s, px, seed, z0, z_high)
    descending = smooth_path(list(reversed(down)) + up[1:])
    hand = [np.array([z, y / BLOCK, x / BLOCK, r / px]) for z, y, x, r in consts.ascending_and_arch]
    nodes = hand + [np.array(p) for p in reversed(descending)]
    return tube(s.shape, densify(np.array(nodes)), spacing_zyx), descending


# --------------------------------------------------------------------------------------------------------------------
# heart


def harmonic_fill(values: np.ndarray, known: np.ndarray, iterations: int = 400) -> np.ndarray:
    """Fill unknown pixels of a 2-D map by repeated 4-neighbour averaging (Laplace), known pixels fixed."""
    out = np.where(known, values, values[known].mean() if known.any() else 0.0).astype(np.float64)
    for _ in range(iterations):
        avg = 0.25 * (np.roll(out, 1, 0) + np.roll(out, -1, 0) + np.roll(out, 1, 1) + np.roll(out, -1, 1))
        out = np.where(known, values, avg)
    return out


def diaphragm_surface(lungs: np.ndarray, below_z: int) -> np.ndarray:
    """(y, x) map of the slice index the diaphragm lies at: the lowest lung voxel per column where that is a lung base
    (below ``below_z``; columns whose lowest lung lies above the heart do not count), interpolated under the heart."""
    lowest = np.argmax(lungs, axis=0).astype(np.float64)
    known = lungs.any(axis=0) & (lowest < below_z)
    return harmonic_fill(lowest, known)


def heart_mask(s: np.ndarray, body: np.ndarray, lungs: np.ndarray, aorta_desc: np.ndarray, root_z: int,
               seed: Tuple[int, int, int], spacing_zyx: Sequence[float]) -> np.ndarray:
    nz = s.shape[0]
    # inside the chest: the lungs' convex hull, and the bony cage's hull minus the chest wall (where the heart touches
    # the front of the chest below the lungs)
    dense = s > BONE_HU
    disc = ball(CHEST_WALL_MM, spacing_zyx)[int(np.ceil(CHEST_WALL_MM / spacing_zyx[0]))]
    hull = np.zeros_like(lungs)
    for z in range(nz):
        if lungs[z].sum() > 50:
            hull[z] = hull_2d(lungs[z])
        if dense[z].sum() > 50:
            hull[z] |= ndimage.binary_erosion(hull_2d(dense[z] & body[z]), structure=disc)
    bone = ndimage.binary_dilation(dense, structure=ball(4.0, spacing_zyx))
    soft = (s >= SOFT_HU[0]) & (s <= SOFT_HU[1]) & hull & body & ~lungs & ~bone
    soft &= ~ndimage.binary_dilation(aorta_desc, structure=ball(4.0, spacing_zyx))
    # behind the front of the vertebral bodies (plus 6 mm for the oesophagus): spine = bone in the posterior midline
    spine_front = _spine_front(s, body)
    yy = np.arange(s.shape[1])[None, :, None]
    soft &= yy < (spine_front[:, None, None] - 6.0 / spacing_zyx[1])
    zz = np.arange(nz)[:, None, None]
    soft[root_z + 1:] = False
    # a sure core of the heart: above a cautious diaphragm (lung bases up to BASE_BELOW_ROOT_MM below the root),
    # opened to cut bridges, the object at the seed, shrunk
    floor = diaphragm_surface(lungs, root_z - BASE_BELOW_ROOT_MM)
    core = _object_at(ndimage.binary_opening(soft & (zz > floor[None] + 1), structure=ball(6.0, spacing_zyx)), seed)
    core = ndimage.binary_erosion(core, structure=ball(3.0, spacing_zyx))
    # the rest of the heart down to the real diaphragm (lung bases far below the root) is shared out between the core
    # and the liver by a watershed on the HU gradient: the fat and muscle line between them is its ridge
    low_floor = diaphragm_surface(lungs, root_z - LOW_BASE_BELOW_ROOT_MM)
    liver = soft & (zz <= max(0, int(np.percentile(low_floor[lungs.any(axis=0)], 5)) - 2))
    heart = _watershed(s, soft, core, liver, spacing_zyx)
    heart = ndimage.binary_opening(heart, structure=ball(3.0, spacing_zyx))
    heart = _object_at(heart, seed)
    heart = ndimage.binary_closing(heart, structure=ball(5.0, spacing_zyx), iterations=1)
    heart = fill_per_slice(heart) & ~lungs & ~bone & (zz > low_floor[None] + 1)
    heart[root_z + 1:] = False
    return heart


def _object_at(mask: np.ndarray, seed: Tuple[int, int, int]) -> np.ndarray:
    """The connected object of ``mask`` at the seed (full-grid voxel), or the one nearest to it in the seed's slice."""
    labels, _ = ndimage.label(mask)
    sz, sy, sx = seed[0], seed[1] // BLOCK, seed[2] // BLOCK
    lab = labels[sz, sy, sx]
    if lab == 0:
        near = ndimage.distance_transform_edt(labels[sz] == 0, return_indices=True)[1]
        lab = labels[sz, near[0][sy, sx], near[1][sy, sx]]
    return labels == lab


def _watershed(s: np.ndarray, soft: np.ndarray, heart: np.ndarray, liver: np.ndarray,
               spacing_zyx: Sequence[float]) -> np.ndarray:
    """Soft tissue flooded from the heart and liver markers over the gradient magnitude (HU/mm); fat, air and bone
    are a third, fixed label. Returns the heart's share."""
    box = tuple(slice(max(0, a.start - 20), a.stop + 20) for a in ndimage.find_objects(soft.astype(np.uint8))[0])
    grad = ndimage.gaussian_gradient_magnitude(s[box], sigma=[1.0 / v for v in spacing_zyx])
    cost = np.clip(grad, 0, 255).astype(np.uint8)
    markers = np.zeros(cost.shape, dtype=np.int16)
    markers[~soft[box]] = 3
    markers[liver[box]] = 2
    markers[heart[box]] = 1
    labels = ndimage.watershed_ift(cost, markers)
    out = np.zeros_like(soft)
    out[box] = (labels == 1) & soft[box]
    return out


def _spine_front(s: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Per slice, the smallest row index of bone in the posterior midline band (vertebral body front)."""
    nz, ny, nx = s.shape
    out = np.full(nz, float(ny))
    for z in range(nz):
        cols = np.flatnonzero(body[z].any(axis=0))
        if not len(cols):
            continue
        mid = int(cols.mean())
        start = int(np.flatnonzero(body[z].any(axis=1)).mean())  # vertebral body lies behind the body's centre
        band = s[z, start:, mid - 8:mid + 8] > BONE_HU
        rows = np.flatnonzero(band.sum(axis=1) >= 4)
        if len(rows):
            out[z] = start + rows[0]
    return ndimage.median_filter(out, size=9, mode="nearest")


# --------------------------------------------------------------------------------------------------------------------
# output


def write_mask(mask: np.ndarray, ct: CTVolume, path: str) -> None:
    import SimpleITK as sitk

    from CoronaryCalciumLib.io.geometry import apply_geometry

    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    apply_geometry(image, ct.geometry)
    tmp = path + ".part.nii.gz"
    sitk.WriteImage(image, tmp, useCompression=True)
    os.replace(tmp, path)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 2.0 * int((a & b).sum()) / total if total else 1.0


def make_masks(ct: CTVolume, consts: ScanConstants):
    spacing_zyx = (ct.spacing[2], ct.spacing[1] * BLOCK, ct.spacing[0] * BLOCK)
    voxel_ml = float(np.prod(spacing_zyx)) / 1000.0
    coarse = downsample(ct.array)
    s = ndimage.gaussian_filter(coarse, sigma=[1.0 / v for v in spacing_zyx])
    body, lungs = body_and_lungs(s, voxel_ml)
    aorta, descending = aorta_mask(s, consts, spacing_zyx)
    desc_only = tube(s.shape, densify(np.array(descending)), spacing_zyx)
    heart = heart_mask(s, body, lungs, desc_only, consts.aortic_root_z, consts.heart_seed, spacing_zyx)
    shape = ct.array.shape
    return upsample(heart, shape), upsample(aorta, shape)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ct")
    parser.add_argument("out_dir")
    parser.add_argument("--scan", choices=sorted(SCANS), default="lidc-idri-0314",
                        help="which scan's hand-read landmarks (aorta seeds, root and arch levels) to use")
    parser.add_argument("--compare", help="folder with reference heart.nii.gz and aorta.nii.gz; prints Dice")
    parser.add_argument("--review", help="folder for review pictures (needs matplotlib)")
    args = parser.parse_args(argv)
    ct = load_ct(args.ct)
    heart, aorta = make_masks(ct, SCANS[args.scan])
    os.makedirs(args.out_dir, exist_ok=True)
    voxel_ml = ct.geometry.voxel_volume_mm3 / 1000.0
    for name, mask in (("heart", heart), ("aorta", aorta)):
        write_mask(mask, ct, os.path.join(args.out_dir, name + ".nii.gz"))
        zs = np.flatnonzero(mask.any(axis=(1, 2)))
        print("%s: %.0f ml, slices %d-%d" % (name, mask.sum() * voxel_ml, zs[0], zs[-1]))
    if args.compare:
        from CoronaryCalciumLib.region.totalseg_region import read_labels_on_ct_grid

        for name, mask in (("heart", heart), ("aorta", aorta)):
            ref, _ = read_labels_on_ct_grid(os.path.join(args.compare, name + ".nii.gz"), ct)
            print("Dice %s vs %s: %.3f" % (name, args.compare, dice(mask, ref > 0)))
    if args.review:
        review(ct.array, heart, aorta, ct.spacing, args.review)
    return 0


def review(array: np.ndarray, heart: np.ndarray, aorta: np.ndarray, spacing, out_dir: str) -> None:
    """Axial slices every ~10 mm over the masks, plus a coronal and a sagittal, as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    both = heart | aorta
    zs = np.flatnonzero(both.any(axis=(1, 2)))
    step = max(1, int(round(10.0 / spacing[2])))
    cy, cx = (int(v) for v in np.argwhere(heart).mean(axis=0)[1:])

    def show(ax, img, h, a, aspect=1.0, title=""):
        ax.imshow(img, cmap="gray", vmin=-200, vmax=250, aspect=aspect, origin="upper")
        if h.any():
            ax.contour(h, [0.5], colors="r", linewidths=0.8)
        if a.any():
            ax.contour(a, [0.5], colors="y", linewidths=0.8)
        ax.set_title(title)
        ax.axis("off")

    for z in range(zs[0], zs[-1] + 1, step):
        fig, ax = plt.subplots(figsize=(7, 7))
        show(ax, array[z], heart[z], aorta[z], title="axial z=%d" % z)
        fig.savefig(os.path.join(out_dir, "axial_%03d.png" % z), dpi=80, bbox_inches="tight")
        plt.close(fig)
    for name, img, h, a in (("coronal", array[:, cy, :], heart[:, cy, :], aorta[:, cy, :]),
                            ("sagittal", array[:, :, cx], heart[:, :, cx], aorta[:, :, cx])):
        fig, ax = plt.subplots(figsize=(8, 8))
        show(ax, img[::-1], h[::-1], a[::-1], aspect=spacing[2] / spacing[0], title=name)
        fig.savefig(os.path.join(out_dir, name + ".png"), dpi=80, bbox_inches="tight")
        plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
