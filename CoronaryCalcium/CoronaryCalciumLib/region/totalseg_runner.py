"""Running TotalSegmentator, in-process (CLI, batch) or as a subprocess with streamed log lines (Slicer), and turning
its failures into one-line ``RegionError`` messages.

TotalSegmentator is an optional dependency (the ``totalsegmentator`` extra). Where its weights and its settings live:

- ``TOTALSEG_HOME_DIR``: its home folder, holding ``config.json`` (licence number, usage statistics switch);
  default ``~/.totalsegmentator``.
- ``TOTALSEG_WEIGHTS_PATH``: the folder of nnU-Net model folders (``DatasetNNN_...``); default
  ``<home>/nnunet/results``. A model is downloaded on first use only when its folder is missing; on a machine without
  network the folders must be copied there.

Licensed tasks (``coronary_arteries``) need a licence number in ``config.json`` (key ``license_number``).
TotalSegmentator's own ``-l``/``license_number=`` validates the number online and exits when offline; ``set_license``
stores it the way TotalSegmentator's config expects, checked only offline (18 characters, as TotalSegmentator's
offline check does), so that it works on machines without network.

Failure modes translated here: not installed; weights missing and no network; licence missing or invalid
(TotalSegmentator calls ``sys.exit``); empty crop ("no heart found": TotalSegmentator then returns an empty mask and
says so only in its log); out of memory (``MemoryError``, CUDA OOM, or a process killed by the OS).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..errors import RegionError
from ..progress import Progress

LogSink = Callable[[str], None]

EXTRA_INSTALL = "pip install 'coronary-calcium[totalsegmentator]'"
INSTALL_HINT = (
    "TotalSegmentator is not installed: %s (needs PyTorch; see the README, section TotalSegmentator), "
    "or in Slicer install the TotalSegmentator extension; or give a region of interest mask instead" % EXTRA_INSTALL
)
LICENCE_URL = "https://backend.totalsegmentator.com/license-academic/"
LICENCE_LENGTH = 18  # TotalSegmentator's offline licence check accepts numbers of this length

# Tasks we run, with what TotalSegmentator's task table says about them (used when TotalSegmentator is not importable
# in this process, e.g. when building a subprocess command).
KNOWN_TASKS: Dict[str, Dict[str, bool]] = {
    "total": {"fast": True, "licensed": False},
    "coronary_arteries": {"fast": False, "licensed": True},
}

_CROP_EMPTY = "crop is empty"
_OOM_PATTERNS = ("out of memory", "memoryerror", "unable to allocate", "cannot allocate memory",
                 "background workers died")
_NETWORK_PATTERNS = ("max retries exceeded", "failed to resolve", "name or service not known", "connectionerror",
                     "proxyerror", "connection refused", "temporary failure in name resolution",
                     "network is unreachable", "timed out")


@dataclass
class TotalSegSettings:
    """How to run TotalSegmentator.

    ``device``: "auto" (GPU, else Apple MPS, else CPU), "cpu", "gpu", "gpu:N" or "mps". ``fast``: None runs the
    faster 3 mm model on the CPU where the task has one; True/False forces it. ``home_dir`` and ``weights_dir`` set
    ``TOTALSEG_HOME_DIR`` and ``TOTALSEG_WEIGHTS_PATH`` for the run (None keeps the environment's). ``usage_stats``:
    None leaves TotalSegmentator's own setting (it sends anonymous usage statistics by default); False turns them off
    in its config.
    """

    device: str = "auto"
    fast: Optional[bool] = None
    license_number: Optional[str] = None
    home_dir: Optional[str] = None
    weights_dir: Optional[str] = None
    robust_crop: bool = False
    threads: int = 1
    usage_stats: Optional[bool] = None


@dataclass
class TotalSegRun:
    """One finished TotalSegmentator run: where its multilabel output is, how it ran, and what it printed."""

    output_path: str
    task: str
    device: str
    fast: bool
    fastest: bool
    roi_subset: Optional[List[str]]
    seconds: float
    log: List[str] = field(default_factory=list)

    @property
    def crop_was_empty(self) -> bool:
        """True when TotalSegmentator found nothing to crop to (e.g. no heart) and returned an empty mask."""
        return any(_CROP_EMPTY in line.lower() for line in self.log)


# --------------------------------------------------------------------------------------------------------------------
# installation, device, fast mode


def is_installed() -> bool:
    """True when TotalSegmentator and PyTorch can be imported here."""
    return importlib.util.find_spec("totalsegmentator") is not None and importlib.util.find_spec("torch") is not None


def require_installed() -> None:
    """Raise RegionError with the install command when TotalSegmentator is missing."""
    if not is_installed():
        raise RegionError(INSTALL_HINT)


def resolve_device(device: str = "auto") -> str:
    """"auto" -> "gpu" when CUDA works, else "mps" on Apple silicon, else "cpu"; other values are checked and kept."""
    device = (device or "auto").strip().lower()
    if device == "auto":
        try:
            import torch
        except ImportError:
            return "cpu"
        if torch.cuda.is_available():
            return "gpu"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if device in ("cpu", "gpu", "mps") or re.match(r"^gpu:\d+$", device):
        return device
    if device == "cuda":
        return "gpu"
    raise RegionError("device '%s' not understood; use auto, cpu, gpu, gpu:N or mps" % device)


def task_allows_fast(task: str) -> bool:
    """Whether TotalSegmentator has a faster low-resolution model for ``task``."""
    try:
        from totalsegmentator.map_tasks_config import TASK_CONFIGS
    except ImportError:
        return KNOWN_TASKS.get(task, {}).get("fast", False)
    config = TASK_CONFIGS.get(task, {})
    if "sub_modes" in config:
        return "fast" in config["sub_modes"]
    return bool(config) and not config.get("disallow_fast", False)


def task_is_licensed(task: str) -> bool:
    """Whether ``task`` needs a TotalSegmentator licence number."""
    try:
        from totalsegmentator.map_tasks_config import TASK_CONFIGS
    except ImportError:
        return KNOWN_TASKS.get(task, {}).get("licensed", False)
    return bool(TASK_CONFIGS.get(task, {}).get("commercial", False))


def resolve_fast(task: str, device: str, fast: Optional[bool]) -> bool:
    """Fast mode as asked, or (None) on the CPU where the task has it; asking it of a task without one is an error."""
    allowed = task_allows_fast(task)
    if fast is None:
        return allowed and device == "cpu"
    if fast and not allowed:
        raise RegionError("TotalSegmentator task '%s' has no fast mode; run it without --fast" % task)
    return bool(fast)


# --------------------------------------------------------------------------------------------------------------------
# folders, licence, environment


def environment(settings: TotalSegSettings) -> Dict[str, str]:
    """The TOTALSEG_* variables ``settings`` asks for (only those it sets)."""
    env: Dict[str, str] = {}
    if settings.home_dir:
        env["TOTALSEG_HOME_DIR"] = os.path.abspath(settings.home_dir)
    if settings.weights_dir:
        env["TOTALSEG_WEIGHTS_PATH"] = os.path.abspath(settings.weights_dir)
    return env


def home_dir(settings: Optional[TotalSegSettings] = None) -> str:
    """TotalSegmentator's home folder for ``settings`` (where config.json lives)."""
    if settings is not None and settings.home_dir:
        return os.path.abspath(settings.home_dir)
    if os.environ.get("TOTALSEG_HOME_DIR"):
        return os.environ["TOTALSEG_HOME_DIR"]
    home = os.path.expanduser("~")
    return os.path.join("/tmp" if home == "/" else home, ".totalsegmentator")


def weights_dir(settings: Optional[TotalSegSettings] = None) -> str:
    """Folder TotalSegmentator looks in for model weights, for ``settings``."""
    if settings is not None and settings.weights_dir:
        return os.path.abspath(settings.weights_dir)
    if os.environ.get("TOTALSEG_WEIGHTS_PATH"):
        return os.environ["TOTALSEG_WEIGHTS_PATH"]
    return os.path.join(home_dir(settings), "nnunet", "results")


@contextlib.contextmanager
def _environment_applied(settings: TotalSegSettings) -> Iterator[None]:
    """Set TOTALSEG_* (and the nnUNet_* variables TotalSegmentator derives from them) for the block, then restore."""
    names = ("TOTALSEG_HOME_DIR", "TOTALSEG_WEIGHTS_PATH", "nnUNet_raw", "nnUNet_preprocessed", "nnUNet_results")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(environment(settings))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_license_format(license_number: str) -> str:
    """The licence number stripped, or RegionError when it cannot be one (TotalSegmentator's offline rule)."""
    number = (license_number or "").strip()
    if len(number) != LICENCE_LENGTH:
        raise RegionError(
            "TotalSegmentator licence number must be %d characters (got %d); copy it exactly from the licence e-mail "
            "(free for non-commercial use: %s)" % (LICENCE_LENGTH, len(number), LICENCE_URL)
        )
    return number


def _prepare_config(settings: TotalSegSettings) -> None:
    """Create TotalSegmentator's config.json if needed; store the licence number and the usage statistics switch."""
    require_installed()
    os.makedirs(home_dir(settings), exist_ok=True)
    with _environment_applied(settings):
        from totalsegmentator.config import set_config_key, set_license_number, setup_totalseg

        with contextlib.redirect_stdout(io.StringIO()):
            setup_totalseg()
            set_config_key("statistics_disclaimer_shown", True)
            if settings.usage_stats is not None:
                set_config_key("send_usage_stats", bool(settings.usage_stats))
            if settings.license_number:
                # skip TotalSegmentator's online validation: it exits when the licence server cannot be reached
                set_license_number(check_license_format(settings.license_number), skip_validation=True)


def _other_interpreter(python: Optional[str]) -> bool:
    return python is not None and os.path.realpath(python) != os.path.realpath(sys.executable)


def set_license(license_number: str, settings: Optional[TotalSegSettings] = None, python: Optional[str] = None,
                log: Optional[LogSink] = None) -> str:
    """Store a licence number in TotalSegmentator's config.json (home folder of ``settings``); returns the file path.

    Checked offline only (format), as TotalSegmentator's licence server may be out of reach. With ``python`` (another
    interpreter that has TotalSegmentator, e.g. Slicer's PythonSlicer) its own ``totalseg_set_license`` tool runs there
    with ``--skip_validation``, so this process need not import torch.
    """
    number = check_license_format(license_number)
    settings = settings or TotalSegSettings()
    path = os.path.join(home_dir(settings), "config.json")
    if not _other_interpreter(python):
        _prepare_config(TotalSegSettings(**{**settings.__dict__, "license_number": number}))
    else:
        os.makedirs(home_dir(settings), exist_ok=True)
        command = [str(python), "-m", "totalsegmentator.bin.totalseg_set_license", "-l", number, "--skip_validation"]
        lines: List[str] = []
        try:
            for line in stream_command(command, subprocess_environment(settings), task="licence", settings=settings):
                lines.append(line)
                if log is not None:
                    log(line)
        except RegionError:
            raise RegionError("TotalSegmentator's licence tool failed: %s" % _tail(lines, 1)) from None
    if log is not None:
        log("TotalSegmentator licence stored in %s" % path)
    return path


# --------------------------------------------------------------------------------------------------------------------
# progress from TotalSegmentator's log


class ProgressTracker:
    """Turns TotalSegmentator's log lines into monotonic progress fractions (0-1) with a short message.

    Phases: the rough 6 mm segmentation used for cropping (5-25 %), the prediction proper (30-90 %, split between the
    model parts it runs, refined by nnU-Net's tqdm percentages), saving (95 %).
    """

    _PART = re.compile(r"Predicting part (\d+) of (\d+)")
    _TQDM = re.compile(r"(\d{1,3})%\|")

    def __init__(self, progress: Optional[Progress] = None) -> None:
        self.progress = progress
        self.fraction = 0.0
        self.phase = "start"
        self.window = (0.0, 0.3)
        self._message = ""

    def _emit(self, fraction: float, message: str) -> None:
        fraction = max(self.fraction, min(1.0, fraction))
        if (fraction, message) == (self.fraction, self._message):
            return
        self.fraction, self._message = fraction, message
        if self.progress is not None:
            self.progress(fraction, message)

    def feed(self, line: str) -> None:
        text = line.strip()
        if text.startswith("Generating rough"):
            self.phase, self.window = "crop", (0.05, 0.25)
            self._emit(0.05, "TotalSegmentator: rough segmentation for cropping")
        elif text.startswith("Downloading model"):
            self._emit(self.fraction, "TotalSegmentator: downloading model weights")
        elif text.startswith("Predicted in") and self.phase == "crop":
            self.phase = "cropped"
            self._emit(0.25, "TotalSegmentator: cropped")
        elif text.startswith("Predicting part"):
            match = self._PART.search(text)
            index, count = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
            self.phase = "main"
            self.window = (0.3 + 0.6 * (index - 1) / count, 0.3 + 0.6 * index / count)
            self._emit(self.window[0], "TotalSegmentator: predicting part %d of %d" % (index, count))
        elif text.startswith("Predicting"):
            if self.phase != "crop":
                self.phase, self.window = "main", (0.3, 0.9)
            self._emit(self.window[0], "TotalSegmentator: predicting")
        elif text.startswith("Saving"):
            self._emit(0.95, "TotalSegmentator: saving")
        else:
            match = self._TQDM.search(text)
            if match and self.phase in ("crop", "main"):
                low, high = self.window
                self._emit(low + (high - low) * min(int(match.group(1)), 100) / 100.0, "TotalSegmentator: predicting")


class _LineTee(io.TextIOBase):
    """A text stream that splits what is written into lines (on \\n and tqdm's \\r) and hands each line on."""

    def __init__(self, handle: Callable[[str], None]) -> None:
        super().__init__()
        self._handle = handle
        self._buffer = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        parts = re.split(r"[\r\n]", self._buffer)
        self._buffer = parts.pop()
        for part in parts:
            if part.strip():
                self._handle(part)
        return len(text)

    def flush(self) -> None:
        if self._buffer.strip():
            self._handle(self._buffer)
        self._buffer = ""


# --------------------------------------------------------------------------------------------------------------------
# failure translation


def _tail(log: Sequence[str], count: int = 3) -> str:
    lines = [line.strip() for line in log if line.strip() and "%|" not in line]
    return " | ".join(lines[-count:])[:300]


def translate_failure(task: str, log: Sequence[str], error: Optional[BaseException] = None,
                      returncode: Optional[int] = None, settings: Optional[TotalSegSettings] = None) -> RegionError:
    """One actionable RegionError for a failed TotalSegmentator run, from its exception or exit code and its log."""
    text = "\n".join(log).lower()
    if error is not None:
        text += "\n" + ("%s: %s" % (type(error).__name__, error)).lower()
    where = weights_dir(settings)

    if error is not None and isinstance(error, ImportError):
        return RegionError("%s (import failed: %s)" % (INSTALL_HINT, str(error)[:120]))
    if "license" in text and ("not openly available" in text or "has not been set" in text
                              or "requires a license" in text):
        return RegionError(
            "TotalSegmentator task '%s' needs a licence number: set it in the module settings or with "
            "--totalseg-license (free for non-commercial use: %s)" % (task, LICENCE_URL))
    if "invalid license" in text:
        return RegionError(
            "TotalSegmentator rejected the licence number for task '%s': check it (%d characters) or get one at %s"
            % (task, LICENCE_LENGTH, LICENCE_URL))
    if "could not find config file" in text:
        return RegionError("TotalSegmentator's config.json is missing in %s; set the licence number again"
                           % home_dir(settings))
    if any(pattern in text for pattern in _OOM_PATTERNS) or returncode in (-9, 137) or isinstance(error, MemoryError):
        return RegionError(
            "TotalSegmentator ran out of memory (task '%s'): close other programs, use the CPU instead of a small "
            "GPU, or fast mode where the task has it" % task)
    downloading = "downloading model" in text or "download_pretrained_weights" in text
    if downloading or (error is not None and type(error).__module__.startswith(("requests", "urllib3"))):
        if any(pattern in text for pattern in _NETWORK_PATTERNS) or error is not None:
            return RegionError(
                "TotalSegmentator weights for task '%s' are not in %s and cannot be downloaded (no network?): "
                "copy the Dataset folders there from a connected machine (totalseg_download_weights) or point "
                "TOTALSEG_WEIGHTS_PATH at them" % (task, where))
    if "checkpoint_final.pth" in text or "plans.json" in text or "dataset.json" in text:
        return RegionError(
            "TotalSegmentator weights for task '%s' in %s are incomplete (%s): delete that Dataset folder and "
            "download it again" % (task, where, _tail(log + ([str(error)] if error else []), 1)))
    if "no module named" in text:
        return RegionError("%s (%s)" % (INSTALL_HINT, _tail(log + ([str(error)] if error else []), 1)))
    detail = _tail(list(log) + ([("%s: %s" % (type(error).__name__, error))] if error is not None else []))
    code = "" if returncode is None else " (exit code %d)" % returncode
    return RegionError("TotalSegmentator task '%s' failed%s: %s" % (task, code, detail or "no message"))


# --------------------------------------------------------------------------------------------------------------------
# in-process run


def run_in_process(input_path: str, output_path: str, task: str, settings: Optional[TotalSegSettings] = None,
                   roi_subset: Optional[Sequence[str]] = None, fastest: bool = False,
                   progress: Optional[Progress] = None, log: Optional[LogSink] = None) -> TotalSegRun:
    """Run ``totalsegmentator()`` here on a NIfTI file; writes one multilabel NIfTI to ``output_path``.

    Callers running this from a script must guard it with ``if __name__ == "__main__":`` (nnU-Net starts worker
    processes with the spawn method). Raises RegionError on any failure.
    """
    settings = settings or TotalSegSettings()
    require_installed()
    device = resolve_device(settings.device)
    fast = False if fastest else resolve_fast(task, device, settings.fast)
    _prepare_config(settings)
    lines: List[str] = []
    tracker = ProgressTracker(progress)
    real_streams = (sys.stdout, sys.stderr)
    callback_errors: List[BaseException] = []

    def handle(line: str) -> None:
        lines.append(line)
        captured = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = real_streams  # the callbacks may print: not into TotalSegmentator's log
        try:
            tracker.feed(line)
            if log is not None:
                log(line)
        except BaseException as error:  # e.g. the user cancelled: passed on as it is, not as a TotalSegmentator failure
            callback_errors.append(error)
            raise
        finally:
            sys.stdout, sys.stderr = captured

    tee = _LineTee(handle)
    started = time.time()
    with _environment_applied(settings):
        try:
            with contextlib.redirect_stdout(tee), contextlib.redirect_stderr(tee):
                from totalsegmentator.python_api import totalsegmentator

                totalsegmentator(
                    input_path, output_path, ml=True, task=task, fast=fast, fastest=fastest,
                    roi_subset=list(roi_subset) if roi_subset else None, device=device,
                    robust_crop=settings.robust_crop, nr_thr_resamp=settings.threads,
                    nr_thr_saving=settings.threads, quiet=False, verbose=False,
                )
        except SystemExit as error:
            tee.flush()
            if error.code not in (None, 0):
                lines.append(str(error.code))
            raise translate_failure(task, lines, None, returncode=_exit_code(error), settings=settings) from None
        except RegionError:
            raise
        except BaseException as error:  # noqa: B902 - everything TotalSegmentator raises becomes one message
            if isinstance(error, KeyboardInterrupt) or any(error is e for e in callback_errors):
                raise
            tee.flush()
            raise translate_failure(task, lines, error, settings=settings) from error
        finally:
            tee.flush()
    return _finished_run(output_path, task, device, fast, fastest, roi_subset, started, lines, settings, progress)


def _exit_code(error: SystemExit) -> int:
    return error.code if isinstance(error.code, int) else 1


# --------------------------------------------------------------------------------------------------------------------
# subprocess run (Slicer)


def build_command(input_path: str, output_path: str, task: str, settings: Optional[TotalSegSettings] = None,
                  roi_subset: Optional[Sequence[str]] = None, fastest: bool = False,
                  python: Optional[str] = None) -> List[str]:
    """The TotalSegmentator command line for one run (``python -m totalsegmentator.bin.TotalSegmentator ...``).

    ``python`` is the interpreter that has TotalSegmentator (in Slicer: PythonSlicer); default this one. The licence is
    not put on the command line (TotalSegmentator would validate it online): call ``prepare_subprocess`` first.
    """
    settings = settings or TotalSegSettings()
    device = resolve_device(settings.device)
    fast = False if fastest else resolve_fast(task, device, settings.fast)
    command = [python or sys.executable, "-m", "totalsegmentator.bin.TotalSegmentator",
               "-i", input_path, "-o", output_path, "--ml", "--task", task, "--device", device,
               "--nr_thr_resamp", str(settings.threads), "--nr_thr_saving", str(settings.threads)]
    if fastest:
        command.append("--fastest")
    elif fast:
        command.append("--fast")
    if settings.robust_crop:
        command.append("--robust_crop")
    if roi_subset:
        command.append("--roi_subset")
        command.extend(roi_subset)
    return command


def subprocess_environment(settings: Optional[TotalSegSettings] = None,
                           base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment for the TotalSegmentator subprocess: ``base`` (default this process's) plus TOTALSEG_* and
    unbuffered output so that log lines arrive as they are printed."""
    env = dict(os.environ if base is None else base)
    env.update(environment(settings or TotalSegSettings()))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def prepare_subprocess(settings: Optional[TotalSegSettings] = None, python: Optional[str] = None) -> None:
    """Write the licence number and usage-statistics switch into TotalSegmentator's config before a subprocess run
    (with another interpreter ``python``: only the licence, through TotalSegmentator's own tool there)."""
    settings = settings or TotalSegSettings()
    if not _other_interpreter(python):
        _prepare_config(settings)
    elif settings.license_number:
        set_license(settings.license_number, settings, python=python)


def stream_command(command: Sequence[str], env: Optional[Dict[str, str]] = None,
                   task: str = "TotalSegmentator", settings: Optional[TotalSegSettings] = None) -> Iterator[str]:
    """Start ``command`` and yield its output (stdout and stderr) line by line as it arrives.

    tqdm's carriage-return updates arrive as separate lines. When the process fails, the generator raises the translated
    RegionError after the last line. Closing the generator early kills the process.
    """
    lines: List[str] = []
    try:
        process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                   text=True, bufsize=1, errors="replace")
    except OSError as error:
        raise RegionError("cannot start TotalSegmentator (%s): %s" % (command[0], error)) from None
    finished = False
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            lines.append(line)
            yield line
        process.wait()
        finished = True
    finally:
        if not finished and process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        raise translate_failure(task, lines, returncode=process.returncode, settings=settings)


def run_subprocess(input_path: str, output_path: str, task: str, settings: Optional[TotalSegSettings] = None,
                   roi_subset: Optional[Sequence[str]] = None, fastest: bool = False, python: Optional[str] = None,
                   progress: Optional[Progress] = None, log: Optional[LogSink] = None) -> TotalSegRun:
    """Run TotalSegmentator as a separate process, streaming its log to ``log`` and ``progress``."""
    settings = settings or TotalSegSettings()
    prepare_subprocess(settings, python)
    command = build_command(input_path, output_path, task, settings, roi_subset, fastest, python)
    device = command[command.index("--device") + 1]
    tracker = ProgressTracker(progress)
    lines: List[str] = []
    started = time.time()
    stream = stream_command(command, subprocess_environment(settings), task=task, settings=settings)
    try:
        for line in stream:
            lines.append(line)
            tracker.feed(line)
            if log is not None:
                log(line)  # may raise (e.g. the user cancelled): closing the stream kills the process
    finally:
        stream.close()
    return _finished_run(output_path, task, device, "--fast" in command, fastest, roi_subset, started, lines, settings,
                         progress)


def run(input_path: str, output_path: str, task: str, settings: Optional[TotalSegSettings] = None,
        roi_subset: Optional[Sequence[str]] = None, fastest: bool = False, in_process: bool = True,
        progress: Optional[Progress] = None, log: Optional[LogSink] = None,
        python: Optional[str] = None) -> TotalSegRun:
    """Run TotalSegmentator in this process (default) or as a subprocess (with interpreter ``python``)."""
    if in_process:
        return run_in_process(input_path, output_path, task, settings, roi_subset=roi_subset, fastest=fastest,
                              progress=progress, log=log)
    return run_subprocess(input_path, output_path, task, settings, roi_subset=roi_subset, fastest=fastest,
                          python=python, progress=progress, log=log)


def describe(run_result: TotalSegRun) -> str:
    """One line: task, mode, device and time."""
    mode = "fastest" if run_result.fastest else ("fast" if run_result.fast else "full resolution")
    return "TotalSegmentator %s (%s, %s) in %.0f s" % (run_result.task, mode, run_result.device, run_result.seconds)


# Label values in TotalSegmentator 2.x multilabel outputs, for when it runs in another interpreter than this one.
KNOWN_CLASS_IDS: Dict[str, Dict[str, int]] = {
    "total": {"heart": 51, "aorta": 52},
    "coronary_arteries": {"coronary_arteries": 1},
}


def class_ids(task: str, names: Sequence[str]) -> Dict[str, int]:
    """Label values of ``names`` in TotalSegmentator's multilabel output of ``task`` (from its class map when it can
    be imported here, else from the values it has used since version 2)."""
    try:
        from totalsegmentator.map_to_binary import class_map

        inverse = {name: int(value) for value, name in class_map[task].items()}
    except ImportError:
        inverse = dict(KNOWN_CLASS_IDS.get(task, {}))
    missing = [name for name in names if name not in inverse]
    if missing:
        raise RegionError("TotalSegmentator task '%s' has no class %s" % (task, ", ".join(missing)))
    return {name: inverse[name] for name in names}


def timing_summary(runs: Sequence[TotalSegRun]) -> List[Tuple[str, float]]:
    """(description, seconds) of each run, for reports."""
    return [(describe(r), r.seconds) for r in runs]


def _finished_run(output_path: str, task: str, device: str, fast: bool, fastest: bool,
                  roi_subset: Optional[Sequence[str]], started: float, lines: List[str],
                  settings: TotalSegSettings, progress: Optional[Progress]) -> TotalSegRun:
    """The record of a run that ended without an exception; a run that wrote no output is still a failure."""
    if not os.path.exists(output_path):
        raise translate_failure(task, lines + ["no output written to %s" % output_path], settings=settings)
    if progress is not None:
        progress(1.0, "TotalSegmentator: done")
    return TotalSegRun(output_path=output_path, task=task, device=device, fast=fast, fastest=fastest,
                       roi_subset=list(roi_subset) if roi_subset else None, seconds=time.time() - started, log=lines)
