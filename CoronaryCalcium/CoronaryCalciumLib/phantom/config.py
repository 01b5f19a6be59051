"""Settings of one synthetic CT: protocol (slices, field of view, noise, sharpness), anatomy variant, calcium burden and
mask imperfections. Lengths in mm, noise as the standard deviation in HU of the final image."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Dict, Optional

from ..errors import InputError
from .kernel import get_kernel

# Slice thickness (mm) -> default reconstruction increment (mm). 3 mm is the Agatston standard (contiguous); thinner
# reconstructions are usually made with overlapping increments.
SLICE_PROTOCOLS: Dict[float, float] = {3.0: 3.0, 2.5: 1.25, 1.5: 1.0, 1.0: 0.5, 0.625: 0.5}

VARIANTS = ("cardiac", "chest")
BURDENS = ("auto", "zero", "minimal", "mild", "moderate", "severe")


@dataclass
class MaskImperfections:
    """How far the written coronary mask departs from the exact one, mimicking TotalSegmentator pseudo-labels.

    Each effect happens with its probability (drawn from the case's seed): one voxel of dilation (over-segmentation) or
    erosion (under-segmentation), loss of the distal part of an artery, a rigid shift of up to ``max_shift_voxels`` in
    plane and one slice, and the left main labelled as LAD.
    """

    enabled: bool = False
    dilate_probability: float = 0.35
    erode_probability: float = 0.25
    missing_distal_probability: float = 0.4
    distal_keep_fraction: tuple = (0.45, 0.85)
    shift_probability: float = 0.4
    max_shift_voxels: int = 2
    lm_as_lad_probability: float = 0.15


@dataclass
class PhantomConfig:
    """Everything that defines a case besides its seed.

    ``variant``: "cardiac" (ECG-gated calcium-scoring CT, heart-centred field of view) or "chest" (non-gated chest CT:
    whole-thorax field of view, cardiac motion blurs coronaries and plaques). ``burden``: the calcium category aimed at
    ("auto" draws one with realistic frequencies; the reference score decides the final category). ``noise_sd_hu`` is the
    noise standard deviation in a uniform region of the final image; ``psf_fwhm_mm`` the in-plane resolution;
    ``kernel`` the reconstruction kernel ("soft", or "sharp": mid-frequency MTF boost, see ``kernel.py``).
    ``coverage_mm`` is the scanned length, unless ``n_slices`` is given.
    """

    variant: str = "cardiac"
    matrix: int = 512
    fov_mm: Optional[float] = None  # None: 250 (cardiac) or body width + margin (chest)
    slice_thickness_mm: float = 3.0
    slice_increment_mm: Optional[float] = None  # None: from SLICE_PROTOCOLS
    n_slices: Optional[int] = None
    coverage_mm: Optional[float] = None  # None: 180 (cardiac) or 270 (chest)
    noise_sd_hu: float = 18.0
    psf_fwhm_mm: float = 1.0
    kernel: str = "soft"  # reconstruction kernel, see kernel.KERNELS: "soft" (PSF only) or "sharp" (edge overshoot)
    kvp: float = 120.0
    burden: str = "auto"
    n_plaques: Optional[int] = None  # overrides the number drawn for the burden
    aortic_calcium: Optional[bool] = None  # None: drawn (more likely with coronary calcium)
    valve_calcium: Optional[bool] = None
    mitral_calcium: Optional[bool] = None
    imperfections: MaskImperfections = field(default_factory=MaskImperfections)
    lung_vessels: bool = True
    mask_margin_mm: float = 1.0
    noise_free: bool = False  # True: no noise added (the noise-free image is always kept in the case as well)
    contrast: bool = False  # contrast-enhanced scan: blood, aorta, coronary lumen enhanced, myocardium mildly
    contrast_blood_hu: Optional[float] = None  # enhanced blood level; None: drawn from materials.CONTRAST_BLOOD_HU

    @property
    def increment_mm(self) -> float:
        """Reconstruction increment (mm): given, or the protocol default for the thickness, or the thickness."""
        if self.slice_increment_mm:
            return float(self.slice_increment_mm)
        return float(SLICE_PROTOCOLS.get(round(self.slice_thickness_mm, 3), self.slice_thickness_mm))

    def scan_length_mm(self) -> float:
        """Scanned length in mm (slice positions span this minus one increment)."""
        if self.n_slices:
            return self.n_slices * self.increment_mm
        if self.coverage_mm:
            return float(self.coverage_mm)
        return 270.0 if self.variant == "chest" else 180.0

    def slice_count(self) -> int:
        if self.n_slices:
            return int(self.n_slices)
        return max(2, int(round(self.scan_length_mm() / self.increment_mm)))

    def validate(self) -> "PhantomConfig":
        """Raise InputError with a one-line reason for settings that cannot make a CT."""
        if self.variant not in VARIANTS:
            raise InputError("phantom variant must be one of %s, not %r" % (", ".join(VARIANTS), self.variant))
        if self.burden not in BURDENS:
            raise InputError("calcium burden must be one of %s, not %r" % (", ".join(BURDENS), self.burden))
        if not 32 <= self.matrix <= 1024:
            raise InputError("matrix must be 32-1024 pixels, not %s" % self.matrix)
        if self.fov_mm is not None and not 60.0 <= self.fov_mm <= 600.0:
            raise InputError("field of view must be 60-600 mm, not %s" % self.fov_mm)
        if not 0.3 <= self.slice_thickness_mm <= 10.0:
            raise InputError("slice thickness must be 0.3-10 mm, not %s" % self.slice_thickness_mm)
        increment = self.increment_mm
        if not 0.1 <= increment <= self.slice_thickness_mm * 2:
            raise InputError("slice increment %s mm does not suit a %s mm slice" % (increment, self.slice_thickness_mm))
        if self.n_slices is not None and not 2 <= self.n_slices <= 2000:
            raise InputError("number of slices must be 2-2000, not %s" % self.n_slices)
        if not 0.0 <= self.noise_sd_hu <= 200.0:
            raise InputError("noise SD must be 0-200 HU, not %s" % self.noise_sd_hu)
        if not 0.2 <= self.psf_fwhm_mm <= 5.0:
            raise InputError("in-plane resolution (PSF FWHM) must be 0.2-5 mm, not %s" % self.psf_fwhm_mm)
        get_kernel(self.kernel)
        if self.kvp not in (70.0, 80.0, 100.0, 120.0, 140.0):
            raise InputError("tube voltage must be 70, 80, 100, 120 or 140 kV, not %s" % self.kvp)
        if self.n_plaques is not None and not 0 <= self.n_plaques <= 200:
            raise InputError("number of plaques must be 0-200, not %s" % self.n_plaques)
        if self.contrast_blood_hu is not None and not 150.0 <= self.contrast_blood_hu <= 700.0:
            raise InputError("enhanced blood must be 150-700 HU, not %s" % self.contrast_blood_hu)
        if self.slice_count() > 2000:
            raise InputError("%d slices is too many; shorten the coverage or thicken the increment" % self.slice_count())
        return self

    def to_dict(self) -> Dict[str, object]:
        data = asdict(self)
        data["slice_increment_mm"] = self.increment_mm
        data["n_slices"] = self.slice_count()
        return data

    def with_changes(self, **changes) -> "PhantomConfig":
        return replace(self, **changes)


def small_config(**changes) -> PhantomConfig:
    """A fast configuration for tests: 256x256 matrix over 250 mm (0.98 mm pixels), 40 slices of 3 mm, no lung vessels.

    Pixels twice as coarse as the default hide more small calcium; use it for plumbing and statistics.
    """
    base = PhantomConfig(matrix=256, n_slices=40, lung_vessels=False)
    return replace(base, **changes)


def chest_config(**changes) -> PhantomConfig:
    """Non-gated chest CT: whole thorax in view, 3 mm slices, noisier, softer, cardiac motion blur."""
    base = PhantomConfig(variant="chest", noise_sd_hu=25.0, psf_fwhm_mm=1.2)
    return replace(base, **changes)


# Scan protocols a phantom can imitate (``phantom --protocol NAME``): the settings each one changes. Noise SDs: the
# sharp thin chest CT as measured on LIDC-IDRI-0314 (22-27 HU, see kernel.py); low-dose screening CT at 3 mm with a
# soft kernel is noisier than a diagnostic scan (about twice LUNG1-001's 17 HU).
PROTOCOLS: Dict[str, Dict[str, object]] = {
    "gated-3mm": dict(variant="cardiac", slice_thickness_mm=3.0, slice_increment_mm=3.0, noise_sd_hu=18.0,
                      psf_fwhm_mm=1.0, kernel="soft"),
    "chest-3mm": dict(variant="chest", slice_thickness_mm=3.0, slice_increment_mm=3.0, noise_sd_hu=25.0,
                      psf_fwhm_mm=1.2, kernel="soft"),
    "chest-thin-sharp": dict(variant="chest", slice_thickness_mm=1.0, slice_increment_mm=1.0, noise_sd_hu=25.0,
                             psf_fwhm_mm=1.0, kernel="sharp"),
    "chest-lowdose-3mm": dict(variant="chest", slice_thickness_mm=3.0, slice_increment_mm=3.0, noise_sd_hu=40.0,
                              psf_fwhm_mm=1.2, kernel="soft"),
}
PROTOCOL_TEXT = {
    "gated-3mm": "ECG-gated calcium-scoring CT, 3 mm slices, soft kernel (the default case)",
    "chest-3mm": "non-gated chest CT, 3 mm slices, soft kernel",
    "chest-thin-sharp": "non-gated chest CT, 1 mm slices at 1 mm, sharp kernel, noise like LIDC-IDRI-0314",
    "chest-lowdose-3mm": "non-gated low-dose chest CT, 3 mm slices, soft kernel, 40 HU noise",
}


def protocol_config(name: str, base: Optional[PhantomConfig] = None, **changes) -> PhantomConfig:
    """``base`` (default ``PhantomConfig()``) with the settings of protocol ``name``, then ``changes``; InputError
    naming the known protocols for an unknown one."""
    if name not in PROTOCOLS:
        raise InputError("phantom protocol must be one of %s, not %r" % (", ".join(PROTOCOLS), name))
    settings = dict(PROTOCOLS[name])
    settings.update(changes)
    return replace(base or PhantomConfig(), **settings)
