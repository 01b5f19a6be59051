"""CT-FM embeddings of the region of interest: a frozen 3D SegResNet encoder pretrained on 148,000 CTs (Pai et al. 2025).

Architecture: MONAI's ``SegResEncoder`` (``monai.networks.nets.segresnet_ds``) with spatial_dims=3, in_channels=1,
init_filters=32, blocks_down=(1, 2, 2, 4, 4), the class the ``lighter-zoo`` package wraps for
``project-lighter/ct_fm_feature_extractor``; MONAI's class is used directly (lighter-zoo needs Python >= 3.10 and
pulls jupyter). Embedding: global average pool of the last (512-channel) feature map -> 512 numbers ``ctfm_000`` ...
``ctfm_511``.

Preprocessing (the model card: orientation SPL, HU window -1024..2048 scaled to 0..1 with clipping, crop of the
foreground; the authors' region-of-interest pipeline resamples to 1 mm isotropic and crops around the mask):
  1. crop the region's bounding box grown by ``margin_mm`` (10 mm) on each side, clipped to the scan;
  2. reorient to SPL (numpy z, y, x towards superior, posterior, left);
  3. resample to ``spacing_mm`` (1 mm) isotropic, linear interpolation;
  4. HU -> (HU + 1024) / 3072 clipped to [0, 1];
  5. (optional ``mask_outside``) voxels outside the region set to 0, the value of air.
Regions larger than ``max_extent_mm`` (200 mm) on any axis are refused: that is not a heart or coronary region, and the
full-resolution 3D activations would need many GB.

Weights come from a local file or folder (see model_weights): the ``model.safetensors`` of the Hugging Face repository
above, or a torch state dict of the same encoder. A full ``SegResNetDS`` checkpoint (keys ``encoder.*`` plus a
decoder, e.g. ``project-lighter/ct_fm_segresnet``) is accepted too: its encoder part is taken.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from ...errors import InputError, RegionError
from ...progress import Progress, silent
from ..base import PreparedInput
from .base import PretrainedExtractor, cached_network
from .weights import WeightsFile, WeightsSpec

NAME = "ctfm"
ARCHITECTURE = {"spatial_dims": 3, "in_channels": 1, "init_filters": 32, "blocks_down": [1, 2, 2, 4, 4]}
EMBEDDING_SIZE = 512
HU_WINDOW = (-1024.0, 2048.0)
SPACING_MM = 1.0
MARGIN_MM = 10.0
MAX_EXTENT_MM = 200.0
WEIGHTS = WeightsSpec(
    label="CT-FM", env_var="CORONARY_CALCIUM_CTFM_WEIGHTS", subdir="ct_fm_feature_extractor",
    source_hint="Download model.safetensors and config.json from "
                "https://huggingface.co/project-lighter/ct_fm_feature_extractor (Apache-2.0).")


def feature_names() -> List[str]:
    return ["%s_%03d" % (NAME, i) for i in range(EMBEDDING_SIZE)]


def build_encoder():
    """The CT-FM encoder with random weights (MONAI SegResEncoder, the published configuration)."""
    from .torch_runtime import require_monai

    require_monai()
    from monai.networks.nets.segresnet_ds import SegResEncoder

    config = dict(ARCHITECTURE)
    config["blocks_down"] = tuple(config["blocks_down"])
    return SegResEncoder(**config)


def check_config(config: Mapping[str, Any], path: str) -> None:
    """A ``config.json`` beside the weights must describe this architecture (the Hugging Face file does)."""
    for key, value in ARCHITECTURE.items():
        if key in config and _plain(config[key]) != _plain(value):
            raise InputError("%s: config.json has %s=%s, CT-FM's feature extractor has %s=%s; these are the weights "
                             "of another network" % (path, key, config[key], key, value))


def encoder_state(state: Mapping[str, Any]) -> Dict[str, Any]:
    """Map a checkpoint's keys onto SegResEncoder's: strip ``module.``; from a full SegResNetDS keep ``encoder.*``."""
    cleaned = {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}
    if any(k.startswith("encoder.") for k in cleaned):
        return {k[len("encoder."):]: v for k, v in cleaned.items() if k.startswith("encoder.")}
    return cleaned


def load_encoder(weights: WeightsFile, device):
    """The encoder with the given weights on ``device``, in eval mode; kept for the next case (one per process)."""
    check_config(weights.config, weights.path)  # before the cache: the same file may sit beside another config
    return cached_network(NAME, weights, device, WEIGHTS, build_encoder, encoder_state, _key_hint)


def _key_hint(missing: Sequence[str], unexpected: Sequence[str]) -> str:
    if any(k.startswith(("conv1.", "layer1.", "backbone.")) for k in unexpected):
        return "This looks like a 2D ResNet (RadImageNet?) file, not CT-FM."
    return ("Expected project-lighter/ct_fm_feature_extractor weights (SegResEncoder, init_filters 32, "
            "blocks_down 1,2,2,4,4).")


def window(hu: np.ndarray) -> np.ndarray:
    """HU -> [0, 1]: (HU + 1024) / 3072, clipped (float32)."""
    low, high = HU_WINDOW
    scaled = (hu.astype(np.float32, copy=False) - np.float32(low)) / np.float32(high - low)
    return np.clip(scaled, 0.0, 1.0, out=scaled)


def embed_volumes(model, volumes: Sequence[np.ndarray], device, batch_size: int = 1,
                  progress: Progress = silent) -> np.ndarray:
    """512-d embeddings (n, 512) of preprocessed volumes (z, y, x in [0, 1]); equal shapes are batched together."""
    from .torch_runtime import deterministic

    result = np.zeros((len(volumes), EMBEDDING_SIZE), dtype=np.float64)
    groups: Dict[tuple, List[int]] = {}
    for index, volume in enumerate(volumes):
        groups.setdefault(tuple(volume.shape), []).append(index)
    batches = [indices[i:i + max(1, batch_size)] for indices in groups.values()
               for i in range(0, len(indices), max(1, batch_size))]
    stages = len(model.layers)
    with deterministic() as torch:
        state = {"batch": 0}

        def stage_done(position):
            def hook(_module, _inputs, _output):
                fraction = (state["batch"] + (position + 1) / stages) / len(batches)
                progress(fraction, "%s: encoder stage %d of %d" % (NAME, position + 1, stages))
            return hook

        handles = [level["blocks"].register_forward_hook(stage_done(i)) for i, level in enumerate(model.layers)]
        try:
            with torch.no_grad():
                for number, batch in enumerate(batches):
                    state["batch"] = number
                    tensor = torch.from_numpy(np.stack([volumes[i] for i in batch])[:, None]).to(device)
                    last = model(tensor)[-1]
                    pooled = torch.nn.functional.adaptive_avg_pool3d(last, 1).flatten(1)
                    result[batch] = pooled.double().cpu().numpy()
        finally:
            for handle in handles:
                handle.remove()
    return result


class CTFMExtractor(PretrainedExtractor):
    """CT-FM 512-d embedding of the region of interest (see the module docstring for the preprocessing).

    ``weights``: file or folder (default: $CORONARY_CALCIUM_CTFM_WEIGHTS, then the weights folder); ``weights_sha256``
    pins the exact file (set in a trained model's settings). ``device`` ("auto", "cpu", "cuda[:N]"; default
    $CORONARY_CALCIUM_TORCH_DEVICE or auto) and ``batch_size`` do not change the features and are not settings.
    """

    name = NAME
    weights_spec = WEIGHTS

    def __init__(self, weights: Optional[str] = None, weights_sha256: Optional[str] = None,
                 labels: Optional[Sequence[int]] = None, margin_mm: float = MARGIN_MM, spacing_mm: float = SPACING_MM,
                 max_extent_mm: float = MAX_EXTENT_MM, mask_outside: bool = False, device: Optional[str] = None,
                 batch_size: int = 1):
        self._init_weights(weights, weights_sha256)
        self.labels = sorted(int(v) for v in labels) if labels else None
        self.margin_mm = float(margin_mm)
        self.spacing_mm = float(spacing_mm)
        self.max_extent_mm = float(max_extent_mm)
        self.mask_outside = bool(mask_outside)
        self.device = device
        self.batch_size = int(batch_size)
        if self.spacing_mm <= 0 or self.margin_mm < 0 or self.max_extent_mm <= 0:
            raise InputError("CT-FM settings: spacing_mm and max_extent_mm must be > 0 and margin_mm >= 0")

    @classmethod
    def from_settings(cls, settings: Optional[Mapping[str, Any]]) -> "CTFMExtractor":
        settings = dict(settings or {})
        return cls(weights=settings.get("weights"), weights_sha256=settings.get("weights_sha256"),
                   labels=settings.get("labels"), margin_mm=settings.get("margin_mm", MARGIN_MM),
                   spacing_mm=settings.get("spacing_mm", SPACING_MM),
                   max_extent_mm=settings.get("max_extent_mm", MAX_EXTENT_MM),
                   mask_outside=settings.get("mask_outside", False), device=settings.get("device"),
                   batch_size=settings.get("batch_size", 1))

    # --------------------------------------------------------------------------------------------------- settings
    def settings(self) -> Dict[str, Any]:
        from .torch_runtime import package_version

        located = self.weights_file()
        return {"weights": located.path, "weights_sha256": located.sha256, "architecture": dict(ARCHITECTURE),
                "labels": self.labels, "margin_mm": self.margin_mm, "spacing_mm": self.spacing_mm,
                "hu_window": list(HU_WINDOW), "max_extent_mm": self.max_extent_mm,
                "mask_outside": self.mask_outside, "monai": package_version("monai")}

    # ---------------------------------------------------------------------------------------------------- prepare
    def prepare(self, ct, region) -> PreparedInput:
        from .crop import crop_region

        crop = crop_region(ct, region, labels=self.labels, margin_mm=(self.margin_mm,) * 3,
                           resample_mm=self.spacing_mm)
        extent = [n * s for n, s in zip(crop.hu.shape[::-1], crop.spacing)]
        if max(extent) > self.max_extent_mm + 1e-6:
            raise RegionError("region of interest plus margin spans %s mm, more than CT-FM's %g mm limit: use a heart "
                              "or coronary region (or raise max_extent_mm)"
                              % (" x ".join("%.0f" % e for e in extent), self.max_extent_mm))
        volume = window(crop.hu)
        if self.mask_outside:
            volume[crop.mask == 0] = 0.0
        warnings = []
        if min(crop.hu.shape) < 16:
            warnings.append("CT-FM crop is only %s voxels; its last feature map has a single voxel along the short "
                            "axis" % "x".join(str(n) for n in crop.hu.shape[::-1]))
        return PreparedInput(input_hash=crop.digest(self.spacing_mm), data=volume, warnings=warnings)

    # ---------------------------------------------------------------------------------------------------- compute
    def compute(self, prepared: PreparedInput, progress: Progress = silent) -> Dict[str, float]:
        values = self.embed([prepared.data], progress)[0]
        return dict(zip(feature_names(), (float(v) for v in values)))

    def embed(self, volumes: Sequence[np.ndarray], progress: Progress = silent) -> np.ndarray:
        """Embeddings (n, 512) of prepared volumes (``prepare(...).data``), batched by ``batch_size``."""
        from .torch_runtime import resolve_device

        device = resolve_device(self.device)
        progress(0.0, "%s: loading weights" % NAME)
        model = load_encoder(self.weights_file(), device)
        embeddings = embed_volumes(model, volumes, device, batch_size=self.batch_size, progress=progress)
        return self.check_finite(embeddings, "CT-FM")


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    return value
