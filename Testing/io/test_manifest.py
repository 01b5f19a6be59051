"""The one manifest reader: both ID rules (pseudonyms for assess, file stems for train), the labels, the contrast
column, a byte-order mark, and one-line refusals naming the row."""

from __future__ import annotations

import pytest

from CoronaryCalciumLib.errors import InputError
from CoronaryCalciumLib.io.manifest import pseudonym, read_manifest


def _write(tmp_path, text, bom=False):
    path = tmp_path / "manifest.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return str(path)


def test_train_ids_are_file_stems_and_assess_ids_are_pseudonyms_from_the_same_reader(tmp_path):
    path = _write(tmp_path, "image,mask,agatston\ncases/p1_ct.nii.gz,cases/p1_roi.nii.gz,12\n", bom=True)
    train_case = read_manifest(path)[0]
    batch_case = read_manifest(path, ids="pseudonym", require_mask=False, labelled=False)[0]
    assert train_case.case_id == "p1_ct" and train_case.binary_label() == "non-zero"
    assert batch_case.case_id == pseudonym(str(tmp_path / "cases" / "p1_ct.nii.gz"))
    assert batch_case.agatston is None  # labels are not read for an assessment
    assert train_case.image == batch_case.image == str(tmp_path / "cases" / "p1_ct.nii.gz")


def test_the_contrast_column_is_read_and_a_blank_cell_is_left_to_detection(tmp_path):
    path = _write(tmp_path, "id,image,mask,label,contrast\na,a.nii,am.nii,0,yes\nb,b.nii,bm.nii,1,No\n"
                            "c,c.nii,cm.nii,1,\n")
    cases = {case.case_id: case for case in read_manifest(path)}
    assert (cases["a"].contrast, cases["a"].contrast_source) == (True, "manifest")
    assert (cases["b"].contrast, cases["b"].contrast_source) == (False, "manifest")
    assert (cases["c"].contrast, cases["c"].contrast_source) == (None, "")


def test_a_bad_contrast_word_is_refused_naming_the_row(tmp_path):
    path = _write(tmp_path, "id,image,mask,label,contrast\na,a.nii,am.nii,0,maybe\n")
    with pytest.raises(InputError, match="row 2: contrast 'maybe' is not yes/no"):
        read_manifest(path)


def test_assess_ids_are_made_safe_for_folders_and_a_mask_is_optional(tmp_path):
    path = _write(tmp_path, "id,image\np 1/x,a.nii\n")
    case = read_manifest(path, ids="pseudonym", require_mask=False, labelled=False)[0]
    assert case.case_id == "p_1_x" and case.mask is None
    with pytest.raises(InputError, match="has no mask column"):
        read_manifest(path)


def test_a_case_named_twice_is_refused(tmp_path):
    path = _write(tmp_path, "id,image,mask\na,a.nii,m.nii\na,b.nii,m.nii\n")
    with pytest.raises(InputError, match="row 3: case_id a appears twice"):
        read_manifest(path)
