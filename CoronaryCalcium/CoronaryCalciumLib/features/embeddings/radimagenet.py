"""RadImageNet embeddings of the region of interest: a 2D ResNet50 pretrained on 1.35 million radiology images (Mei et al.
2022), applied to the region's axial slices and averaged.

Network: ResNet50 (bottleneck blocks 3-4-6-3, 7x7 stride-2 stem, 3x3 max pool, stride on the 3x3 convolution,
convolutions without bias, 1x1 projection shortcuts), built with MONAI's ``ResNet`` (spatial_dims=2, no torchvision:
torchvision does not install beside every torch build). Its parameter names are torchvision's (``conv1``, ``bn1``,
``layer1.0.conv1``, ``layer1.0.downsample.0`` ...), so a torchvision-layout state dict loads as it is. RadImageNet's
PyTorch release (the ``Backbone`` of the authors' ``pytorch_example.ipynb``: ``nn.Sequential`` of torchvision
resnet50's first nine children, saved as ``backbone.<index>.*``) is mapped by ``radimagenet_state``:

    backbone.0.*  -> conv1.*        backbone.4.*  -> layer1.*
    backbone.1.*  -> bn1.*          backbone.5.*  -> layer2.*
    (2 ReLU, 3 max pool and         backbone.6.*  -> layer3.*
     8 average pool hold no         backbone.7.*  -> layer4.*
     parameters)
A leading ``module.`` (DataParallel) is stripped and classification heads (``fc.*``, ``linear.*``, ``classifier.*``)
are dropped. Weights converted from RadImageNet's Keras release have a different layout (biased convolutions) and are
refused with a message saying so. Embedding: the 2048 globally average-pooled features of each slice, averaged over
the sampled slices -> ``radimagenet_0000`` ... ``radimagenet_2047``.

Per-slice preprocessing (RadImageNet was trained on 8-bit PNG slices; the authors' PyTorch example maps a pixel p to
(p - 127.5) * 2 / 255, i.e. [-1, 1], and resizes to 224 x 224; no ImageNet mean/std): HU window (default level 40,
width 400: mediastinal; the released code does not state a CT window, so this is our choice, and a setting) -> 8-bit
grey -> [-1, 1] -> bilinear resize of a square field of view to 224 x 224 -> the grey image copied to 3 channels.

Slice sampling: the crop is the region's bounding box grown by ``margin_mm`` (10 mm) in-plane, made square in mm
around the box centre (outside the scan counts as air); every axial slice of the box that contains region voxels is
used, evenly subsampled to at most ``max_slices`` (64) slices.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ...errors import InputError, RegionError
from ...progress import Progress, silent
from ..base import PreparedInput
from .base import PretrainedExtractor, cached_network
from .weights import WeightsFile, WeightsSpec

NAME = "radimagenet"
EMBEDDING_SIZE = 2048
IMAGE_SIZE = 224
WINDOW_LEVEL_WIDTH = (40.0, 400.0)
MARGIN_MM = 10.0
MAX_SLICES = 64
SEQUENTIAL_INDEX = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"}
HEAD_PREFIXES = ("fc.", "linear.", "classifier.")
WEIGHTS = WeightsSpec(
    label="RadImageNet ResNet50", env_var="CORONARY_CALCIUM_RADIMAGENET_WEIGHTS", subdir="radimagenet_resnet50",
    source_hint="Get the PyTorch ResNet50 weights of RadImageNet from the links in https://github.com/BMEII-AI/RadImageNet "
                "(pretrained models, by request at https://www.radimagenet.com).")


def feature_names() -> List[str]:
    return ["%s_%04d" % (NAME, i) for i in range(EMBEDDING_SIZE)]


def build_resnet50():
    """ResNet50 without its classification layer (random weights), torchvision's structure and parameter names."""
    from .torch_runtime import require_monai

    require_monai()
    from monai.networks.nets import ResNet

    return ResNet(block="bottleneck", layers=[3, 4, 6, 3], block_inplanes=[64, 128, 256, 512], spatial_dims=2,
                  n_input_channels=3, conv1_t_size=7, conv1_t_stride=2, shortcut_type="B", bias_downsample=False,
                  feed_forward=False)


def radimagenet_state(state: Mapping[str, Any]) -> Dict[str, Any]:
    """Map a RadImageNet / torchvision ResNet50 state dict onto ``build_resnet50()``'s names (table in the module
    docstring)."""
    mapped: Dict[str, Any] = {}
    for key, value in state.items():
        for prefix in ("module.", "backbone."):
            if key.startswith(prefix):
                key = key[len(prefix):]
        head, _, rest = key.partition(".")
        if head.isdigit() and head in SEQUENTIAL_INDEX and rest:
            key = "%s.%s" % (SEQUENTIAL_INDEX[head], rest)
        if key.startswith(HEAD_PREFIXES):
            continue
        mapped[key] = value
    return mapped


def _key_hint(missing: Sequence[str], unexpected: Sequence[str]) -> str:
    if any(re.search(r"(^|\.)(conv\d|downsample\.0)\.bias$", k) for k in unexpected):
        return ("Its convolutions have biases: this looks like a conversion of RadImageNet's Keras weights, whose "
                "ResNet50 differs from torchvision's; use the PyTorch release.")
    if any(k.startswith(("conv_init", "layers.")) for k in unexpected):
        return "This looks like a CT-FM (SegResEncoder) file, not RadImageNet."
    return "Expected a ResNet50 state dict in torchvision layout or RadImageNet's PyTorch backbone.* layout."


def load_network(weights: WeightsFile, device):
    """ResNet50 with the given weights on ``device``, eval mode; kept for the next case (one per process)."""
    return cached_network(NAME, weights, device, WEIGHTS, build_resnet50, radimagenet_state, _key_hint)


def sample_slices(mask: np.ndarray, max_slices: int) -> np.ndarray:
    """Indices of the axial slices holding region voxels, evenly subsampled to at most ``max_slices``."""
    present = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))
    if max_slices and len(present) > max_slices:
        picks = np.unique(np.round(np.linspace(0, len(present) - 1, max_slices)).astype(int))
        present = present[picks]
    return present


def square_field(mask: np.ndarray, spacing_xy: Tuple[float, float], margin_mm: float) -> Tuple[Tuple[int, int],
                                                                                                  Tuple[int, int]]:
    """(row start, row count), (column start, column count) of a square field of view (in mm) around the region's
    in-plane bounding box grown by ``margin_mm``; may reach outside the array (padded with air later)."""
    rows = np.flatnonzero(mask.any(axis=(0, 2)))
    cols = np.flatnonzero(mask.any(axis=(0, 1)))
    sx, sy = spacing_xy
    height_mm = (rows[-1] - rows[0] + 1) * sy + 2 * margin_mm
    width_mm = (cols[-1] - cols[0] + 1) * sx + 2 * margin_mm
    side_mm = max(height_mm, width_mm)
    n_rows = max(1, int(round(side_mm / sy)))
    n_cols = max(1, int(round(side_mm / sx)))
    centre_row = (rows[0] + rows[-1] + 1) / 2.0
    centre_col = (cols[0] + cols[-1] + 1) / 2.0
    return (int(round(centre_row - n_rows / 2.0)), n_rows), (int(round(centre_col - n_cols / 2.0)), n_cols)


def padded_window(array: np.ndarray, start: int, count: int, axis: int, fill: float) -> np.ndarray:
    """``count`` entries of ``array`` along ``axis`` from ``start`` (which may be negative or run past the end)."""
    length = array.shape[axis]
    lo, hi = max(0, start), min(length, start + count)
    taken = np.take(array, np.arange(lo, hi), axis=axis) if hi > lo else np.take(array, [], axis=axis)
    before, after = lo - start, start + count - hi
    if before <= 0 and after <= 0:
        return taken
    pad = [(0, 0)] * array.ndim
    pad[axis] = (max(0, before), max(0, after))
    return np.pad(taken, pad, constant_values=fill)


def slices_to_8bit(hu: np.ndarray, level_width: Tuple[float, float]) -> np.ndarray:
    """HU -> 8-bit grey (uint8) in the window (level, width), as a PNG slice of RadImageNet stores it."""
    level, width = level_width
    low = level - width / 2.0
    scaled = (hu.astype(np.float32) - np.float32(low)) * np.float32(255.0 / width)
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


class RadImageNetExtractor(PretrainedExtractor):
    """RadImageNet ResNet50 2048-d embedding averaged over the region's axial slices (module docstring: details).

    ``weights`` / ``weights_sha256`` / ``device`` / ``batch_size`` as for CT-FM (environment variable
    $CORONARY_CALCIUM_RADIMAGENET_WEIGHTS; batch_size = slices per forward pass, default 16).
    """

    name = NAME
    weights_spec = WEIGHTS

    def __init__(self, weights: Optional[str] = None, weights_sha256: Optional[str] = None,
                 labels: Optional[Sequence[int]] = None, margin_mm: float = MARGIN_MM,
                 window: Sequence[float] = WINDOW_LEVEL_WIDTH, max_slices: int = MAX_SLICES,
                 device: Optional[str] = None, batch_size: int = 16):
        self._init_weights(weights, weights_sha256)
        self.labels = sorted(int(v) for v in labels) if labels else None
        self.margin_mm = float(margin_mm)
        self.window = (float(window[0]), float(window[1]))
        self.max_slices = int(max_slices)
        self.device = device
        self.batch_size = max(1, int(batch_size))
        if self.window[1] <= 0 or self.margin_mm < 0 or self.max_slices < 1:
            raise InputError("RadImageNet settings: window width and max_slices must be > 0, margin_mm >= 0")

    @classmethod
    def from_settings(cls, settings: Optional[Mapping[str, Any]]) -> "RadImageNetExtractor":
        settings = dict(settings or {})
        return cls(weights=settings.get("weights"), weights_sha256=settings.get("weights_sha256"),
                   labels=settings.get("labels"), margin_mm=settings.get("margin_mm", MARGIN_MM),
                   window=settings.get("window_level_width", WINDOW_LEVEL_WIDTH),
                   max_slices=settings.get("max_slices", MAX_SLICES), device=settings.get("device"),
                   batch_size=settings.get("batch_size", 16))

    def settings(self) -> Dict[str, Any]:
        from .torch_runtime import package_version

        located = self.weights_file()
        return {"weights": located.path, "weights_sha256": located.sha256, "architecture": "resnet50",
                "labels": self.labels, "margin_mm": self.margin_mm, "window_level_width": list(self.window),
                "image_size": IMAGE_SIZE, "normalisation": "8-bit grey p -> (p - 127.5) * 2 / 255",
                "max_slices": self.max_slices, "pooling": "mean over slices", "monai": package_version("monai")}

    # ---------------------------------------------------------------------------------------------------- prepare
    def prepare(self, ct, region) -> PreparedInput:
        """The sampled slices as 8-bit grey squares of the native in-plane resolution, shape (slices, n, n)."""
        from .crop import AIR_HU, crop_region, hash_arrays

        crop = crop_region(ct, region, labels=self.labels, margin_mm=(self.margin_mm, self.margin_mm, 0.0))
        chosen = sample_slices(crop.mask, self.max_slices)
        (row0, n_rows), (col0, n_cols) = square_field(crop.mask, crop.spacing[:2], self.margin_mm)
        hu = crop.hu[chosen]
        hu = padded_window(hu, row0, n_rows, axis=1, fill=AIR_HU)
        hu = padded_window(hu, col0, n_cols, axis=2, fill=AIR_HU)
        grey = slices_to_8bit(hu, self.window)
        field_mm = (n_cols * crop.spacing[0], n_rows * crop.spacing[1])
        return PreparedInput(input_hash=hash_arrays([grey], (field_mm,)), data=grey)

    # ---------------------------------------------------------------------------------------------------- compute
    def compute(self, prepared: PreparedInput, progress: Progress = silent) -> Dict[str, float]:
        values = self.embed_slices(prepared.data, progress).mean(axis=0)
        return dict(zip(feature_names(), (float(v) for v in values)))

    def embed_slices(self, grey: np.ndarray, progress: Progress = silent) -> np.ndarray:
        """Per-slice 2048-d features (slices, 2048) of 8-bit grey slices (slices, rows, cols)."""
        from .torch_runtime import deterministic, resolve_device

        if grey.ndim != 3 or grey.shape[0] == 0:
            raise RegionError("no axial slice of the region of interest to embed")
        device = resolve_device(self.device)
        progress(0.0, "%s: loading weights" % NAME)
        model = load_network(self.weights_file(), device)
        features = np.zeros((grey.shape[0], EMBEDDING_SIZE), dtype=np.float64)
        with deterministic() as torch:
            with torch.no_grad():
                for start in range(0, grey.shape[0], self.batch_size):
                    stop = min(grey.shape[0], start + self.batch_size)
                    batch = torch.from_numpy(np.ascontiguousarray(grey[start:stop])).to(device)
                    batch = (batch.float() - 127.5) * (2.0 / 255.0)
                    batch = torch.nn.functional.interpolate(batch[:, None], size=(IMAGE_SIZE, IMAGE_SIZE),
                                                            mode="bilinear", align_corners=False)
                    features[start:stop] = model(batch.expand(-1, 3, -1, -1).contiguous()).double().cpu().numpy()
                    progress(stop / grey.shape[0], "%s: %d of %d slices" % (NAME, stop, grey.shape[0]))
        return self.check_finite(features, "RadImageNet")
