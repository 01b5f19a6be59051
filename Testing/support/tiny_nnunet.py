"""Tiny nnU-Net v2 models laid out exactly as TotalSegmentator expects, for end-to-end tests without real weights.

TotalSegmentator skips its download when ``<weights dir>/<DatasetNNN_...>`` exists, and nnU-Net then loads
``<DatasetNNN_...>/<trainer>__<plans>__<configuration>/{dataset.json, plans.json, fold_0/checkpoint_final.pth}``.
Folder names, trainers, configurations and spacings are read from the installed TotalSegmentator (its
``map_tasks_config`` and ``map_to_binary`` tables), so the layout follows the version under test. The one value
TotalSegmentator hard-codes in ``python_api`` rather than in a table, the trainer of its 6 mm crop model, is named
below.

Two behaviours make the outcome predictable (a random net's output is not):

- ``ConstantClass(k)``: every voxel is class ``k`` (all weights zero, one-hot bias). Written in the legacy plans format
  (``UNet_class_name`` and instance norm) that TotalSegmentator's published v2 weights use.
- ``HUBands([(upper_hu, class), ...], above=class)``: each voxel's class depends only on its own HU value (centre-tap
  convolutions, batch norm at its identity running statistics, the deeper stage switched off). Written in the current
  plans format (``architecture`` block), which lets the norm be chosen.

``RandomWeights(seed)`` keeps PyTorch's default initialisation, for timing.

Needs torch, nnunetv2, dynamic_network_architectures and TotalSegmentator installed (the ``totalsegmentator`` extra).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

# TotalSegmentator's python_api runs its 6 mm "total" model (task 298) to crop before the coronary task and before any
# roi_subset run; the trainer name is written in its code, not in TASK_CONFIGS.
CROP_MODEL_TASK_ID = 298
CROP_MODEL_TRAINER = "nnUNetTrainer_4000epochs_NoMirroring"
PLANS_NAME = "nnUNetPlans"

HU_SCALE = 1000.0  # CT normalisation in the tiny plans: x = HU / 1000 (mean 0, std 1000, clip -1024..3071)
FEATURE_OFFSET = 2.0  # keeps the carried feature positive, so LeakyReLU passes it unchanged
BAND_SLOPE = 10.0  # logit slope step between neighbouring bands (argmax is exact at the bounds at any slope)
UNUSED_LOGIT = -100.0  # classes a behaviour never predicts (kept small: nnU-Net may accumulate logits in fp16)


@dataclass
class ConstantClass:
    """Every voxel gets class ``label`` (0 = background everywhere, i.e. an empty result)."""

    label: int


@dataclass
class HUBands:
    """Class by HU: ``bands`` is [(upper_hu, label), ...] ascending; voxels above the last bound get ``above``."""

    bands: List[Tuple[float, int]]
    above: int


@dataclass
class RandomWeights:
    """PyTorch's default initialisation with a fixed seed."""

    seed: int = 0


Behaviour = Union[ConstantClass, HUBands, RandomWeights]


@dataclass
class TinyModelSpec:
    """Where and how TotalSegmentator looks for one nnU-Net model."""

    task_id: int
    dataset_folder: str  # e.g. Dataset298_TotalSegmentator_total_6mm_1559subj (relative to the weights dir)
    trainer: str
    configuration: str  # nnU-Net configuration name, e.g. 3d_fullres or 3d_fullres_high
    spacing_xyz: Tuple[float, float, float]  # the spacing TotalSegmentator resamples to before predicting (mm)
    labels: Dict[int, str] = field(default_factory=dict)  # network output index -> class name (0 = background)
    folds: Tuple[int, ...] = (0,)

    @property
    def model_folder(self) -> str:
        return os.path.join(self.dataset_folder, "%s__%s__%s" % (self.trainer, PLANS_NAME, self.configuration))


def spec_for_task_id(task_id: int) -> TinyModelSpec:
    """The layout TotalSegmentator expects for ``task_id``, read from the installed TotalSegmentator."""
    from totalsegmentator.map_tasks_config import DEFAULT_CONFIG, TASK_CONFIGS, TASK_ID_WEIGHTS_CONFIGS
    from totalsegmentator.map_to_binary import class_map, class_map_5_parts, map_taskid_to_partname_ct

    info = TASK_ID_WEIGHTS_CONFIGS[task_id]
    folder = info["foldername"]
    if info.get("rel_path"):
        folder = os.path.join(info["rel_path"], folder)

    found = None
    for task_name, config in TASK_CONFIGS.items():
        modes = config["sub_modes"].values() if "sub_modes" in config else [config]
        for mode in modes:
            ids = mode.get("task_id")
            ids = ids if isinstance(ids, list) else [ids]
            if task_id in ids:
                merged = dict(DEFAULT_CONFIG)
                merged.update(mode)
                found = (task_name, merged)
                break
        if found:
            break
    if found is None:
        raise KeyError("task id %d is not used by any TotalSegmentator task" % task_id)
    task_name, config = found
    trainer = CROP_MODEL_TRAINER if task_id == CROP_MODEL_TASK_ID else config["trainer"]
    resample = config.get("resample") or 1.5
    spacing = tuple(float(v) for v in (resample if isinstance(resample, (list, tuple)) else [resample] * 3))

    if task_id in map_taskid_to_partname_ct:
        names = class_map_5_parts[map_taskid_to_partname_ct[task_id]]
    else:
        names = class_map[task_name]
    labels = {0: "background"}
    labels.update({int(k): v for k, v in names.items()})
    return TinyModelSpec(task_id=task_id, dataset_folder=folder, trainer=trainer,
                         configuration=config.get("model") or "3d_fullres", spacing_xyz=spacing, labels=labels,
                         folds=tuple(config.get("folds") or (0,)))


def label_index(spec: TinyModelSpec, name: str) -> int:
    """Network output index of class ``name`` in ``spec``."""
    for index, label_name in spec.labels.items():
        if label_name == name:
            return index
    raise KeyError("class %s is not an output of task %d" % (name, spec.task_id))


def _configuration(spec: TinyModelSpec, patch_size: Sequence[int], legacy: bool, norm_op: str) -> dict:
    spacing_zyx = list(spec.spacing_xyz[::-1])
    config = {
        "data_identifier": "tiny_%s" % spec.configuration,
        "preprocessor_name": "DefaultPreprocessor",
        "batch_size": 1,
        "patch_size": list(patch_size),
        "median_image_size_in_voxels": list(patch_size),
        "spacing": spacing_zyx,
        "normalization_schemes": ["CTNormalization"],
        "use_mask_for_norm": [False],
        "resampling_fn_data": "resample_data_or_seg_to_shape",
        "resampling_fn_seg": "resample_data_or_seg_to_shape",
        "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
        "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
        "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
        "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None},
        "batch_dice": True,
    }
    kernels = [[3, 3, 3], [3, 3, 3]]
    strides = [[1, 1, 1], [2, 2, 2]]
    if legacy:
        config.update({
            "UNet_class_name": "PlainConvUNet",
            "UNet_base_num_features": 4,
            "unet_max_num_features": 8,
            "n_conv_per_stage_encoder": [1, 1],
            "n_conv_per_stage_decoder": [1],
            "num_pool_per_axis": [1, 1, 1],
            "pool_op_kernel_sizes": strides,
            "conv_kernel_sizes": kernels,
        })
    else:
        config["architecture"] = {
            "network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
            "arch_kwargs": {
                "n_stages": 2,
                "features_per_stage": [4, 8],
                "conv_op": "torch.nn.modules.conv.Conv3d",
                "kernel_sizes": kernels,
                "strides": strides,
                "n_conv_per_stage": [1, 1],
                "n_conv_per_stage_decoder": [1],
                "conv_bias": True,
                "norm_op": norm_op,
                "norm_op_kwargs": {"eps": 1e-05, "affine": True},
                "dropout_op": None,
                "dropout_op_kwargs": None,
                "nonlin": "torch.nn.LeakyReLU",
                "nonlin_kwargs": {"inplace": True},
            },
            "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"],
        }
    return config


def _plans(spec: TinyModelSpec, configuration: dict) -> dict:
    return {
        "dataset_name": os.path.basename(spec.dataset_folder),
        "plans_name": PLANS_NAME,
        "original_median_spacing_after_transp": configuration["spacing"],
        "original_median_shape_after_transp": configuration["patch_size"],
        "image_reader_writer": "SimpleITKIO",
        "transpose_forward": [0, 1, 2],
        "transpose_backward": [0, 1, 2],
        "configurations": {spec.configuration: configuration},
        "experiment_planner_used": "ExperimentPlanner",
        "label_manager": "LabelManager",
        "foreground_intensity_properties_per_channel": {
            "0": {"max": 3071.0, "mean": 0.0, "median": 0.0, "min": -1024.0, "percentile_00_5": -1024.0,
                  "percentile_99_5": 3071.0, "std": HU_SCALE}
        },
    }


def _dataset_json(spec: TinyModelSpec) -> dict:
    return {
        "channel_names": {"0": "CT"},
        "labels": {name: index for index, name in sorted(spec.labels.items())},
        "numTraining": 1,
        "file_ending": ".nii.gz",
        "name": os.path.basename(spec.dataset_folder),
        "description": "tiny test model with made-up weights; not a segmentation model",
    }


def _set_weights(network, behaviour: Behaviour, num_classes: int) -> None:
    import torch

    state = network.state_dict()
    with torch.no_grad():
        if isinstance(behaviour, RandomWeights):
            return
        for tensor in state.values():
            if tensor.dtype.is_floating_point:
                tensor.zero_()
        for key, tensor in state.items():  # keep every norm at identity scale
            if key.endswith("norm.weight") or key.endswith("running_var"):
                tensor.fill_(1.0)
        seg_weight = state["decoder.seg_layers.0.weight"]
        seg_bias = state["decoder.seg_layers.0.bias"]
        if isinstance(behaviour, ConstantClass):
            seg_bias.fill_(-10.0)
            seg_bias[behaviour.label] = 10.0
        else:
            # carry f = HU / 1000 + 2 from the input to channel 0 of the last decoder stage, centre tap only
            state["encoder.stages.0.0.convs.0.conv.weight"][0, 0, 1, 1, 1] = 1.0
            state["encoder.stages.0.0.convs.0.conv.bias"][0] = FEATURE_OFFSET
            skip_channel = state["decoder.transpconvs.0.weight"].shape[1]  # concat order: (upsampled, skip)
            state["decoder.stages.0.convs.0.conv.weight"][0, skip_channel, 1, 1, 1] = 1.0
            # logits: class of band k has slope k * BAND_SLOPE; biases put neighbouring bands equal at their bound
            seg_bias.fill_(UNUSED_LOGIT)
            labels = [label for _, label in behaviour.bands] + [behaviour.above]
            bias = 0.0
            for k, label in enumerate(labels):
                if k > 0:
                    bound_feature = behaviour.bands[k - 1][0] / HU_SCALE + FEATURE_OFFSET
                    bias -= BAND_SLOPE * bound_feature
                seg_weight[label, 0, 0, 0, 0] = k * BAND_SLOPE
                seg_bias[label] = bias
    network.load_state_dict(state)


def build_tiny_model(weights_dir: str, spec: TinyModelSpec, behaviour: Behaviour,
                     patch_size: Sequence[int] = (48, 48, 48)) -> str:
    """Write one tiny model under ``weights_dir`` (the TOTALSEG_WEIGHTS_PATH folder); returns its model folder."""
    import torch
    from nnunetv2.utilities.get_network_from_plans import get_network_from_plans
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    legacy = isinstance(behaviour, (ConstantClass, RandomWeights))
    configuration = _configuration(spec, patch_size, legacy=legacy, norm_op="torch.nn.BatchNorm3d")
    plans = _plans(spec, configuration)
    dataset = _dataset_json(spec)
    num_classes = max(spec.labels) + 1

    manager = PlansManager(json.loads(json.dumps(plans)))
    config_manager = manager.get_configuration(spec.configuration)
    if isinstance(behaviour, RandomWeights):
        torch.manual_seed(behaviour.seed)
    network = get_network_from_plans(config_manager.network_arch_class_name, config_manager.network_arch_init_kwargs,
                                     config_manager.network_arch_init_kwargs_req_import, 1, num_classes,
                                     allow_init=True, deep_supervision=False)
    _set_weights(network, behaviour, num_classes)

    model_dir = os.path.join(weights_dir, spec.model_folder)
    for fold in spec.folds:
        os.makedirs(os.path.join(model_dir, "fold_%s" % fold), exist_ok=True)
    with open(os.path.join(model_dir, "plans.json"), "w") as handle:
        json.dump(plans, handle, indent=1)
    with open(os.path.join(model_dir, "dataset.json"), "w") as handle:
        json.dump(dataset, handle, indent=1)
    checkpoint = {
        "network_weights": network.state_dict(),
        "trainer_name": spec.trainer,
        "init_args": {"plans": plans, "configuration": spec.configuration, "fold": 0, "dataset_json": dataset},
        "inference_allowed_mirroring_axes": None,
    }
    for fold in spec.folds:
        torch.save(checkpoint, os.path.join(model_dir, "fold_%s" % fold, "checkpoint_final.pth"))
    return model_dir


def build_models(weights_dir: str, behaviours: Dict[int, Behaviour],
                 patch_size: Sequence[int] = (48, 48, 48)) -> Dict[int, TinyModelSpec]:
    """Build several models at once: {task_id: behaviour} -> {task_id: spec}."""
    specs = {}
    for task_id, behaviour in behaviours.items():
        spec = spec_for_task_id(task_id)
        build_tiny_model(weights_dir, spec, behaviour, patch_size)
        specs[task_id] = spec
    return specs


def heart_aorta_bands(spec: TinyModelSpec, heart_below_hu: float = 150.0, fat_below_hu: float = 0.0,
                      bright_name: str = "aorta") -> HUBands:
    """Bands: background below ``fat_below_hu``, heart below ``heart_below_hu``, then ``bright_name``."""
    return HUBands(bands=[(fat_below_hu, 0), (heart_below_hu, label_index(spec, "heart"))],
                   above=label_index(spec, bright_name))


def write_totalseg_config(home_dir: str, license_number: Optional[str] = None, send_usage_stats: bool = False) -> str:
    """A TotalSegmentator config.json in ``home_dir`` (usage statistics off: tests make no network calls)."""
    os.makedirs(home_dir, exist_ok=True)
    config = {"totalseg_id": "totalseg_TESTTEST", "send_usage_stats": send_usage_stats, "prediction_counter": 0,
              "statistics_disclaimer_shown": True}
    if license_number is not None:
        config["license_number"] = license_number
    path = os.path.join(home_dir, "config.json")
    with open(path, "w") as handle:
        json.dump(config, handle, indent=4)
    return path


# --------------------------------------------------------------------------------------------------------------------
# a synthetic CT the banded models understand

FAT_HU = -30  # body background: below the heart band (above -50 HU so the CT validates without a heart)
HEART_HU = 40  # heart band: 0 to 150 HU
AORTA_HU = 250  # "aorta" band of the total models: 150 HU and above (an enhanced-looking aorta, made up for the test)
VESSEL_HU = 700  # coronary band of the tiny model (300 HU and above); high so that linear resampling to 0.7 mm keeps
# the vessel's edge voxels above 300
CORONARY_ABOVE_HU = 300.0


@dataclass
class HeartScene:
    """Truth of a synthetic scene in LPS mm: heart ellipsoid, aorta cylinder, optional vessel tube on the heart."""

    heart_centre: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    heart_semi_axes: Tuple[float, float, float] = (34.0, 30.0, 26.0)
    aorta_centre_xy: Tuple[float, float] = (-8.0, -6.0)
    aorta_radius: float = 11.0
    aorta_from_z: float = 14.0
    vessel: bool = False
    vessel_radius: float = 2.5
    heart: bool = True
    aorta: bool = True

    def masks(self, points: np.ndarray) -> Dict[str, np.ndarray]:
        """Boolean masks for LPS points (..., 3)."""
        x, y, z = points[..., 0], points[..., 1], points[..., 2]
        cx, cy, cz = self.heart_centre
        a, b, c = self.heart_semi_axes
        radial = ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 + ((z - cz) / c) ** 2
        heart = (radial <= 1.0) if self.heart else np.zeros(x.shape, dtype=bool)
        ax, ay = self.aorta_centre_xy
        aorta = ((x - ax) ** 2 + (y - ay) ** 2 <= self.aorta_radius ** 2) & (z >= self.aorta_from_z)
        if not self.aorta:
            aorta = np.zeros(x.shape, dtype=bool)
        vessel = np.zeros(x.shape, dtype=bool)
        if self.vessel:
            # a ring in the axial plane z = cz, 4 mm outside the heart surface (where a coronary artery runs)
            ring_a, ring_b = a + 4.0, b + 4.0
            angle = np.arctan2((y - cy) / ring_b, (x - cx) / ring_a)
            nearest_x = cx + ring_a * np.cos(angle)
            nearest_y = cy + ring_b * np.sin(angle)
            vessel = (x - nearest_x) ** 2 + (y - nearest_y) ** 2 + (z - cz) ** 2 <= self.vessel_radius ** 2
        return {"heart": heart & ~aorta, "aorta": aorta, "vessel": vessel}


def scene_ct(scene: HeartScene, spacing_xyz=(1.5, 1.5, 1.5), size_mm=(150.0, 140.0, 110.0),
             direction=(1, 0, 0, 0, 1, 0, 0, 0, 1)):
    """(CTVolume, truth masks on its grid) for ``scene``: soft tissue inside a cylindrical body in air."""
    from CoronaryCalciumLib.io.ct import CTMetadata, ct_from_array

    shape = tuple(int(round(s / d)) for s, d in zip(size_mm[::-1], spacing_xyz[::-1]))
    matrix = np.asarray(direction, dtype=float).reshape(3, 3)
    # origin chosen so the volume is centred on (0, 0, 0) whatever the direction
    extent = matrix @ (np.asarray(shape[::-1], dtype=float) - 1) * np.asarray(spacing_xyz, dtype=float)
    origin = -extent / 2.0
    k, j, i = np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij")
    ijk = np.stack([i, j, k], axis=-1) * np.asarray(spacing_xyz, dtype=float)
    points = origin + ijk @ matrix.T
    truth = scene.masks(points)
    array = np.full(shape, -1000, dtype=np.int16)
    body = points[..., 0] ** 2 / 72.0 ** 2 + points[..., 1] ** 2 / 66.0 ** 2 <= 1.0
    array[body] = FAT_HU
    array[truth["heart"]] = HEART_HU
    array[truth["aorta"]] = AORTA_HU
    array[truth["vessel"]] = VESSEL_HU
    meta = CTMetadata(source="synthetic heart scene", format="array", kvp=120.0,
                      slice_thickness_mm=spacing_xyz[2], slice_increment_mm=spacing_xyz[2])
    ct = ct_from_array(array, spacing_xyz, origin_xyz=tuple(origin), direction=direction, metadata=meta)
    return ct, truth


def build_weights(weights_dir: str, patch_size: Sequence[int] = (96, 96, 96),
                  coronary_patch_size: Sequence[int] = (160, 160, 160)) -> Dict[int, TinyModelSpec]:
    """All tiny models the heart and coronary backends need, banded for ``scene_ct``:

    298 (6 mm crop / fastest total) and 297 (3 mm fast total) and 293 (cardiac part of the 1.5 mm total) see heart and
    aorta; 291, 292, 294, 295 (the other parts of the 1.5 mm total, downloaded by TotalSegmentator even when only the
    cardiac part runs) predict background; 509 (coronary_arteries) marks voxels of 300 HU and above. Patches as large as
    the default scene's crops make nnU-Net predict each image in one window (fast on a CPU).
    """
    behaviours: Dict[int, Behaviour] = {}
    for task_id in (298, 297, 293):
        behaviours[task_id] = heart_aorta_bands(spec_for_task_id(task_id))
    for task_id in (291, 292, 294, 295):
        behaviours[task_id] = ConstantClass(0)
    specs = build_models(weights_dir, behaviours, patch_size)
    specs.update(build_models(weights_dir, {509: HUBands(bands=[(CORONARY_ABOVE_HU, 0)], above=1)},
                              coronary_patch_size))
    return specs
