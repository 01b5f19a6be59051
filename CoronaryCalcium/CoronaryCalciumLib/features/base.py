"""The feature-extractor interface: ``prepare`` crops what an extractor needs from the CT and region (never copying
the whole volume) and hashes it, ``compute`` turns that into named numbers, ``extract`` adds the per-case cache
(keyed by a hash of the cropped image, the mask and the settings).

This module imports no extractor: ``registry`` finds them by name.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from ..progress import Progress, silent


@dataclass
class PreparedInput:
    """What an extractor needs from one case, already cropped, plus a hash of exactly those inputs."""

    input_hash: str
    data: Any
    warnings: List[str] = field(default_factory=list)


@dataclass
class CaseFeatures:
    """Named feature values of one case from one extractor. ``seconds`` is the compute time (0 when read from cache)."""

    extractor: str
    values: Dict[str, float]
    settings_hash: str
    input_hash: str
    seconds: float = 0.0
    from_cache: bool = False
    warnings: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["values"] = {name: _json_number(value) for name, value in self.values.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CaseFeatures":
        values = {str(k): (float("nan") if v is None else float(v)) for k, v in dict(data["values"]).items()}
        return cls(extractor=str(data["extractor"]), values=values, settings_hash=str(data["settings_hash"]),
                   input_hash=str(data["input_hash"]), seconds=float(data.get("seconds", 0.0)),
                   from_cache=bool(data.get("from_cache", False)), warnings=list(data.get("warnings", [])))


class FeatureExtractor:
    """Base of every extractor. Subclasses set ``name`` and implement ``settings``, ``prepare`` and ``compute``."""

    name = "base"

    def settings(self) -> Dict[str, Any]:
        """JSON-serialisable settings; ``make_extractor(name, settings)`` rebuilds an identical extractor from them."""
        raise NotImplementedError

    def prepare(self, ct, region) -> PreparedInput:
        """Crop what this extractor reads from ``ct`` (CTVolume) and ``region`` (RegionOfInterest); hash it."""
        raise NotImplementedError

    def compute(self, prepared: PreparedInput, progress: Progress = silent) -> Dict[str, float]:
        """Feature name -> value for one prepared case. Raises RegionError when the region cannot give features."""
        raise NotImplementedError

    def settings_hash(self) -> str:
        text = json.dumps({"extractor": self.name, "settings": self.settings()}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def extract(self, ct, region, cache: Optional[Any] = None, progress: Progress = silent) -> CaseFeatures:
        """Features of one case, read from ``cache`` (a ``cache.FeatureCache``) when the same inputs and settings were
        extracted before."""
        progress(0.0, "%s: preparing region" % self.name)
        prepared = self.prepare(ct, region)
        settings_hash = self.settings_hash()
        if cache is not None:
            cached = cache.get(self.name, settings_hash, prepared.input_hash)
            if cached is not None:
                progress(1.0, "%s: features read from cache" % self.name)
                return cached
        start = time.perf_counter()
        values = self.compute(prepared, progress)
        result = CaseFeatures(extractor=self.name, values=values, settings_hash=settings_hash,
                              input_hash=prepared.input_hash, seconds=time.perf_counter() - start,
                              warnings=list(prepared.warnings))
        if cache is not None:
            cache.put(result)
        progress(1.0, "%s: %d features" % (self.name, len(values)))
        return result


def _json_number(value: float) -> Optional[float]:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value
