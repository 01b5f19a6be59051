"""Artery attribution by geometry: which of LM, LAD, LCX, RCA runs through each voxel of a region of interest that has
no per-artery labels, judged from its position relative to the heart and the aorta.

The heart frame (all in LPS mm):

- long axis: the heart mask's first principal axis, pointing from base to apex (left, anterior, inferior); when that
  axis strays more than ``max_axis_deviation_deg`` from the population direction, the population direction is used.
- aortic root (``aortic_root``): axis and centre of the aorta next to the heart; the coronary ostia are taken 12 mm
  above its lowest level, and the atrioventricular (AV) plane at that level along the long axis.
- height t: 0 at the AV plane, 1 at the apex. Angle phi around the long axis: 0 anterior (the patient's anterior
  projected onto the short-axis plane), +90 patient left, -90 patient right, +-180 posterior.

Rules, from coronary anatomy (right dominance assumed; the rule set is ``AttributionRules``):

- LM (``left_main_zone``): the short segment from the left sinus to the split, heading left from the root between the
  LAD's and the LCX's directions (direction from the root in ``lm_side_deg``), up to ``lm_reach_mm`` outside the
  aortic wall (the aorta mask's distance), or up to ``lm_fat_reach_mm`` where it crosses fat at least
  ``lm_off_heart_mm`` clear of the heart mask (between the left atrial appendage, the pulmonary trunk and the root;
  after the split the LAD and LCX lie on the heart).
- In the AV groove band (t below ``groove_band``): the LAD starts anterior (phi in [``lad_right_deg``,
  ``groove_lad_left_deg``)), the LCX runs round the left and back to phi ``posterior_split_deg``, the RCA round the
  right to the crux.
- Towards the apex: LAD and diagonals over the anterior and anterolateral wall (phi in [``lad_right_deg``,
  ``lad_left_deg``)), LCX and obtuse marginals over the lateral and posterolateral wall, RCA (posterior descending and
  acute marginal branches) over the inferior and right wall.
- With the CT given, calcium near a boundary whose artery these rules leave open takes the artery of the calcium next to
  it (``artery_continuity``).

Which data set the rules and which checked them: the angles and the groove band were set on phantom seeds 0-9 and
the frame blend on LUNG1-001; the left main's rule on phantom seeds 300-309 (its 12 mm reach and its direction: the
phantoms' left main ends within 6-14 mm of the aortic wall) and LUNG1-001 (its fat crossing: the reader's left main
lies 17-27 mm from that hand-made aorta mask, 4-6 mm clear of the heart mask); continuity on painted calcifications
(``Testing/region/test_artery_attribution_anatomy.py``). Checked on phantom seeds 310-329 (not used for any rule;
``/tmp`` evaluation like ``benchmarks/bench_totalseg_regions.py``), before -> after the left main's rule: coronary-mask
voxel recall LM 71.6 -> 99.4 %, LAD 94.2 -> 92.2 %, LCX 94.3 -> 92.8 %, RCA 100 -> 100 %; heart-shell lesions given
their artery 130 -> 131 of 135 (LM 6/8 -> 8/8, LAD 56/57 -> 55/57, LCX 23/25 -> 23/25, RCA 45/45); on the
benchmark's seeds 100-119 (``benchmarks/bench_totalseg_regions.py``) voxels 93.5 -> 93.6 % (LM 69 -> 99.5 %, LAD 93 ->
89.6 %, LCX 91 -> 88.5 %, RCA 100 %), lesions 117 -> 118 of 125 (now LM 8/8, LAD 45/49, LCX 30/33, RCA 35/35; three
proximal LAD and two LCX lesions go to the LM, the price of a left main found at all). Continuity
changed no phantom lesion (their plaques lie apart); it is shown on painted calcifications across the lateral LAD/LCX
boundary and the crux. On the real LUNG1-001 (a flat-lying heart, see ``short_axis_directions``) against a reader
(``Testing/region/test_real_chest_ct.py``): RCA 2,253 / LCX 2,583 / LAD 163 / LM 101 Agatston for the reader's
2,135 / 2,536 / 163 / 101 (before: LAD 264, LM 0, the left main going to the LAD). The phantoms' anatomy follows the
same textbook picture as these rules and LUNG1-001 is one heart, so other real scans will do worse: the attribution is
an approximation and is reported as such. Not built: grooves traced from the heart's shape (the AV and
interventricular grooves are still angles and a height band in the heart frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..io.geometry import Geometry

LABELS: Dict[str, int] = {"LM": 1, "LAD": 2, "LCX": 3, "RCA": 4}
LABELS_BY_VALUE: Dict[int, str] = {value: name for name, value in LABELS.items()}
# Population mean direction of the heart's long axis (base -> apex) in LPS: left, anterior, inferior.
PRIOR_LONG_AXIS = np.array([0.64, -0.52, -0.56])
ROOT_BLOB_MM = 20.0
OSTIA_ABOVE_ROOT_BOTTOM_MM = 12.0
MAX_SAMPLES = 200_000
OSTIUM_LEVEL_SPREAD_MM = 15.0  # the ostia lie up to this far from the estimated level (and the root centre)
FRAME_BLEND_DEG = (15.0, 24.0)  # axis deviation from the population's over which the frame turns to the lateral one


@dataclass
class AttributionRules:
    """Angles in degrees (0 anterior, +90 left, -90 right, +-180 posterior), lengths in mm, heights as fractions of the
    AV-plane-to-apex distance (the AV plane is taken at the aortic root's level)."""

    root_zone_mm: float = 35.0  # around the aortic root the side of the root decides: left system or RCA
    root_left_deg: float = 40.0  # direction from the root (same angle convention) from which on it is the left system
    lm_reach_mm: float = 12.0  # left main: up to this distance outside the aortic wall (the aorta mask) ...
    lm_side_deg: Tuple[float, float] = (58.0, 92.0)  # ... in this direction from the root, between the LAD and LCX
    lm_fat_reach_mm: float = 28.0  # ... and up to this far where it crosses fat clear of the heart mask ...
    lm_off_heart_mm: float = 2.0  # ... by at least this much (after the split the LAD and LCX lie on the heart)
    groove_band: float = 0.25  # heights below this are the AV groove (RCA, LCX) and the LAD's origin
    groove_rca_left_deg: float = 20.0  # in the groove: RCA up to here (anterior right), then LAD
    groove_lad_left_deg: float = 70.0  # in the groove: LAD up to here, then LCX
    lad_right_deg: float = -20.0  # towards the apex: LAD (and diagonals) from here ...
    lad_left_deg: float = 100.0  # ... to here, then LCX (obtuse marginals)
    posterior_split_deg: float = 172.0  # LCX up to here; beyond it (crux, posterior descending) RCA: right dominance
    max_axis_deviation_deg: float = 50.0


@dataclass
class HeartFrame:
    """Heart-centred frame estimated from masks (LPS mm)."""

    centroid: np.ndarray
    long_axis: np.ndarray
    anterior: np.ndarray
    left: np.ndarray
    base_level: float  # position of the AV plane along the long axis, relative to the centroid (mm)
    apex_level: float  # position of the apex along the long axis, relative to the centroid (mm)
    root: Optional[np.ndarray]  # aortic root centre at the ostia's level (LPS mm), None without an aorta mask
    root_radius: float = 0.0  # radius of the aortic root (mm)
    notes: List[str] = field(default_factory=list)

    def root_side(self, points: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(distance from the root centre in mm, direction from it in degrees, phi's convention) of LPS points."""
        from_root = points - self.root
        return (np.linalg.norm(from_root, axis=1),
                np.degrees(np.arctan2(from_root @ self.left, from_root @ self.anterior)))

    def coordinates(self, points: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(height t: 0 at the AV plane, 1 at the apex; angle phi in degrees) of LPS points (N, 3)."""
        relative = points - self.centroid
        along = relative @ self.long_axis
        height = (along - self.base_level) / max(self.apex_level - self.base_level, 1e-6)
        phi = np.degrees(np.arctan2(relative @ self.left, relative @ self.anterior))
        return height, phi


@dataclass
class ArteryAssignment:
    """Per-voxel artery labels (uint8 (z, y, x), LM=1, LAD=2, LCX=3, RCA=4, 0 outside the region), the frame used, and
    notes for the report."""

    labels: np.ndarray
    frame: HeartFrame
    notes: List[str] = field(default_factory=list)

    def voxel_counts(self) -> Dict[str, int]:
        return {name: int(np.count_nonzero(self.labels == value)) for name, value in LABELS.items()}


def _points_lps(indices_zyx: np.ndarray, geometry: Geometry) -> np.ndarray:
    """(N, 3) voxel indices (z, y, x) -> (N, 3) LPS points in mm."""
    ijk = indices_zyx[:, ::-1].astype(float) * np.asarray(geometry.spacing, dtype=float)
    direction = np.asarray(geometry.direction, dtype=float).reshape(3, 3)
    return np.asarray(geometry.origin, dtype=float) + ijk @ direction.T


def _sample(indices: np.ndarray, limit: int = MAX_SAMPLES) -> np.ndarray:
    if len(indices) <= limit:
        return indices
    step = int(np.ceil(len(indices) / limit))
    return indices[::step]


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


@dataclass
class AorticRoot:
    """The aortic root from an aorta mask (LPS mm): centre of its lowest 20 mm next to the heart, the ascending axis
    (pointing up, away from the heart), radius, and the level (along the axis, relative to ``centre``) of the aorta
    mask's lowest voxel there."""

    centre: np.ndarray
    axis: np.ndarray
    radius: float
    bottom_level: float

    def height_and_outward(self, point_lps) -> Tuple[float, float]:
        """(height above the aorta mask's lowest level along the axis, distance out from the root's wall) of an LPS
        point, in mm."""
        offset = np.asarray(point_lps, dtype=float) - np.asarray(self.centre, dtype=float)
        along = float(offset @ self.axis)
        radial = float(np.linalg.norm(offset - along * np.asarray(self.axis)))
        return along - float(self.bottom_level), radial - float(self.radius)


def aortic_root(aorta: np.ndarray, heart: np.ndarray, geometry: Geometry) -> Optional[AorticRoot]:
    """Estimate the aortic root where the aorta meets the heart; None when either mask is empty.

    The aorta voxel nearest the heart's centroid marks the root; the aorta within 50 mm of it gives the axis (first
    principal direction, pointing up); the lowest 15 mm of that segment along the axis give the centre and radius.
    """
    if aorta is None or heart is None or not aorta.any() or not heart.any():
        return None
    heart_centroid = _points_lps(_sample(np.argwhere(heart), 50_000), geometry).mean(axis=0)
    aorta_points = _points_lps(_sample(np.argwhere(aorta)), geometry)
    nearest = aorta_points[int(np.argmin(np.linalg.norm(aorta_points - heart_centroid, axis=1)))]
    segment = aorta_points[np.linalg.norm(aorta_points - nearest, axis=1) <= 2.5 * ROOT_BLOB_MM]
    if len(segment) < 10:
        return None
    values, vectors = np.linalg.eigh(np.cov((segment - segment.mean(axis=0)).T))
    axis = vectors[:, int(np.argmax(values))]
    if axis[2] < 0:
        axis = -axis
    along = (segment - nearest) @ axis
    bottom = float(along.min())
    slab = segment[along <= bottom + 15.0]
    centre = slab.mean(axis=0)
    relative = slab - centre
    radial = np.linalg.norm(relative - np.outer(relative @ axis, axis), axis=1)
    return AorticRoot(centre=centre, axis=axis, radius=float(np.percentile(radial, 95)),
                      bottom_level=bottom - float((centre - nearest) @ axis))


def _lateral_frame(axis: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(anterior, lateral) unit vectors across ``axis``: lateral is the patient's left projected onto the short-axis
    plane (where the left ventricle's free wall faces), anterior completes the frame towards the patient's front."""
    lateral = np.array([1.0, 0.0, 0.0])
    lateral = _unit(lateral - (lateral @ axis) * axis)
    anterior = np.cross(lateral, axis)
    if anterior[1] > 0:
        anterior = -anterior
    return anterior, lateral


def _prior_twist() -> float:
    """Angle (radians) from the lateral frame's anterior to the patient's anterior projected across the population
    long axis: the rules were set in that anterior-referenced frame, which this twist reproduces for a typical heart."""
    axis = _unit(PRIOR_LONG_AXIS)
    anterior, lateral = _lateral_frame(axis)
    reference = np.array([0.0, -1.0, 0.0])
    reference = _unit(reference - (reference @ axis) * axis)
    return float(np.arctan2(reference @ lateral, reference @ anterior))


def short_axis_directions(axis: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(anterior, left) unit vectors across the long ``axis`` that define the angle phi.

    The rules were set in a frame whose reference is the patient's front projected across the axis. That frame fails
    for a heart lying flat (long axis near left-right): "left" across such an axis is the patient's head or feet, and
    the posterolateral wall (LCX) lands on the crux (RCA), as on LUNG1-001, whose long axis is 25 degrees from the
    population's. A frame that follows the patient's left projected across the axis (where the left ventricle's free
    wall faces), turned by a fixed twist so that it equals the first on the population axis, does not. The frame used
    moves from the first to the second as the axis leaves the population direction (all of the second beyond
    ``FRAME_BLEND_DEG``), so typical hearts keep the frame the rules were set in."""
    reference = np.array([0.0, -1.0, 0.0])
    reference = _unit(reference - (reference @ axis) * axis)
    anterior, lateral = _lateral_frame(axis)
    twist = _prior_twist()
    turned = np.cos(twist) * anterior + np.sin(twist) * lateral
    deviation = float(np.degrees(np.arccos(np.clip(abs(axis @ _unit(PRIOR_LONG_AXIS)), -1.0, 1.0))))
    weight = float(np.clip((deviation - FRAME_BLEND_DEG[0]) / (FRAME_BLEND_DEG[1] - FRAME_BLEND_DEG[0]), 0.0, 1.0))
    across = np.cross(axis, reference)
    angle = weight * float(np.arctan2(turned @ across, turned @ reference))
    chosen = _unit(np.cos(angle) * reference + np.sin(angle) * across)
    left = np.cross(axis, chosen)
    if left @ lateral < 0:
        left = -left
    return chosen, _unit(left)


def heart_frame(heart: np.ndarray, aorta: Optional[np.ndarray], geometry: Geometry,
                rules: Optional[AttributionRules] = None) -> HeartFrame:
    """Estimate the heart frame from heart and aorta masks (bool (z, y, x) on ``geometry``)."""
    rules = rules or AttributionRules()
    notes: List[str] = []
    heart_points = _points_lps(_sample(np.argwhere(heart)), geometry)
    if len(heart_points) < 10:
        raise ValueError("heart mask is empty")
    centroid = heart_points.mean(axis=0)
    covariance = np.cov((heart_points - centroid).T)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    axis = eigenvectors[:, int(np.argmax(eigenvalues))]
    prior = _unit(PRIOR_LONG_AXIS)
    if axis @ prior < 0:
        axis = -axis
    deviation = float(np.degrees(np.arccos(np.clip(axis @ prior, -1.0, 1.0))))
    if deviation > rules.max_axis_deviation_deg:
        notes.append("heart long axis from the mask deviates %.0f degrees from the usual direction; the usual "
                     "direction was used" % deviation)
        axis = prior
    anterior, left = short_axis_directions(axis)
    along = (heart_points - centroid) @ axis
    apex_level = float(np.percentile(along, 99.5))
    root = None
    root_radius = 0.0
    found = aortic_root(aorta, heart, geometry) if aorta is not None else None
    if found is not None:
        root_radius = found.radius
        # the coronary ostia leave the sinuses about 10-15 mm above the lowest part of the root
        root = found.centre + found.axis * (found.bottom_level + OSTIA_ABOVE_ROOT_BOTTOM_MM)
        base_level = float((root - centroid) @ axis)
    else:
        base_level = float(np.percentile(along, 0.5) + 0.35 * (apex_level - np.percentile(along, 0.5)))
        notes.append("no aorta mask: the AV plane was estimated from the heart's extent and the left main is reported "
                     "with the LAD/LCX")
    if apex_level - base_level < 20.0:
        base_level = apex_level - 20.0
        notes.append("aortic root lies close to the apex along the long axis; the heart frame is uncertain")
    # the AV-groove arteries circle the ventricles, not the atria: centre the frame on the ventricular part
    ventricles = heart_points[along > base_level]
    if len(ventricles) >= 10:
        shift = ventricles.mean(axis=0) - centroid
        shift -= (shift @ axis) * axis  # move across the axis only; levels along it stay as measured
        centroid = centroid + shift
    return HeartFrame(centroid=centroid, long_axis=axis, anterior=anterior, left=left, base_level=base_level,
                      apex_level=apex_level, root=root, root_radius=root_radius, notes=notes)


@dataclass
class RootDistances:
    """Per point (N,): distance outside the aorta mask and outside the heart mask (mm, 0 inside, inf far away)."""

    wall_mm: np.ndarray
    heart_mm: np.ndarray


def classify_points(points: np.ndarray, frame: HeartFrame, rules: Optional[AttributionRules] = None,
                    distances: Optional[RootDistances] = None) -> np.ndarray:
    """Artery label (1-4) for each LPS point (N, 3). ``distances``: the points' distances outside the aorta and
    heart masks (default: the distance from the root centre less the root's radius, and no fat crossing)."""
    rules = rules or AttributionRules()
    height, phi = frame.coordinates(points)
    in_groove = height < rules.groove_band
    labels = np.full(len(points), LABELS["RCA"], dtype=np.uint8)
    groove_lad = (phi >= rules.groove_rca_left_deg) & (phi < rules.groove_lad_left_deg)
    groove_lcx = (phi >= rules.groove_lad_left_deg) & (phi < rules.posterior_split_deg)
    apical_lad = (phi >= rules.lad_right_deg) & (phi < rules.lad_left_deg)
    apical_lcx = (phi >= rules.lad_left_deg) & (phi < rules.posterior_split_deg)
    labels[np.where(in_groove, groove_lad, apical_lad)] = LABELS["LAD"]
    labels[np.where(in_groove, groove_lcx, apical_lcx)] = LABELS["LCX"]
    if frame.root is not None:
        # next to the aortic root the arteries leave their sinuses: the left main towards the left, the RCA forwards
        distance, side = frame.root_side(points)
        near_root = (distance <= rules.root_zone_mm) & in_groove
        labels[near_root & (side < rules.root_left_deg)] = LABELS["RCA"]
        labels[left_main_zone(distance, side, frame, rules, distances)] = LABELS["LM"]
    return labels


def left_main_zone(distance: np.ndarray, side: np.ndarray, frame: HeartFrame, rules: AttributionRules,
                   distances: Optional[RootDistances] = None) -> np.ndarray:
    """Points on the left main's course (bool): from the left sinus, heading left between the LAD's and the LCX's
    directions, up to ``lm_reach_mm`` outside the aortic wall, or up to ``lm_fat_reach_mm`` where it crosses fat at
    least ``lm_off_heart_mm`` clear of the heart mask (the proximal LAD and LCX lie on the heart)."""
    if distances is None:
        wall, off_heart = distance - frame.root_radius, np.zeros(len(distance))
    else:
        wall, off_heart = distances.wall_mm, distances.heart_mm
    low, high = rules.lm_side_deg
    reach = max(rules.lm_reach_mm, rules.lm_fat_reach_mm)
    near_ostium = distance <= frame.root_radius + reach + OSTIUM_LEVEL_SPREAD_MM
    course = (wall <= rules.lm_reach_mm) | ((wall <= rules.lm_fat_reach_mm) & (off_heart >= rules.lm_off_heart_mm))
    return near_ostium & course & (side >= low) & (side < high)


@dataclass
class DistanceField:
    """Distance (mm) outside a mask (0 inside) in the box ``low``-``high`` (voxel indices, z y x) around the aortic
    root; None when the box is empty or holds none of the mask, and ``inf`` for voxels beyond the box."""

    low: np.ndarray
    high: np.ndarray
    field_mm: Optional[np.ndarray]

    def at(self, indices_zyx: np.ndarray) -> np.ndarray:
        """The distance of each voxel index (N, 3)."""
        distances = np.full(len(indices_zyx), np.inf)
        if self.field_mm is None:
            return distances
        inside = np.all((indices_zyx >= self.low) & (indices_zyx < self.high), axis=1)
        distances[inside] = self.field_mm[tuple((indices_zyx[inside] - self.low).T)]
        return distances


def distance_field(mask: np.ndarray, geometry: Geometry, centre: np.ndarray, reach_mm: float) -> DistanceField:
    """The distance outside ``mask`` in a box reaching ``reach_mm`` plus the root's extent around ``centre`` (LPS
    mm), computed once for every voxel asked about later."""
    from scipy import ndimage

    spacing = np.array([geometry.spacing[2], geometry.spacing[1], geometry.spacing[0]], dtype=float)
    centre_index = np.floor(np.asarray(geometry.lps_to_index(tuple(centre)), dtype=float)).astype(int)
    half = np.ceil((reach_mm + 2 * ROOT_BLOB_MM + OSTIUM_LEVEL_SPREAD_MM) / spacing).astype(int)
    low = np.maximum(centre_index - half, 0)
    high = np.minimum(centre_index + half + 1, np.asarray(mask.shape))
    if np.any(high <= low):
        return DistanceField(low, high, None)
    crop = np.asarray(mask[tuple(slice(a, b) for a, b in zip(low, high))], dtype=bool)
    if not crop.any():
        return DistanceField(low, high, None)
    return DistanceField(low, high, ndimage.distance_transform_edt(~crop, sampling=spacing))


def label_region(region, heart: np.ndarray, aorta: Optional[np.ndarray], geometry: Geometry,
                 rules: Optional[AttributionRules] = None):
    """A binary ``RegionOfInterest`` (e.g. a user's mask) with LM/LAD/LCX/RCA labels from geometry; a region that
    already has artery labels is returned unchanged."""
    from .mask import region_from_array
    from .arteries import DEFAULT_LABELS

    if region.has_artery_labels:
        return region
    assigned = assign_arteries(region.labels > 0, heart, aorta, geometry, rules)
    labelled = region_from_array(assigned.labels, dict(DEFAULT_LABELS), source=region.source,
                                 blood_pool=region.blood_pool)
    labelled.warnings = list(region.warnings) + assigned.notes + [
        "arteries assigned by position relative to the heart and aorta (geometry, not a per-artery segmentation)"]
    return labelled


@dataclass
class PositionClassifier:
    """Arteries by position in one heart's frame: for ``assign_arteries`` and ``artery_continuity`` (which imports
    nothing from here). The distance fields around the aortic root are computed once per reach and reused for every
    batch of voxels."""

    frame: "HeartFrame"
    geometry: Geometry
    aorta: Optional[np.ndarray]
    heart: Optional[np.ndarray]
    _fields: Dict[float, Tuple[DistanceField, DistanceField]] = field(default_factory=dict, repr=False)

    def locate(self, indices: np.ndarray, rules: AttributionRules):
        """(LPS points in mm, distances from the aortic root for the left-main rule or None) of (z, y, x) indices."""
        return _points_lps(indices, self.geometry), self.root_distances(indices, rules)

    def root_distances(self, indices: np.ndarray, rules: AttributionRules) -> Optional[RootDistances]:
        """The distances the left main's rule reads, for voxel indices (N, 3); None without an aortic root."""
        if self.frame.root is None or self.aorta is None or self.heart is None:
            return None
        reach = max(rules.lm_reach_mm, rules.lm_fat_reach_mm)
        if reach not in self._fields:
            self._fields[reach] = (distance_field(self.aorta, self.geometry, self.frame.root, reach),
                                   distance_field(self.heart, self.geometry, self.frame.root, reach))
        wall, heart = self._fields[reach]
        return RootDistances(wall_mm=wall.at(indices), heart_mm=heart.at(indices))

    def classify(self, points: np.ndarray, rules: AttributionRules, distances) -> np.ndarray:
        return classify_points(points, self.frame, rules, distances)


def assign_arteries(region: np.ndarray, heart: np.ndarray, aorta: Optional[np.ndarray], geometry: Geometry,
                    rules: Optional[AttributionRules] = None, image: Optional[np.ndarray] = None,
                    continuity=None) -> ArteryAssignment:
    """Label every voxel of ``region`` (bool or 0/1 (z, y, x)) LM/LAD/LCX/RCA by its position relative to the heart;
    with the CT ``image`` (HU, same grid), calcium the geometry leaves open follows the calcium next to it
    (``artery_continuity``, rules ``continuity``)."""
    rules = rules or AttributionRules()
    frame = heart_frame(heart, aorta, geometry, rules)
    indices = np.argwhere(region)
    labels = np.zeros(region.shape, dtype=np.uint8)
    positions = PositionClassifier(frame, geometry, aorta, heart)
    chunk = 1_000_000
    for start in range(0, len(indices), chunk):
        part = indices[start:start + chunk]
        points, distances = positions.locate(part, rules)
        labels[tuple(part.T)] = positions.classify(points, rules, distances)
    notes = list(frame.notes)
    if image is not None:
        from .artery_continuity import follow_calcium

        labels, followed = follow_calcium(labels, region, image, positions, geometry, rules, continuity)
        notes.extend(followed)
    return ArteryAssignment(labels=labels, frame=frame, notes=notes)


@dataclass
class AttributionAgreement:
    """Agreement of assigned artery labels with true ones over the voxels both mark (fractions 0-1)."""

    voxels: int
    accuracy: float
    per_artery: Dict[str, float]  # recall: share of each true artery's voxels given that artery
    confusion: Dict[str, Dict[str, int]]  # true artery -> assigned artery -> voxels

    def summary(self) -> str:
        parts = ", ".join("%s %.0f%%" % (name, 100 * value) for name, value in self.per_artery.items())
        return "%.0f%% of %d voxels (%s)" % (100 * self.accuracy, self.voxels, parts)


def evaluate(assigned: np.ndarray, truth: np.ndarray, truth_names: Optional[Dict[int, str]] = None
             ) -> AttributionAgreement:
    """Compare assigned labels (LABELS numbering) with a true per-artery label map (default the same numbering)."""
    names = truth_names or {value: name for name, value in LABELS.items()}
    both = (assigned > 0) & (truth > 0)
    true_values = truth[both]
    given = assigned[both]
    confusion: Dict[str, Dict[str, int]] = {}
    per_artery: Dict[str, float] = {}
    correct = 0
    for value, name in names.items():
        rows = true_values == value
        count = int(np.count_nonzero(rows))
        if not count:
            continue
        confusion[name] = {other: int(np.count_nonzero(given[rows] == LABELS[other])) for other in LABELS}
        hit = confusion[name].get(name, 0)
        per_artery[name] = hit / count
        correct += hit
    total = int(np.count_nonzero(both))
    return AttributionAgreement(voxels=total, accuracy=correct / total if total else 0.0, per_artery=per_artery,
                                confusion=confusion)
