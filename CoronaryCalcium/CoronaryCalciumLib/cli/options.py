"""Command-line options shared by the commands that score (score, assess)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Optional

from ..errors import InputError
from ..region.source import CLI_CHOICES, RegionSource
from ..scoring.agatston import ScoringSettings, scoring_settings
from ..scoring.integrated_mass import ESTIMATORS, IntegratedMassSettings


def add_scoring_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scoring")
    group.add_argument("--kvp", type=float, help="tube voltage in kV (default: from DICOM; unknown -> 120 kVp rule)")
    group.add_argument("--threshold", type=float, metavar="HU",
                       help="detection threshold in HU (default 130, or the kVp-specific bound)")
    group.add_argument("--min-area", type=float, default=1.0, metavar="MM2", help="minimum lesion area per slice (mm2)")
    group.add_argument("--connectivity", type=int, choices=(4, 8), default=8, help="in-plane connectivity")
    group.add_argument("--no-kvp-thresholds", action="store_true",
                       help="use the 130/200/300/400 HU rule at every tube voltage")
    group.add_argument("--calibration", metavar="C_OR_JSON",
                       help="mass calibration factor c_HA in mg/(mm3 HU), or the JSON written by `calibrate`")
    group.add_argument("--allow-contrast", action="store_true",
                       help="score even if the CT looks contrast-enhanced (results flagged as not valid Agatston)")
    modes = ("auto", "on", "off")
    group.add_argument("--thin-slices", choices=modes, default="auto",
                       help="average slices thinner than 1.5 mm into 3 mm slabs before scoring (auto: when thinner)")
    group.add_argument("--sharp-kernel", choices=modes, default="auto",
                       help="smooth a sharp reconstruction kernel towards a soft one before thresholding (auto: when "
                            "the DICOM kernel is sharp)")
    group.add_argument("--lesion-filters", choices=modes, default="auto",
                       help="list lesions that are not coronary calcium (air-border rims, soft-tissue noise, aortic "
                            "wall) apart from the score (auto: automatic heart/coronary regions only)")
    mass = parser.add_argument_group("integrated-intensity mass (with --calibration; README: Calcium mass: two methods)")
    default = IntegratedMassSettings()
    mass.add_argument("--mass-grow", type=float, default=default.grow_mm, metavar="MM",
                      help="region grown around each lesion for the integrated mass (default %(default)s mm)")
    mass.add_argument("--mass-ring", type=float, default=default.ring_mm, metavar="MM",
                      help="width of the background ring outside the grown region (default %(default)s mm)")
    mass.add_argument("--mass-background", choices=ESTIMATORS, default=default.background_estimator,
                      help="background estimator (default %(default)s: interpolated per voxel from the ring)")
    mass.add_argument("--mass-local-sigma", type=float, default=default.local_sigma_mm, metavar="MM",
                      help="Gaussian sigma of the local background (default %(default)s mm)")


REGION_CHOICES = CLI_CHOICES  # the values of region.source.RegionSource: mask, heart, coronary


def add_region_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("region of interest from TotalSegmentator (optional extra)")
    group.add_argument("--region", choices=REGION_CHOICES, default=RegionSource.MASK.value,
                       help="mask: the given mask (default); heart: a shell around the heart surface (free 'total' "
                            "task); coronary: the licensed 'coronary_arteries' task plus a margin")
    group.add_argument("--coronary-margin", type=float, default=2.0, metavar="MM",
                       help="margin around TotalSegmentator's coronary mask (mm)")
    group.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu", "mps"),
                       help="where TotalSegmentator runs (auto: gpu, then mps, then cpu)")
    fast = group.add_mutually_exclusive_group()
    fast.add_argument("--fast", dest="fast", action="store_true", default=None,
                      help="TotalSegmentator's 3 mm model (default on CPU where the task has one)")
    fast.add_argument("--no-fast", dest="fast", action="store_false", help="always the full-resolution model")
    group.add_argument("--totalseg-license", metavar="NUMBER", help="licence number for the coronary task")
    group.add_argument("--totalseg-weights", metavar="DIR", help="TotalSegmentator weights folder")
    group.add_argument("--totalseg-home", metavar="DIR", help="TotalSegmentator home folder (config, licence)")
    group.add_argument("--totalseg-output", metavar="DIR",
                       help="reuse masks TotalSegmentator already wrote for this CT (heart.nii.gz and aorta.nii.gz for "
                            "--region heart, coronary_arteries.nii.gz for --region coronary): TotalSegmentator is not "
                            "run; for assess on several cases, one subfolder per case named after its image")


def totalseg_settings_from_args(args: argparse.Namespace):
    """TotalSegmentator region settings for --region heart|coronary, None for --region mask."""
    existing = getattr(args, "totalseg_output", None)
    source = RegionSource(args.region)
    if not source.uses_totalsegmentator:
        if existing:
            raise InputError("--totalseg-output needs --region heart or --region coronary")
        return None
    from ..region.totalseg_region import TotalSegRegionSettings
    from ..region.totalseg_runner import TotalSegSettings

    return TotalSegRegionSettings(
        backend=source.value, margin_mm=args.coronary_margin, existing_output=existing,
        totalseg=TotalSegSettings(device=args.device, fast=args.fast, license_number=args.totalseg_license,
                                  home_dir=args.totalseg_home, weights_dir=args.totalseg_weights),
    )


def add_dicom_options(parser: argparse.ArgumentParser, per_case: bool, retrieve: bool = True) -> None:
    """``--dicom-out DIR``: DICOM SEG, SR (TID 1500), PDF report and Encapsulated PDF of a DICOM CT, for a PACS;
    with ``per_case`` also ``--pacs``, ``--send`` and (with ``retrieve``) ``--study``."""
    group = parser.add_argument_group("DICOM outputs for a PACS (they carry the patient's name and ID)")
    group.add_argument("--dicom-out", metavar="DIR",
                       help="write seg.dcm, sr.dcm, report.pdf and report-pdf.dcm %s; the CT must be a DICOM series"
                            % ("into DIR/<id>/" if per_case else "into DIR"))
    if per_case:
        group.add_argument("--pacs", metavar="AET@HOST:PORT", help="the DICOM node that --study and --send talk to"
                           if retrieve else "the DICOM node that --send stores on")
    if per_case and retrieve:
        group.add_argument("--study", action="append", default=[], metavar="UID",
                           help="StudyInstanceUID to retrieve from --pacs (C-FIND, then C-GET of its CT images into "
                                "a temporary folder removed afterwards); repeatable; INPUT may then be omitted")
    if per_case:
        group.add_argument("--send", action="store_true",
                           help="store each case's SEG, SR and Encapsulated PDF on --pacs (C-STORE); without "
                                "--dicom-out they are kept only in a temporary folder")
        group.add_argument("--calling-ae", default="CORONARYCALCIUM", metavar="AET", help="our AE title")


def add_classifier_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("classifier (zero vs non-zero CAC from radiomics)")
    group.add_argument("--model", default="shipped", metavar="PATH|shipped|none",
                       help="trusted model file or folder; 'shipped' (default): the model in models/, trained on "
                            "synthetic phantoms, not clinically validated; 'none': no classifier")
    group.add_argument("--trust", action="store_true",
                       help="record --model's SHA-256 in your trusted-model registry before loading it "
                            "(a model decides what you are told: trust only files you made or know)")


def calibration_factor(value: Optional[str]) -> Optional[float]:
    """A number, or a calibration JSON file holding ``factor_mg_per_mm3_hu``."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    if not os.path.isfile(value):
        raise InputError("--calibration %s is neither a number nor a calibration JSON file" % value)
    try:
        with open(value, encoding="utf-8") as stream:
            return float(json.load(stream)["factor_mg_per_mm3_hu"])
    except (ValueError, KeyError, TypeError):
        raise InputError("%s is not a calibration JSON (no factor_mg_per_mm3_hu)" % value) from None


def settings_from_args(args: argparse.Namespace) -> ScoringSettings:
    return scoring_settings(threshold_hu=args.threshold, min_area_mm2=args.min_area, connectivity=args.connectivity,
                            kvp=args.kvp, kvp_specific=not args.no_kvp_thresholds,
                            calibration_factor=calibration_factor(args.calibration),
                            allow_contrast=args.allow_contrast, thin_slices=args.thin_slices,
                            sharp_kernel=args.sharp_kernel, lesion_filters=args.lesion_filters,
                            integrated_mass=IntegratedMassSettings(
                                grow_mm=args.mass_grow, ring_mm=args.mass_ring,
                                background_estimator=args.mass_background, local_sigma_mm=args.mass_local_sigma))


def add_embedding_options(parser) -> None:
    """``--ctfm-weights``, ``--radimagenet-weights`` and ``--device`` on a command (argparse parser or group)."""
    parser.add_argument("--ctfm-weights", metavar="PATH",
                        help="CT-FM weights file or folder (model.safetensors + config.json from "
                             "huggingface.co/project-lighter/ct_fm_feature_extractor); default "
                             "$CORONARY_CALCIUM_CTFM_WEIGHTS, then ~/.cache/coronary-calcium/weights/"
                             "ct_fm_feature_extractor")
    parser.add_argument("--radimagenet-weights", metavar="PATH",
                        help="RadImageNet ResNet50 PyTorch weights; default $CORONARY_CALCIUM_RADIMAGENET_WEIGHTS, "
                             "then ~/.cache/coronary-calcium/weights/radimagenet_resnet50")
    parser.add_argument("--device", metavar="DEVICE",
                        help="torch device of the ctfm / radimagenet features: auto (default), cpu, cuda, cuda:N")


def embedding_settings(args: argparse.Namespace):
    """The ``EmbeddingSettings`` of the options of ``add_embedding_options`` (they travel with the extractors, also
    to worker processes; a trained model's pinned weights hash is still enforced)."""
    from ..features.embeddings.settings import EmbeddingSettings

    return EmbeddingSettings(ctfm_weights=getattr(args, "ctfm_weights", None),
                             radimagenet_weights=getattr(args, "radimagenet_weights", None),
                             device=getattr(args, "device", None))
