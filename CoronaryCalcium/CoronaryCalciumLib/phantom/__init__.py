"""Synthetic cardiac CT phantoms with ground truth, for the demo, the tests, the Slicer self-test and model training.

``generate_case(seed, config) -> PhantomCase`` draws a patient (thorax, lungs, spine, ribs, heart, aorta, coronary tree),
places calcium in the coronary walls (and, optionally, where it must not be scored: aortic wall, aortic valve, mitral
annulus), renders it with partial volume, slice sensitivity profile, in-plane PSF and correlated noise, and returns the
CT (``case.ct``), TotalSegmentator-like masks and the truth (``case.truth``: every plaque; reference scores from
``scoring.score`` on the noise-free image in the lesion truth masks). ``write_case`` writes NIfTI (and DICOM on request),
``generate_cohort`` writes N varied cases with a manifest CSV (or N cases of one ``protocol_config`` preset), ``KERNELS``
the soft and sharp reconstruction kernels, ``generate_qrm_case`` the QRM calibration-insert replica.
"""

from .case import PhantomCase, generate_case
from .cohort import generate_cohort
from .config import (PROTOCOLS, SLICE_PROTOCOLS, MaskImperfections, PhantomConfig, chest_config, protocol_config,
                     small_config)
from .kernel import KERNELS
from .qrm_insert import QrmCase, generate_qrm_case, write_qrm_case
from .writer import write_case

__all__ = [
    "KERNELS", "PROTOCOLS", "PhantomCase", "PhantomConfig", "MaskImperfections", "SLICE_PROTOCOLS", "QrmCase",
    "chest_config", "generate_case", "generate_cohort", "generate_qrm_case", "protocol_config", "small_config",
    "write_case", "write_qrm_case",
]
