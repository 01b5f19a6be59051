"""region.source.RegionSource: one name for where the region comes from, read by the command line and the Slicer
parameter node alike."""

from __future__ import annotations

import argparse

import pytest

from CoronaryCalciumLib.cli.options import REGION_CHOICES, add_region_options, totalseg_settings_from_args
from CoronaryCalciumLib.errors import InputError
from CoronaryCalciumLib.region import RegionSource


def test_the_command_line_values_name_the_members():
    assert REGION_CHOICES == ("mask", "heart", "coronary")
    assert [RegionSource(value) for value in REGION_CHOICES] == [RegionSource.SEGMENTATION, RegionSource.HEART,
                                                                 RegionSource.CORONARY]
    assert RegionSource.MASK is RegionSource.SEGMENTATION


def test_the_names_a_parameter_node_stores_are_those_of_scenes_saved_before():
    # Slicer's parameterNodeWrapper writes member.name and reads RegionSource[name]
    assert [source.name for source in RegionSource] == ["CORONARY", "HEART", "SEGMENTATION"]
    for stored in ("CORONARY", "HEART", "SEGMENTATION"):
        assert RegionSource[stored].name == stored


def test_the_old_slicer_values_and_any_case_still_name_a_member():
    assert RegionSource.of("segmentation") is RegionSource.SEGMENTATION
    assert RegionSource.of("Heart") is RegionSource.HEART
    assert RegionSource.of(RegionSource.CORONARY) is RegionSource.CORONARY
    with pytest.raises(ValueError):
        RegionSource.of("lungs")


def test_each_choice_has_its_own_label_and_says_whether_totalsegmentator_builds_it():
    labels = [source.label() for source in RegionSource]
    assert all(labels) and len(set(labels)) == len(labels)
    assert [source.uses_totalsegmentator for source in RegionSource] == [True, True, False]


@pytest.mark.parametrize("choice", REGION_CHOICES)
def test_the_region_option_reaches_the_totalsegmentator_settings(choice):
    parser = argparse.ArgumentParser()
    add_region_options(parser)
    settings = totalseg_settings_from_args(parser.parse_args(["--region", choice]))
    if RegionSource(choice).uses_totalsegmentator:
        assert settings.backend == choice and settings.in_process
    else:
        assert settings is None
        with pytest.raises(InputError, match="--totalseg-output needs"):
            totalseg_settings_from_args(parser.parse_args(["--region", choice, "--totalseg-output", "x"]))
