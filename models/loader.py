"""Load the vision models once per process into an :class:`Engines` object.

Callers (a worker's start-up hook, a benchmark, a test session fixture) keep the returned object
and pass it to every vision function; nothing here runs at import time and the heavy libraries
(onnxruntime, insightface, mediapipe) are imported inside :func:`load_engines`.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.registry import ModelFileError, get_entry, verify

DEFAULT_DETECTOR = "scrfd_500m"
DEFAULT_RECOGNISER = "w600k_mbf"
DEFAULT_ANTISPOOF = "minifasnet_v2"
DEFAULT_FACE_MESH = "mediapipe_face_mesh"
DEFAULT_LANDMARKS = "2d106det"


@dataclass
class Engines:
    """Loaded models. Sessions are thread-safe for ``run``; FaceMesh objects are not, so they are
    created per judged video through :meth:`new_face_mesh`."""

    detector: Any
    recogniser: Any
    recogniser_name: str
    antispoof: Any | None
    antispoof_reason: str | None
    threads: int
    model_dir: Path | None
    paths: dict[str, str] = field(default_factory=dict)
    face_mesh_reason: str | None = None
    recogniser_kind: str = "insightface"
    """"insightface" (arcface-template 112x112 crop, onnxruntime) or "dlib" (dlib 5-point predictor,
    150x150 face chip, dlib ResNet). Vision code dispatches alignment and embedding on this."""
    embedding_dim: int = 512
    shape_predictor: Any | None = None
    """dlib's 5-point shape predictor (only with the dlib recogniser)."""
    landmarks: Any | None = None
    """insightface 2d106det (eye openness for the quality report); None when absent."""

    def new_face_mesh(self, max_num_faces: int = 2) -> Any:
        """A fresh stateful mediapipe FaceMesh for one video (it tracks across frames, so one
        object per video keeps one recording's state out of the next). Close it after use."""
        if self.face_mesh_reason is not None:
            raise ModelFileError(self.face_mesh_reason)
        import mediapipe as mp  # lazy: ~1 s import, and only action mode needs it

        return mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False,
            max_num_faces=max_num_faces,
            refine_landmarks=True,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )


def _session_options(threads: int) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    # One worker process per core is the deployment shape; letting each session spawn a thread per
    # core would oversubscribe the CPU, so the caller chooses.
    so.intra_op_num_threads = max(1, int(threads))
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return so


def _session(path: Path, threads: int) -> Any:
    from insightface.model_zoo.model_zoo import PickableInferenceSession

    return PickableInferenceSession(
        str(path), sess_options=_session_options(threads), providers=["CPUExecutionProvider"]
    )


def _insightface_model(path: Path, threads: int) -> Any:
    """What ``insightface.model_zoo.get_model(path, providers=["CPUExecutionProvider"])`` returns,
    but with our SessionOptions: get_model does not forward ``sess_options``, its ModelRouter does."""
    from insightface.model_zoo.model_zoo import ModelRouter

    # ModelRouter prints "Applied providers ..." on stdout; keep worker logs clean.
    with contextlib.redirect_stdout(io.StringIO()):
        model = ModelRouter(str(path)).get_model(
            sess_options=_session_options(threads), providers=["CPUExecutionProvider"]
        )
    if model is None:
        raise ModelFileError(f"insightface could not route model file {path}")
    return model


def _scrfd_detector(path: Path, threads: int) -> Any:
    """The SCRFD detector. get_model routes any 9-output net to ``RetinaFace``, whose decoder in
    insightface 0.7.3 assumes un-batched outputs; this export has a batch axis ([N, K, 1]), which
    only the ``SCRFD`` class handles (``batched``), so we build that class on our own session."""
    from insightface.model_zoo.scrfd import SCRFD

    return SCRFD(model_file=str(path), session=_session(path, threads))


def default_model_dir() -> Path | None:
    """``WXFLOW_MODEL_DIR`` if set; else None (the antispoof model is then reported absent)."""
    env = os.environ.get("WXFLOW_MODEL_DIR")
    return Path(env) if env else None


def load_engines(
    model_dir: Path | str | None,
    threads: int = 1,
    recogniser: str = DEFAULT_RECOGNISER,
) -> Engines:
    """Verify every model's sha256 and load it.

    The detector and the recogniser are required (ModelFileError if missing or altered). The
    antispoof model is optional at load time: if absent, ``Engines.antispoof`` is None with the
    reason, and silent-mode judging raises that reason instead of passing anyone.
    """
    import onnxruntime as ort

    # MiniFASNet's old exporter lists its weights as graph inputs; onnxruntime warns per
    # initializer. Harmless, so keep only errors.
    ort.set_default_logger_severity(3)
    mdir = Path(model_dir) if model_dir is not None else None
    paths: dict[str, str] = {}

    det_entry = get_entry(DEFAULT_DETECTOR)
    det_path = verify(det_entry, mdir)
    rec_entry = get_entry(recogniser)
    if rec_entry["role"] != "recogniser":
        raise ModelFileError(f"model {recogniser!r} is a {rec_entry['role']}, not a recogniser")
    rec_path = verify(rec_entry, mdir)
    paths[det_entry["name"]] = str(det_path)
    paths[rec_entry["name"]] = str(rec_path)
    # Verify every file the recogniser needs before building anything, so a bad pack fails fast.
    needed = {name: verify(get_entry(name), mdir) for name in rec_entry.get("needs", [])}
    paths.update({name: str(path) for name, path in needed.items()})

    detector = _scrfd_detector(det_path, threads)
    # det_thresh 0.5 is insightface's default; input size is chosen per call (photos vs frames).
    detector.prepare(ctx_id=-1, det_thresh=0.5, input_size=(640, 640))
    kind = "dlib" if rec_entry.get("pack") == "dlib" else "insightface"
    shape_predictor = None
    if kind == "dlib":
        try:
            import dlib  # lazy: only deployments that choose the licence-clean recogniser need it
        except ImportError as exc:
            raise ModelFileError(f"recogniser {recogniser!r} needs the dlib-bin package: {exc}") from exc

        # dlib's ResNet and shape predictor run on dlib's own CPU code, not onnxruntime; the
        # ``threads`` setting applies to the onnxruntime sessions (detector, landmarks).
        rec = dlib.face_recognition_model_v1(str(rec_path))
        shape_predictor = dlib.shape_predictor(str(needed["dlib_shape_5"]))
    else:
        rec = _insightface_model(rec_path, threads)
        rec.prepare(ctx_id=-1)

    # 2d106det gives eye contours for the eyes-open quality check; optional (quality then skips it).
    landmarks = None
    try:
        lm_entry = get_entry(DEFAULT_LANDMARKS)
        lm_path = verify(lm_entry, mdir)
        landmarks = _insightface_model(lm_path, threads)
        landmarks.prepare(ctx_id=-1)
        paths[lm_entry["name"]] = str(lm_path)
    except ModelFileError:
        landmarks = None

    antispoof = None
    antispoof_reason: str | None = None
    try:
        as_entry = get_entry(DEFAULT_ANTISPOOF)
        as_path = verify(as_entry, mdir)
        antispoof = ort.InferenceSession(
            str(as_path), sess_options=_session_options(threads), providers=["CPUExecutionProvider"]
        )
        paths[as_entry["name"]] = str(as_path)
    except ModelFileError as exc:
        antispoof_reason = f"silent liveness unavailable: {exc}"

    face_mesh_reason: str | None = None
    try:
        fm_entry = get_entry(DEFAULT_FACE_MESH)
        paths[fm_entry["name"]] = str(verify(fm_entry, mdir))
    except ModelFileError as exc:
        face_mesh_reason = f"action liveness unavailable: {exc}"

    return Engines(
        detector=detector,
        recogniser=rec,
        recogniser_name=recogniser,
        antispoof=antispoof,
        antispoof_reason=antispoof_reason,
        threads=threads,
        model_dir=mdir,
        paths=paths,
        face_mesh_reason=face_mesh_reason,
        recogniser_kind=kind,
        embedding_dim=int(rec_entry.get("embedding_dim", 512)),
        shape_predictor=shape_predictor,
        landmarks=landmarks,
    )
