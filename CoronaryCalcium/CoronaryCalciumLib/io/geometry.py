"""Image grid geometry in LPS patient coordinates (the DICOM and ITK convention), and comparisons between grids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

Vector3 = Tuple[float, float, float]


@dataclass(frozen=True)
class Geometry:
    """Where a (z, y, x) voxel array sits in patient space.

    ``spacing``, ``origin`` and the columns of ``direction`` are in (x, y, z) order as in SimpleITK: ``origin`` is the
    LPS position (mm) of voxel (0, 0, 0); ``direction`` is the 3x3 matrix, row-major, whose columns are the unit vectors of
    the x (column), y (row) and z (slice) index axes; ``shape`` is the numpy (z, y, x) shape.
    """

    shape: Tuple[int, int, int]
    spacing: Vector3
    origin: Vector3
    direction: Tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)

    @property
    def voxel_volume_mm3(self) -> float:
        """Voxel volume in mm3."""
        return float(self.spacing[0] * self.spacing[1] * self.spacing[2])

    @property
    def pixel_area_mm2(self) -> float:
        """In-plane pixel area in mm2."""
        return float(self.spacing[0] * self.spacing[1])

    def index_to_lps(self, zyx: Sequence[float]) -> Vector3:
        """Continuous (z, y, x) voxel index -> LPS point in mm."""
        ijk = np.array([zyx[2], zyx[1], zyx[0]], dtype=float) * np.asarray(self.spacing, dtype=float)
        point = np.asarray(self.origin, dtype=float) + np.asarray(self.direction, dtype=float).reshape(3, 3) @ ijk
        return (float(point[0]), float(point[1]), float(point[2]))

    def lps_to_index(self, lps: Sequence[float]) -> Vector3:
        """LPS point in mm -> continuous (z, y, x) voxel index."""
        matrix = np.asarray(self.direction, dtype=float).reshape(3, 3)
        ijk = np.linalg.solve(matrix, np.asarray(lps, dtype=float) - np.asarray(self.origin, dtype=float))
        ijk = ijk / np.asarray(self.spacing, dtype=float)
        return (float(ijk[2]), float(ijk[1]), float(ijk[0]))

    def matches(self, other: "Geometry", tolerance_mm: float = 1e-3) -> bool:
        """True when both describe the same voxel grid (same shape; spacing, origin and direction within tolerance)."""
        return (
            tuple(self.shape) == tuple(other.shape)
            and np.allclose(self.spacing, other.spacing, rtol=1e-5, atol=tolerance_mm * 1e-2)
            and np.allclose(self.origin, other.origin, atol=tolerance_mm * 10)
            and np.allclose(self.direction, other.direction, atol=1e-4)
        )

    def describe_difference(self, other: "Geometry") -> str:
        """One phrase naming how ``other`` differs from this grid."""
        parts = []
        if tuple(self.shape) != tuple(other.shape):
            parts.append("size %s vs %s" % (_xyz(other.shape[::-1]), _xyz(self.shape[::-1])))
        if not np.allclose(self.spacing, other.spacing, rtol=1e-5, atol=1e-5):
            parts.append("spacing %s vs %s mm" % (_xyz(other.spacing), _xyz(self.spacing)))
        if not np.allclose(self.origin, other.origin, atol=1e-2):
            parts.append("origin %s vs %s mm" % (_xyz(other.origin), _xyz(self.origin)))
        if not np.allclose(self.direction, other.direction, atol=1e-4):
            parts.append("orientation differs")
        return ", ".join(parts) or "same grid"


def _xyz(values: Sequence[float]) -> str:
    return "x".join("%g" % round(float(v), 3) for v in values)


def geometry_of_sitk(image) -> Geometry:
    """Geometry of a SimpleITK image (3D)."""
    size = image.GetSize()
    return Geometry(
        shape=(int(size[2]), int(size[1]), int(size[0])),
        spacing=tuple(float(s) for s in image.GetSpacing()),
        origin=tuple(float(o) for o in image.GetOrigin()),
        direction=tuple(float(d) for d in image.GetDirection()),
    )


def apply_geometry(image, geometry: Geometry) -> None:
    """Set spacing, origin and direction of a SimpleITK image in place."""
    image.SetSpacing(tuple(geometry.spacing))
    image.SetOrigin(tuple(geometry.origin))
    image.SetDirection(tuple(geometry.direction))
