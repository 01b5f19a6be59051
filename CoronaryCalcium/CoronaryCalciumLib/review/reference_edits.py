"""The edits a reader would make to turn one score into a reference score of the same CT (a phantom's exact-mask
score, another reader's): what the review benchmark and tests replay. Lesion ids are each score's own; points are LPS
mm."""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from .edits import Edit
from ..io.ct import CTVolume
from ..scoring.agatston import CalciumScore


def edits_to_reference(score: CalciumScore, reference: CalciumScore, ct: CTVolume,
                       reader: str = "reference") -> List[Edit]:
    """Edits from ``score`` to ``reference``: a counted lesion with exactly the voxels of a counted reference lesion
    gets that lesion's artery (when it differs), one overlapping no counted reference lesion is excluded ("not
    coronary"), one cut by the region (or merged with another) is excluded and the whole reference lesion added, a
    reference lesion ``score`` missed is added at its brightest voxel. ``ct``: the CT both were scored on."""
    own_map, reference_map = score.lesion_label_volume(), reference.lesion_label_volume()
    counted_reference = {l.id: l for l in reference.lesions}
    edits, matched, cut = [], set(), set()
    for lesion in score.lesions:
        voxels = own_map == lesion.id
        overlapping = {int(i) for i in np.unique(reference_map[voxels]) if int(i) in counted_reference}
        if not overlapping:
            edits.append(Edit("exclude", lesion=lesion.id, reason="other", reader=reader, note="not coronary"))
            continue
        reference_id = overlapping.pop()
        if not overlapping and np.array_equal(voxels, reference_map == reference_id):
            if counted_reference[reference_id].artery != lesion.artery:
                edits.append(Edit("artery", lesion=lesion.id, artery=counted_reference[reference_id].artery,
                                  reader=reader, note="artery of the reference"))
            matched.add(reference_id)
        else:
            edits.append(Edit("exclude", lesion=lesion.id, reason="other", reader=reader,
                              note="cut by the region: added whole"))
            cut.update(overlapping | {reference_id})
    for reference_id, lesion in counted_reference.items():
        if reference_id not in matched:
            edits.append(Edit("add", point_lps_mm=lesion_point(reference, reference_id, ct), artery=lesion.artery,
                              reader=reader, note="whole lesion" if reference_id in cut else "missed by the region"))
    return edits


def lesion_point(calcium: CalciumScore, lesion_id: int, ct: CTVolume) -> Tuple[float, float, float]:
    """LPS mm of lesion ``lesion_id``'s brightest voxel in ``ct`` (where a reader clicks; the first in z-y-x order
    on a tie). Not just any voxel: a lesion scored on slabs of thin slices holds voxels below the threshold."""
    voxels = np.argwhere(calcium.lesion_label_volume() == lesion_id)
    index = voxels[int(np.argmax(ct.array[tuple(voxels.T)]))]
    return ct.geometry.index_to_lps(tuple(float(v) for v in index))
