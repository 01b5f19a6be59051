"""A throw-away Orthanc DICOM server on localhost (Debian package ``orthanc``): free ports, temporary storage, no
plugins; its REST API (urllib) loads and reads back instances independently of the code under test."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from typing import List, Optional

from .pacs import require_tool

AE_TITLE = "ORTHANC"
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Orthanc:
    """Start with ``start()``, stop with ``stop()``; ``dicom_port``/``http_port`` are on 127.0.0.1."""

    def __init__(self, folder: str, calling_ae: str):
        self.folder = folder
        self.calling_ae = calling_ae
        self.dicom_port = free_port()
        self.http_port = free_port()
        self.process: Optional[subprocess.Popen] = None

    @property
    def node(self) -> str:
        return "%s@127.0.0.1:%d" % (AE_TITLE, self.dicom_port)

    def start(self) -> "Orthanc":
        binary = require_tool("Orthanc")
        storage = os.path.join(self.folder, "storage")
        os.makedirs(storage, exist_ok=True)
        config = {
            "Name": "coronary-calcium-test", "StorageDirectory": storage, "IndexDirectory": storage,
            "HttpPort": self.http_port, "DicomPort": self.dicom_port, "DicomAet": AE_TITLE,
            "RemoteAccessAllowed": False, "AuthenticationEnabled": False, "DicomCheckCalledAet": False,
            "DicomModalities": {"cac": [self.calling_ae, "127.0.0.1", free_port()]},
            "DicomAlwaysAllowStore": True, "Plugins": [], "StableAge": 1,
        }
        path = os.path.join(self.folder, "orthanc.json")
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(config, stream)
        self.log = open(os.path.join(self.folder, "orthanc.log"), "wb")
        self.process = subprocess.Popen([binary, path], stdout=self.log, stderr=subprocess.STDOUT, cwd=self.folder)
        deadline = time.time() + START_TIMEOUT_S
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("Orthanc exited with %s; see %s" % (self.process.returncode, self.log.name))
            try:
                self.get("/system")
                return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("Orthanc did not start within %d s" % START_TIMEOUT_S)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def _url(self, path: str) -> str:
        return "http://127.0.0.1:%d%s" % (self.http_port, path)

    def get(self, path: str):
        with urllib.request.urlopen(self._url(path), timeout=30) as answer:
            body = answer.read()
        return json.loads(body) if answer.headers.get_content_type() == "application/json" else body

    def upload(self, path: str) -> dict:
        with open(path, "rb") as stream:
            request = urllib.request.Request(self._url("/instances"), data=stream.read(), method="POST",
                                             headers={"Content-Type": "application/dicom"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())

    def instances_of_study(self, study_uid: str, modality: str) -> List[bytes]:
        """The files of every instance of ``modality`` in the study (DICOM bytes)."""
        found = []
        for study in self.get("/studies"):
            if self.get("/studies/%s" % study)["MainDicomTags"]["StudyInstanceUID"] != study_uid:
                continue
            for series in self.get("/studies/%s/series" % study):
                if series["MainDicomTags"].get("Modality") == modality:
                    for instance in series["Instances"]:
                        found.append(self.get("/instances/%s/file" % instance))
        return found
