"""A random but plausible patient: body habitus, chest wall, spine, ribs, sternum, diaphragm, heart, great vessels, airway and
coronary tree, all in LPS millimetres with the body axis at x = y = 0 and z = 0 at the centre of the ventricular base.

Sizes follow adult anatomy: chest 300-380 mm wide, heart long axis 80-100 mm, aorta 24-36 mm across, coronary arteries
1.2-4.5 mm across. ``sample_anatomy`` draws one from a seeded generator; nothing here renders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from .heart import CoronaryTree, HeartFrame, build_coronary_tree, catmull_rom, resample


@dataclass
class Tube:
    """A tube as a dense centre line (N, 3) mm with radii (N,) mm."""

    name: str
    points: np.ndarray
    radii: np.ndarray


@dataclass
class Body:
    """Elliptical chest: half width ``a`` and half depth ``b`` (mm) at heart level, and layer thicknesses (mm)."""

    a: float
    b: float
    skin: float
    fat_front: float
    fat_side: float
    fat_back: float
    muscle_front: float
    muscle_side: float
    muscle_back: float
    wall: float  # intercostal layer holding the ribs

    def layers(self, z: float, narrowing: float = 1.0) -> List[Tuple[float, float, float, float]]:
        """(cx, cy, a, b) of the outer skin, fat, muscle and pleural-cavity ellipses at height z."""
        a, b, cy = self.a * narrowing, self.b * (0.5 + 0.5 * narrowing), 0.0
        result = [(0.0, cy, a, b)]
        for front, side, back in ((self.skin, self.skin, self.skin),
                                  (self.fat_front, self.fat_side, self.fat_back),
                                  (self.muscle_front + self.wall, self.muscle_side + self.wall, self.muscle_back + self.wall)):
            a -= side
            b -= (front + back) / 2.0
            cy += (front - back) / 2.0
            result.append((0.0, cy, a, b))
        return result


@dataclass
class Spine:
    """Thoracic spine: vertebral body centre y (mm), radius (mm), level height and disc height (mm), level phase (mm)."""

    y: float
    radius: float
    level_height: float
    disc_height: float
    phase: float

    @property
    def canal_y(self) -> float:
        return self.y + self.radius + 8.0


@dataclass
class Rib:
    """One rib: side (+1 left, -1 right), z of its head (mm), drop to its anterior end (mm), angular extent (degrees from
    the posterior midline), cross-section height (z) and thickness (mm)."""

    side: int
    z_head: float
    drop: float
    start_deg: float
    end_deg: float
    height: float
    thickness: float

    def z_at(self, angle_deg: np.ndarray) -> np.ndarray:
        fraction = np.clip((angle_deg - self.start_deg) / (self.end_deg - self.start_deg), 0.0, 1.0)
        return self.z_head - self.drop * fraction ** 1.15


@dataclass
class Dome:
    """A diaphragm dome: apex (x, y, z) mm; below it the abdomen fills a disc whose radius grows as sqrt(depth / kappa)."""

    x: float
    y: float
    z: float
    kappa: float

    def radius_at(self, z: float) -> float:
        return math.sqrt(max(self.z - z, 0.0) / self.kappa)


@dataclass
class Anatomy:
    """One synthetic patient (see module docstring)."""

    body: Body
    spine: Spine
    ribs: List[Rib]
    sternum: Tuple[float, float, float, float]  # half width, half thickness, z top, z bottom (mm)
    heart: HeartFrame
    epicardial_fat: float
    atria: Dict[str, Tuple[np.ndarray, Tuple[float, float, float]]]  # name -> (centre LPS, local semi-axes)
    aorta: Tube
    aortic_root: Tuple[np.ndarray, np.ndarray, float]  # annulus centre, axis, sinus radius
    pulmonary: List[Tube]
    veins: List[Tube]
    trachea: List[Tube]
    esophagus: Tube
    domes: Dict[str, Dome]
    stomach_bubble: Optional[Tuple[np.ndarray, Tuple[float, float, float]]]
    coronary: CoronaryTree
    lung_hila: Dict[str, np.ndarray]
    upper_narrowing_z: float
    apex_z: float
    fov_centre: Tuple[float, float] = (0.0, 0.0)
    info: Dict[str, float] = field(default_factory=dict)

    def narrowing(self, z: float) -> float:
        """Chest-width factor at height z (1 at and below the heart, narrowing towards the lung apices)."""
        excess = max(0.0, z - self.upper_narrowing_z)
        return max(0.55, 1.0 - 0.004 * excess)

    def cavity(self, z: float) -> Tuple[float, float, float, float]:
        return self.body.layers(z, self.narrowing(z))[3]


def _tube(name: str, control: np.ndarray, radii_control: np.ndarray, step: float) -> Tube:
    points = catmull_rom(np.asarray(control, dtype=float), step)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    control_arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(control, axis=0), axis=1))])
    radii = np.interp(arc / arc[-1] * control_arc[-1], control_arc, radii_control)
    return Tube(name, points, radii)


def _ring_top_angle(heart: HeartFrame) -> float:
    """Angle (degrees) of the highest point of the ventricular base ring."""
    return math.degrees(math.atan2(heart.right[2] * heart.radius_b, heart.anterior[2] * heart.radius_a)) % 360.0


def _heart_points(heart: HeartFrame, atria_shape, size: float, grow: float) -> np.ndarray:
    """Points on the outline of the ventricles and atria grown by ``grow`` mm (base at the origin)."""
    t, phi = np.meshgrid(np.linspace(0, 1, 25), np.linspace(0, 360, 37))
    shell, _ = heart.surface(t.ravel(), phi.ravel(), grow)
    points = [shell]
    for centre, axes in atria_shape.values():
        for sign in (-1, 1):
            for k in range(3):
                local = np.array(centre, dtype=float) * size
                local[k] += sign * (axes[k] * size + grow)
                points.append(heart.to_world(local)[None, :])
    return np.vstack(points)


def sample_anatomy(rng: np.random.Generator, z_low: float = -200.0, z_high: float = 200.0) -> Anatomy:
    """Draw a patient. ``z_low``/``z_high`` bound the vertical structures (mm)."""
    u = rng.uniform
    adiposity = float(rng.beta(2.0, 2.5))
    body = Body(
        a=u(150, 172) + 25 * adiposity,
        b=u(110, 124) + 22 * adiposity,
        skin=2.0,
        fat_front=3 + 16 * adiposity + u(-1, 1),
        fat_side=4 + 26 * adiposity + u(-2, 2),
        fat_back=3 + 12 * adiposity,
        muscle_front=u(5, 9),
        muscle_side=u(7, 12),
        muscle_back=u(8, 12),
        wall=u(6, 8),
    )
    layers = body.layers(0.0)
    cav_cx, cav_cy, cav_a, cav_b = layers[3]
    y_post = cav_cy + cav_b
    y_ant = cav_cy - cav_b

    spine_radius = u(15.5, 19.0)
    spine = Spine(y=y_post - spine_radius - u(14, 20), radius=spine_radius, level_height=u(24, 28),
                  disc_height=u(5, 7), phase=u(0, 30))
    esophagus_y = spine.y - spine.radius - 8.0
    esophagus_r = u(6.5, 8.0)

    # heart: orientation and size, scaled down if it would not fit between the sternum and the oesophagus
    fat = 2.0 + 5.0 * adiposity + u(0, 1.5)
    azimuth, elevation = u(35, 52), u(30, 42)
    size = u(0.92, 1.1)
    shape = (u(84, 96), u(40, 45), u(43, 49))
    atria_shape = {"LA": ((-26.0, -20.0, -10.0), (24.0, 20.0, 30.0)), "RA": ((-20.0, 2.0, 30.0), (26.0, 26.0, 22.0))}
    front_clearance = u(2, 7)
    available = (esophagus_y - esophagus_r - 3.0) - (y_ant + front_clearance)
    for _ in range(20):
        heart = HeartFrame.from_angles(base=(0.0, 0.0, 0.0), azimuth_deg=azimuth, elevation_deg=elevation,
                                       length=shape[0] * size, radius_a=shape[1] * size, radius_b=shape[2] * size)
        extent = _heart_points(heart, atria_shape, size, fat + 1.5)
        if extent[:, 1].max() - extent[:, 1].min() <= available or size < 0.75:
            break
        size *= 0.97
    base_y = (y_ant + front_clearance) - extent[:, 1].min()
    heart.base = np.array([u(-12, 0), base_y, 0.0])
    extent = extent + heart.base
    lowest = float(extent[:, 2].min())
    apex = heart.to_world([heart.length, 0.0, 0.0])
    atria = {name: (heart.to_world(np.array(centre) * size), tuple(s * size for s in axes))
             for name, (centre, axes) in atria_shape.items()}

    # aorta: root at the centre of the base, ascending, arch, descending beside the spine
    ring_top_z = float(heart.surface(np.array([0.0]), np.array([_ring_top_angle(heart)]))[0][0, 2])
    la_centre, la_axes = atria["LA"]
    la_front = la_centre[1] - 0.8 * la_axes[1]
    r_root = u(14.0, 17.5)
    root = np.array([heart.base[0] - u(2, 8), la_front - 0.5 * r_root, ring_top_z - u(5, 9)])
    root_axis = np.array([-0.12, -0.18, 1.0])
    root_axis /= np.linalg.norm(root_axis)
    r_asc = r_root * u(0.88, 1.0)
    r_desc = r_asc * u(0.72, 0.82)
    asc_len = u(45, 60)
    asc_top = root + root_axis * asc_len
    desc_x = spine.radius * 0.85 + r_desc * 0.9
    desc_y = spine.y - spine.radius * 0.45
    arch_top_z = asc_top[2] + u(18, 28)
    aorta_control = np.array([
        root - root_axis * 4.0,
        root + root_axis * 15.0,
        asc_top,
        [asc_top[0] + 6.0, asc_top[1] + 14.0, arch_top_z - 4.0],
        [(asc_top[0] + desc_x) / 2.0 + 4.0, (asc_top[1] + desc_y) / 2.0 + 6.0, arch_top_z],
        [desc_x, desc_y - 6.0, arch_top_z - 10.0],
        [desc_x, desc_y, arch_top_z - 35.0],
        [desc_x - 2.0, desc_y - 2.0, 0.0],
        [desc_x - 8.0, desc_y - 12.0, z_low - 30.0],
    ])
    aorta_radii = np.array([r_root * 0.95, r_root, r_asc, r_asc * 0.95, r_asc * 0.88, r_desc * 1.05, r_desc, r_desc * 0.95,
                            r_desc * 0.85])
    aorta = _tube("aorta", aorta_control, aorta_radii, step=1.5)

    tree = build_coronary_tree(heart, root, root_axis, r_root, rng, size_scale=u(0.85, 1.15))

    # pulmonary trunk from the right-ventricular outflow, up and left, splitting into left and right arteries
    rvot, _ = heart.surface(np.array([0.05]), np.array([345.0]), np.array([-6.0]))
    rvot = rvot[0]
    r_pa = u(12, 15)
    split = np.array([root[0] + u(22, 30), root[1] + u(10, 18), root[2] + u(28, 36)])
    trunk = _tube("pulmonary trunk", np.array([rvot, rvot + np.array([2.0, -2.0, 12.0]), split]),
                  np.array([r_pa, r_pa, r_pa * 0.95]), step=1.5)
    lpa = _tube("left pulmonary artery", np.array([split, split + [22, 18, 4], split + [48, 34, -6]]),
                np.array([r_pa * 0.75, r_pa * 0.7, r_pa * 0.55]), step=1.0)
    rpa_mid = np.array([asc_top[0] - 5.0, asc_top[1] + r_asc + 12.0, split[2] - 4.0])
    rpa = _tube("right pulmonary artery", np.array([split, rpa_mid, rpa_mid + [-45, 8, -8]]),
                np.array([r_pa * 0.75, r_pa * 0.7, r_pa * 0.55]), step=1.0)

    ra_centre = atria["RA"][0]
    svc_x = min(ra_centre[0] + 6.0, root[0] - r_asc - 12.0)
    svc = _tube("superior vena cava", np.array([[svc_x, ra_centre[1] - 2.0, ra_centre[2] + 10.0],
                                                [svc_x - 2.0, ra_centre[1] + 2.0, z_high + 30.0]]),
                np.array([u(8, 11)] * 2), step=1.5)
    ivc = _tube("inferior vena cava", np.array([[ra_centre[0] + 8.0, ra_centre[1] + 6.0, ra_centre[2] - 10.0],
                                                [ra_centre[0] + 14.0, ra_centre[1] + 14.0, z_low - 30.0]]),
                np.array([u(10, 13)] * 2), step=1.5)

    carina = np.array([u(-3, 3), esophagus_y - 16.0, root[2] + u(42, 55)])
    r_trachea = u(8, 10)
    trachea = [
        _tube("trachea", np.array([carina, carina + [0, -6, 40], carina + [0, -12, z_high + 40 - carina[2]]]),
              np.array([r_trachea] * 3), step=1.5),
        _tube("right main bronchus", np.array([carina, carina + [-22, 4, -16], carina + [-45, 10, -34]]),
              np.array([r_trachea * 0.75, r_trachea * 0.7, r_trachea * 0.55]), step=1.0),
        _tube("left main bronchus", np.array([carina, carina + [26, 6, -14], carina + [50, 14, -30]]),
              np.array([r_trachea * 0.7, r_trachea * 0.65, r_trachea * 0.5]), step=1.0),
    ]
    esophagus = Tube("esophagus", np.array([[4.0, esophagus_y, z_high + 30.0], [6.0, esophagus_y + 3.0, z_low - 30.0]]),
                     np.array([esophagus_r] * 2))
    esophagus = Tube("esophagus", resample(esophagus.points, 2.0), np.full(resample(esophagus.points, 2.0).shape[0],
                                                                                 esophagus.radii[0]))

    left_dome = Dome(x=cav_a * 0.42, y=cav_cy + 0.15 * cav_b, z=lowest - u(1, 4), kappa=u(0.0025, 0.0045))
    right_dome = Dome(x=-cav_a * 0.45, y=cav_cy + 0.1 * cav_b, z=left_dome.z + u(8, 20), kappa=u(0.0025, 0.0045))
    bubble = None
    if rng.random() < 0.5:
        bubble = (np.array([left_dome.x + u(-10, 10), left_dome.y - u(0, 20), left_dome.z - u(12, 20)]),
                  (u(20, 35), u(15, 25), u(8, 14)))

    # ribs: one pair per level, heads beside the vertebrae, sloping down towards the front
    ribs: List[Rib] = []
    level = spine.level_height + spine.disc_height
    first_head = root[2] + 140.0
    for index in range(12):
        z_head = first_head - index * level * u(0.95, 1.05)
        for side in (-1, 1):
            ribs.append(Rib(side=side, z_head=z_head + u(-2, 2), drop=u(65, 95) * (1.0 if index < 7 else 0.7),
                            start_deg=u(18, 24), end_deg=(u(140, 155) if index < 7 else u(100, 125) - 4 * (index - 7)),
                            height=u(9, 12), thickness=u(5.5, 7.5)))
    sternum = (u(12, 16), u(5, 6.5), root[2] + u(60, 80), apex[2] - u(5, 20))
    hila = {"left": np.array([cav_a * 0.28, cav_cy + 0.2 * cav_b, root[2] + 8.0]),
            "right": np.array([-cav_a * 0.3, cav_cy + 0.2 * cav_b, root[2] + 10.0])}

    info = {"adiposity": adiposity, "heart_size": size, "body_width_mm": 2 * body.a, "body_depth_mm": 2 * body.b}
    return Anatomy(
        body=body, spine=spine, ribs=ribs, sternum=sternum, heart=heart, epicardial_fat=fat, atria=atria,
        aorta=aorta, aortic_root=(root, root_axis, r_root), pulmonary=[trunk, lpa, rpa], veins=[svc, ivc],
        trachea=trachea, esophagus=esophagus, domes={"left": left_dome, "right": right_dome},
        stomach_bubble=bubble, coronary=tree, lung_hila=hila, upper_narrowing_z=root[2] + 45.0, apex_z=float(apex[2]),
        fov_centre=(float(heart.base[0] + 18.0), -12.0), info=info,
    )
