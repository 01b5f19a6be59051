"""A DICOM node (PACS) over the DICOM network with pynetdicom: find a study (C-FIND), retrieve it (C-GET) into a
folder, and store files back (C-STORE).

C-GET is used rather than C-MOVE because it needs no route back to us configured on the PACS: the images come on the
same association. Images retrieved carry the patient's data: callers keep them in a temporary folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import List, Sequence

from ..errors import CoronaryCalciumError, InputError

DEFAULT_CALLING_AE = "CORONARYCALCIUM"
TIMEOUT_S = 60
_NODE = re.compile(r"^(?P<aet>[^@]{1,16})@(?P<host>[^:]+):(?P<port>\d{1,5})$")
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


class DicomNetworkError(CoronaryCalciumError):
    """The DICOM node refused the association or an operation failed."""


@dataclass(frozen=True)
class DicomNode:
    """A remote application entity: called AE title, host and port; ``calling_ae`` is ours."""

    ae_title: str
    host: str
    port: int
    calling_ae: str = DEFAULT_CALLING_AE

    def label(self) -> str:
        return "%s@%s:%d" % (self.ae_title, self.host, self.port)


def parse_node(text: str, calling_ae: str = DEFAULT_CALLING_AE) -> DicomNode:
    """``AET@HOST:PORT`` as a DicomNode; InputError in one line otherwise."""
    match = _NODE.match(text.strip())
    if not match or not 0 < int(match.group("port")) < 65536:
        raise InputError("DICOM node %r is not AET@HOST:PORT (e.g. ORTHANC@localhost:4242)" % text)
    return DicomNode(match.group("aet"), match.group("host"), int(match.group("port")), calling_ae)


def check_uid(uid: str) -> str:
    if not _UID.match(uid or "") or len(uid) > 64:
        raise InputError("%r is not a DICOM UID (digits and dots, at most 64 characters)" % uid)
    return uid


def _associate(node: DicomNode, ae, **kwargs):
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, **kwargs)
    if not assoc.is_established:
        raise DicomNetworkError("DICOM node %s refused or did not answer the association (calling AE %s)"
                                % (node.label(), node.calling_ae))
    return assoc


def _application_entity(node: DicomNode):
    from pynetdicom import AE

    ae = AE(ae_title=node.calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
    return ae


def query_series(node: DicomNode, study_uid: str) -> List[dict]:
    """The series of a study on the node (C-FIND, study root): [{series_uid, modality, images}]."""
    from pydicom.dataset import Dataset
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

    ae = _application_entity(node)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    query = Dataset()
    query.QueryRetrieveLevel = "SERIES"
    query.StudyInstanceUID = check_uid(study_uid)
    query.SeriesInstanceUID = ""
    query.Modality = ""
    query.NumberOfSeriesRelatedInstances = ""
    assoc = _associate(node, ae)
    found = []
    try:
        for status, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
            if status is None:
                raise DicomNetworkError("DICOM node %s stopped answering the C-FIND" % node.label())
            if status.Status in (0xFF00, 0xFF01) and identifier is not None:
                found.append({"series_uid": str(identifier.SeriesInstanceUID),
                              "modality": str(getattr(identifier, "Modality", "") or ""),
                              "images": int(getattr(identifier, "NumberOfSeriesRelatedInstances", 0) or 0)})
    finally:
        assoc.release()
    return found


def retrieve_study(node: DicomNode, study_uid: str, folder: str) -> List[str]:
    """C-GET every CT image of a study into ``folder`` (one file per SOP instance); returns the paths written."""
    from pydicom.dataset import Dataset
    from pynetdicom import build_role, evt
    from pynetdicom.sop_class import (CTImageStorage, EnhancedCTImageStorage,
                                      StudyRootQueryRetrieveInformationModelGet)

    series = query_series(node, study_uid)
    if not any(item["modality"].upper() == "CT" for item in series):
        raise InputError("study %s has no CT series on %s (found: %s)" % (
            study_uid, node.label(), ", ".join(item["modality"] or "?" for item in series) or "nothing"))
    os.makedirs(folder, exist_ok=True)
    written: List[str] = []

    def on_store(event):
        dataset = event.dataset
        dataset.file_meta = event.file_meta
        path = os.path.join(folder, "%s.dcm" % dataset.SOPInstanceUID)
        dataset.save_as(path, enforce_file_format=True)
        written.append(path)
        return 0x0000

    storage = (CTImageStorage, EnhancedCTImageStorage)
    ae = _application_entity(node)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    for sop_class in storage:
        ae.add_requested_context(sop_class)
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_uid
    assoc = _associate(node, ae, ext_neg=[build_role(c, scp_role=True) for c in storage],
                       evt_handlers=[(evt.EVT_C_STORE, on_store)])
    final = None
    try:
        for status, _identifier in assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet):
            if status is None:
                raise DicomNetworkError("DICOM node %s stopped answering the C-GET" % node.label())
            final = status
    finally:
        assoc.release()
    if final is None or final.Status not in (0x0000, 0xB000):
        code = "no answer" if final is None else "status 0x%04X" % final.Status
        raise DicomNetworkError("C-GET of study %s from %s failed (%s)" % (study_uid, node.label(), code))
    if not written:
        raise InputError("study %s has no CT images on %s" % (study_uid, node.label()))
    return written


def store_files(node: DicomNode, paths: Sequence[str]) -> int:
    """C-STORE DICOM files to the node, each in its own transfer syntax; returns how many were stored."""
    import pydicom

    datasets = [pydicom.dcmread(path) for path in paths]
    ae = _application_entity(node)
    for sop_class, syntax in sorted({(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds in datasets}):
        ae.add_requested_context(sop_class, syntax)
    assoc = _associate(node, ae)
    try:
        for path, dataset in zip(paths, datasets):
            status = assoc.send_c_store(dataset)
            if status is None or getattr(status, "Status", None) != 0x0000:
                code = "no answer" if status is None else "status 0x%04X" % status.Status
                raise DicomNetworkError("C-STORE of %s to %s failed (%s)" % (os.path.basename(path), node.label(),
                                                                             code))
    finally:
        assoc.release()
    return len(datasets)
