"""Segment terminology resolved by Slicer's real Terminologies logic: the anatomy in Slicer's DICOM master lists, the
calcification in the extension's own context (Resources/Terminologies), loaded by the module's Logic."""

from __future__ import annotations

from support import slicer_real


def test_pathologic_calcification_is_in_none_of_slicers_own_lists(module):
    from CoronaryCalciumLib.region.terminology import CALCIFICATION, TERMINOLOGY_CONTEXT, terminology_entry

    masterList = terminology_entry(("49755003", "Morphologically Altered Structure"), CALCIFICATION,
                                   ("59438005", "Left Anterior Descending Coronary Artery"))
    assert TERMINOLOGY_CONTEXT in masterList
    assert not slicer_real.resolves(masterList)
    assert all(code != CALCIFICATION[0] for pairs in (slicer_real.terminology_codes(TERMINOLOGY_CONTEXT),)
               for _category, code in pairs)


def test_every_segment_the_module_writes_resolves_in_slicers_terminologies(module, scene, severe):
    from CoronaryCalciumLib.region.arteries import ARTERIES_AND_UNASSIGNED
    from CoronaryCalciumLib.region.terminology import CALCIUM_TERMINOLOGY_CONTEXT

    logic = module.CoronaryCalciumLogic()
    assert logic.loadTerminology()
    assert ("49755003", "18115005") in slicer_real.terminology_codes(CALCIUM_TERMINOLOGY_CONTEXT)
    entries = [module.calciumTerminology(artery) for artery in ARTERIES_AND_UNASSIGNED]
    entries += [module.regionTerminology(artery) for artery in ARTERIES_AND_UNASSIGNED]
    entries.append(module.regionTerminology("", heart=True))
    assert [entry for entry in entries if not slicer_real.resolves(entry)] == []

    logic.process(severe.ct, severe.segmentation, model=None)
    segments = logic.outputs.calciumSegmentation.GetSegmentation()
    tags = [segments.GetNthSegment(index).GetTerminology() for index in range(segments.GetNumberOfSegments())]
    assert tags and all(slicer_real.resolves(tag) for tag in tags)
    assert all(CALCIUM_TERMINOLOGY_CONTEXT in tag for tag in tags)
