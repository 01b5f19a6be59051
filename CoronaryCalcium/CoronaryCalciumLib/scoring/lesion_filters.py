"""Lesions in an automatic region that are not coronary calcium: found, kept out of the score, and listed with the
reason so a reader can see (and undo, with ``--lesion-filters off``) every decision.

The heart-shell region is wide (10 mm either side of the heart surface), so on real chest CTs it also holds things
above 130 HU that are not in a coronary artery. Coronary calcium sits in a vessel wall in the epicardial fat of the
atrioventricular and interventricular grooves; the rules follow from that (lengths in mm, in plane unless stated):

- ``air_rim``: at least half of its voxels lie within ``AIR_REACH_MM`` (1.5) of air or lung (below ``AIR_HU``, -600 HU)
  in the same slice: the overshoot rim a sharp kernel draws along bronchi, oesophagus and pleura. Coronary arteries
  are never against air. (-600 HU, not -500: motion in a non-gated scan leaves bands of -300 to -550 HU beside a
  beating artery.)
- ``between_air``: at least ``FLANK_SHARE`` (30%) of its voxels have air or lung on both sides within ``FLANK_MM`` (8)
  along one of four in-plane axes (rows, columns, diagonals): a strip of tissue between air spaces (oesophageal and
  airway walls, pleural folds), where a sharp kernel's overshoot from both borders adds up over several mm, beyond
  ``air_rim``'s 1.5 mm. A coronary artery lies on the heart: across it, one side is myocardium and blood for more than
  8 mm. (On LIDC-IDRI-0314 the four lesions beside the oesophagus that the other rules left had 50-100% such voxels;
  LUNG1-001's coronary
  lesions 0-15%, the 15% a posterolateral LCX branch under a lung tip.)
- ``soft_tissue_noise``: its surroundings (a ring ``RING_MM`` = 1.5-4 mm around it, calcium and air left out) have a
  median of at least 0 HU (myocardium, blood, consolidation, lymph node; not fat) and its peak is less than
  ``NOISE_SDS`` (7) noise SDs above that median: noise or a faint density in soft tissue, not a calcified plaque. On
  LUNG1-001 (noise 23 HU) true coronary lesions stood 12-39 SDs above their surroundings.
- ``below_noise``: its peak is less than ``ROSE_K`` (5) noise SDs above the blood pool's median (unenhanced blood and
  myocardium, 30-50 HU, the brightest soft tissue noise can lift over the threshold). Rose's criterion (A. Rose,
  J. Opt. Soc. Am. 38:196, 1948; Burgess, JOSA A 16:633, 1999): a signal is told from noise reliably only at about 5
  noise SDs; below that, in a region of 10^5-10^6 voxels, noise alone gives maxima of 4-5 SDs (the expected maximum of N
  Gaussian samples is about sqrt(2 ln N) SDs). At calcium-scoring noise (18-20 HU) blood + 5 SDs is at or below 130 HU
  and the rule changes nothing; it bites in noisy (low-dose) scans, which the image-quality gate also flags.
- ``aortic_wall``: within ``AORTIC_WALL_MM`` (3.5) of the aorta mask and outside the ostial zone, where the coronary
  ostia and the left main are: calcium of the aortic wall that the region's 1.5 mm aortic margin let in. The ostial
  zone reaches ``OSTIAL_HEIGHT_MM`` (40) up the root's axis from the aorta mask's lowest level (the sinuses of Valsalva,
  about 20 mm, plus the rise of the ostia over them and the masks' variation: the phantoms' ostia lie 31-34 mm up) and
  ``OSTIAL_REACH_MM`` (25, the left main's length) out from the root's wall. Measured as one distance from the root's
  centre (30 mm), as before, it cut left-main calcium 1-8 mm from its ostium in two of the 17 calcified phantoms of
  the agreement benchmark (10 and 56 Agatston), while the aortic-wall lesion of LUNG1-001 lies 50 mm from the root's
  axis, beside the descending aorta.

They run only on automatic regions (built from heart and aorta masks) unless asked for: a region a user drew around the
arteries is the user's reading, and a phantom insert's score must not move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

AIR_HU = -600.0
AIR_REACH_MM = 1.5
AIR_SHARE = 0.5
RING_MM = (1.5, 4.0)
SOFT_TISSUE_HU = 0.0
NOISE_SDS = 7.0
ROSE_K = 5.0
FLANK_MM = 8.0
FLANK_SHARE = 0.3
AXES_YX = ((0, 1), (1, 0), (1, 1), (1, -1))
AORTIC_WALL_MM = 3.5
OSTIAL_HEIGHT_MM = 40.0
OSTIAL_REACH_MM = 25.0
MODES = ("auto", "on", "off")


@dataclass
class LesionContext:
    """What the rules need, on the scoring grid: HU and lesion ids in the scored box, the box, voxel spacing (z, y, x)
    mm, the detection threshold (HU), the image noise (HU SD; None: the noise rules are skipped), the blood pool's median
    (HU; None: ``below_noise`` is skipped), air (bool, the box: below
    ``AIR_HU`` in the CT's own voxels, as slabs and a blur brighten small air pockets; None: from ``hu``), the aorta
    mask (bool, full grid) and the aortic root (``region.artery_attribution.AorticRoot``: centre and axis in LPS mm,
    radius and lowest level in mm) when known."""

    hu: np.ndarray
    lesion_labels: np.ndarray
    box: Tuple[slice, slice, slice]
    spacing_zyx: Tuple[float, float, float]
    threshold_hu: float
    noise_hu: Optional[float]
    blood_hu: Optional[float] = None
    air: Optional[np.ndarray] = None
    aorta: Optional[np.ndarray] = None
    root: Optional[object] = None  # region.artery_attribution.AorticRoot (scoring does not import region here)


def _in_plane_distance(mask: np.ndarray, spacing_zyx: Sequence[float]) -> np.ndarray:
    """Distance (mm) in each voxel's own slice to the nearest voxel of ``mask`` (a huge z spacing keeps it 2D)."""
    from scipy import ndimage

    if not mask.any():
        return np.full(mask.shape, np.inf, dtype=np.float32)
    return ndimage.distance_transform_edt(~mask, sampling=(1e6, spacing_zyx[1], spacing_zyx[2]))


def between_air_share(lesion: np.ndarray, air: np.ndarray, spacing_zyx: Sequence[float],
                      reach_mm: float = FLANK_MM) -> float:
    """Share of the ``lesion`` voxels (bool, z y x) with ``air`` within ``reach_mm`` on both sides along at least one
    in-plane axis (rows, columns, diagonals). Rays leaving the array find no air."""
    where = np.argwhere(lesion)
    flanked = np.zeros(len(where), dtype=bool)
    for dy, dx in AXES_YX:
        steps = int(reach_mm / float(np.hypot(dy * spacing_zyx[1], dx * spacing_zyx[2])))
        both = np.ones(len(where), dtype=bool)
        for sign in (1, -1):
            hit = np.zeros(len(where), dtype=bool)
            for k in range(1, steps + 1):
                y, x = where[:, 1] + sign * k * dy, where[:, 2] + sign * k * dx
                inside = (y >= 0) & (y < air.shape[1]) & (x >= 0) & (x < air.shape[2])
                hit[inside] |= air[where[inside, 0], y[inside], x[inside]]
            both &= hit
        flanked |= both
    return float(flanked.mean()) if len(where) else 0.0


def find_non_coronary(context: LesionContext, centroids_lps: Dict[int, Sequence[float]],
                      peaks_hu: Dict[int, float]) -> Dict[int, str]:
    """{lesion id: reason} for the lesions the rules take out (see the module docstring)."""
    from scipy import ndimage

    reasons: Dict[int, str] = {}
    spacing = context.spacing_zyx
    pad = (0,) + tuple(int(np.ceil(max(RING_MM[1], AORTIC_WALL_MM, FLANK_MM) / s)) + 1 for s in spacing[1:])
    for lesion_id, found in enumerate(ndimage.find_objects(context.lesion_labels), start=1):
        if found is None or lesion_id not in peaks_hu:
            continue
        window = tuple(slice(max(0, f.start - p), min(n, f.stop + p))
                       for f, p, n in zip(found, pad, context.hu.shape))
        lesion = context.lesion_labels[window] == lesion_id
        hu = context.hu[window]
        air = context.air[window] if context.air is not None else hu < AIR_HU
        air_share = float(np.mean(_in_plane_distance(air, spacing)[lesion] <= AIR_REACH_MM))
        if air_share >= AIR_SHARE:
            reasons[lesion_id] = ("air_rim: %.0f%% of its voxels lie within %g mm of air or lung in the same slice "
                                  "(sharp-kernel overshoot)" % (100 * air_share, AIR_REACH_MM))
            continue
        flanked = between_air_share(lesion, air, spacing)
        if flanked >= FLANK_SHARE:
            reasons[lesion_id] = ("between_air: %.0f%% of its voxels have air or lung within %g mm on both sides in "
                                  "the same slice (a wall between air spaces, not an artery on the heart)"
                                  % (100 * flanked, FLANK_MM))
            continue
        if context.noise_hu:
            distance = _in_plane_distance(lesion, spacing)
            ring = (distance > RING_MM[0]) & (distance <= RING_MM[1]) & (hu < context.threshold_hu) & ~air
            if np.count_nonzero(ring) >= 8:
                background = float(np.median(hu[ring]))
                excess = (peaks_hu[lesion_id] - background) / context.noise_hu
                if background >= SOFT_TISSUE_HU and excess < NOISE_SDS:
                    reasons[lesion_id] = ("soft_tissue_noise: peak %.0f HU is only %.1f noise SDs above its "
                                          "soft-tissue surroundings (median %.0f HU; fat would be below 0)"
                                          % (peaks_hu[lesion_id], excess, background))
                    continue
            if context.blood_hu is not None:
                above = (peaks_hu[lesion_id] - context.blood_hu) / context.noise_hu
                if above < ROSE_K:
                    reasons[lesion_id] = ("below_noise: peak %.0f HU is only %.1f noise SDs (%.0f HU) above the blood "
                                          "pool (%.0f HU); under %g it cannot be told from noise (Rose criterion)"
                                          % (peaks_hu[lesion_id], above, context.noise_hu, context.blood_hu, ROSE_K))
                    continue
        if context.aorta is not None and context.root is not None:
            full = tuple(slice(w.start + b.start, w.stop + b.start) for w, b in zip(window, context.box))
            aorta = context.aorta[full]
            if aorta.any():
                nearest = float(ndimage.distance_transform_edt(~aorta, sampling=spacing)[lesion].min())
                height, outward = context.root.height_and_outward(centroids_lps[lesion_id])
                if nearest <= AORTIC_WALL_MM and (height > OSTIAL_HEIGHT_MM or outward > OSTIAL_REACH_MM):
                    reasons[lesion_id] = ("aortic_wall: %.1f mm from the aorta, %.0f mm up the aortic root's axis "
                                          "and %.0f mm out from its wall (outside the zone of the coronary ostia "
                                          "and the left main)" % (nearest, height, outward))
    return reasons
