"""Softness: label particles by p_hop, fit a linear SVM on structure functions.

Training set (Schoenholz et al. 2016, and §II of the paper):

* rearranging      p_hop(i, t) > ``rearranging_min`` (0.6 sigma^2);
* non-rearranging  p_hop(i, t') < ``quiet_max`` (0.02) for every frame
  t' in [t - quiet_window, t]: quiet for the whole preceding window
  (paper: ~1000 tau at T = 0.47);
* only central particles of ``species`` (paper: A only).

The classes are balanced by drawing the same number from each (at most
``max_per_class``) at random with a fixed seed. Features are standardised
(mean 0, variance 1 over the training set) and a linear SVM (scikit-learn
LinearSVC, hinge loss) is fitted. Softness is the SVM decision function on
standardised features,

    S = w0 + w . (G - m) / s,

positive on the rearranging side; |S| = 1 is the margin. Cross-validated
accuracy uses GroupKFold with the particle (per trajectory) as the group,
so the frames of one particle's long quiet stretch or of one rearrangement
never sit on both sides of a split (that would inflate the score).

Scores (all in the model file and the `train` report):

* cross-validated accuracy, balanced accuracy (mean of the two class
  recalls) and ROC AUC of the decision function, mean and standard deviation
  over the grouped folds (sklearn.metrics);
* P(R|S) on held-out frames (:func:`train_softness`): each trajectory is
  split in time; the training labels come from the first part only (their
  p_hop windows end before the split) and softness is applied to frames of
  the last ``HoldoutParams.fraction`` (p_hop windows starting after the
  split, frames W apart). R: p_hop > threshold (default 0.2, the paper's
  threshold for rearrangements in analyses, below the 0.6 of the training
  label), for every particle of the trained species; bins are quantiles of
  S on those samples.

Models are saved as JSON (no pickle): feature definition, scaler, weights,
labelling parameters, scores and library versions.
"""
from __future__ import annotations

import json
import math
import warnings
from importlib import metadata
from pathlib import Path
from typing import Sequence

import attrs
import numpy as np

from trsp_core.validators import parameter
from trsp_core.md.mdio import Trajectory, atomic_write
from trsp_core.md.phop import phop as compute_phop
from descriptors.softness_ml.structure import StructureParams, structure_functions
from trsp_core.errors import InputFileError, ParameterError

MODEL_FORMAT = "trsp-softness-linear-svm"
MODEL_FORMAT_VERSION = 2       # 2: balanced accuracy, ROC AUC, held-out P(R|S); 1 still loads
REARRANGING, QUIET, UNLABELLED = 1, 0, -1
MIN_FEATURE_STD = 1e-6   # structure functions are O(0.01..100); below this a feature is constant


_positive = parameter.positive


def _even_window(inst, attribute, value):
    if value < 2 or value % 2:
        raise ParameterError(f"parameter '{attribute.name}' must be an even integer >= 2, got {value!r}")


@attrs.frozen
class LabelParams:
    """How p_hop turns into training labels (frames are stored frames)."""

    window: int = attrs.field(default=10, converter=int, validator=_even_window)
    rearranging_min: float = attrs.field(default=0.6, converter=float, validator=_positive)
    quiet_max: float = attrs.field(default=0.02, converter=float, validator=_positive)
    quiet_window: int = attrs.field(default=40, converter=int)
    species: tuple = attrs.field(default=(0,), converter=lambda v: tuple(int(x) for x in v))

    def __attrs_post_init__(self):
        if self.quiet_window < 0:
            raise ParameterError(f"parameter 'quiet_window' must be >= 0 frames, got {self.quiet_window}")
        if self.quiet_max >= self.rearranging_min:
            raise ParameterError(f"parameter 'quiet_max'={self.quiet_max} must be < rearranging_min={self.rearranging_min}")


@attrs.frozen
class SVMParams:
    C: float = attrs.field(default=0.1, converter=float, validator=_positive)
    max_per_class: int = attrs.field(default=2000, converter=int)
    folds: int = attrs.field(default=5, converter=int)
    seed: int = attrs.field(default=0, converter=int)

    def __attrs_post_init__(self):
        if self.folds < 2:
            raise ParameterError(f"parameter 'folds' must be >= 2, got {self.folds}")
        if self.max_per_class < self.folds:
            raise ParameterError(f"parameter 'max_per_class' must be >= folds={self.folds}, got {self.max_per_class}")


@attrs.frozen
class HoldoutParams:
    """The time split for held-out P(R|S): the last ``fraction`` of each trajectory's frames.

    ``threshold``: p_hop above which a held-out particle counts as rearranging
    (default 0.2, the paper's analysis threshold). ``stride``: frames between
    held-out samples (None: the p_hop window W, so windows do not overlap).
    ``bins``: number of softness bins (quantiles of the held-out S).
    """

    fraction: float = attrs.field(default=0.2, converter=float)
    bins: int = attrs.field(default=5, converter=int)
    threshold: float = attrs.field(default=0.2, converter=float)
    stride: int | None = attrs.field(default=None, converter=attrs.converters.optional(int))

    def __attrs_post_init__(self):
        if not 0 <= self.fraction < 1:
            raise ParameterError(f"parameter 'fraction' (held-out part) must be in [0, 1), got {self.fraction}")
        if self.bins < 1:
            raise ParameterError(f"parameter 'bins' must be >= 1, got {self.bins}")
        if not self.threshold > 0:
            raise ParameterError(f"parameter 'threshold' must be > 0, got {self.threshold}")
        if self.stride is not None and self.stride < 1:
            raise ParameterError(f"parameter 'stride' must be >= 1, got {self.stride}")


def split_frames(n_frames: int, label: LabelParams, holdout: HoldoutParams) -> tuple[int, range]:
    """(train_end, held-out frames) of one trajectory.

    Training labels use frames t < train_end = cut - W/2 (their p_hop window
    [t - W/2, t + W/2] ends before cut); held-out frames start at cut + W/2,
    every ``stride`` frames, and stop W/2 before the end (p_hop defined).
    cut = round((1 - fraction) * n_frames); fraction 0: everything trains.
    """
    if holdout.fraction == 0:
        return n_frames, range(0)
    half = label.window // 2
    cut = int(round((1 - holdout.fraction) * n_frames))
    stride = label.window if holdout.stride is None else holdout.stride
    return max(cut - half, 0), range(cut + half, n_frames - half, stride)


def labels_from_phop(p: np.ndarray, types: np.ndarray, params: LabelParams) -> np.ndarray:
    """(F, N) int8: 1 rearranging, 0 quiet for the whole preceding window, -1 otherwise.

    NaN p_hop (window does not fit) is never quiet and never rearranging.
    """
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, UNLABELLED, dtype=np.int8)
    q = params.quiet_window
    if p.shape[0] > q:
        # max over [t - q, t]; a NaN anywhere in the window makes the max NaN
        # and the comparison False: unknown is not quiet.
        window_max = np.lib.stride_tricks.sliding_window_view(p, q + 1, axis=0).max(axis=-1)
        out[q:][window_max < params.quiet_max] = QUIET
    out[p > params.rearranging_min] = REARRANGING
    out[:, ~np.isin(types, params.species)] = UNLABELLED
    return out


@attrs.frozen
class TrainingSet:
    features: np.ndarray      # (M, n_features)
    labels: np.ndarray        # (M,) 0/1
    groups: np.ndarray        # (M,) particle id, unique across trajectories
    frames: np.ndarray        # (M,) frame index within its trajectory
    n_available: tuple        # (quiet, rearranging) before balancing


def _progress(iterable, description: str, show: bool, total: int | None = None):
    if not show:
        return iterable
    from rich.progress import track
    return track(iterable, description=description, total=total, transient=True)


def build_training_set(trajectories: Sequence[Trajectory], label: LabelParams, svm: SVMParams,
                       structure: StructureParams = StructureParams(), backend: str = "cells",
                       progress: bool = False, train_end: Sequence[int] | None = None,
                       phops: Sequence[np.ndarray] | None = None) -> TrainingSet:
    """Label every (frame, particle), balance the classes, compute their features.

    ``train_end[k]``: only frames t < train_end[k] of trajectory k are
    labelled (see :func:`split_frames`). ``phops``: p_hop per trajectory if
    already computed (else the trajectory's `phop` column, else computed).
    """
    rng = np.random.default_rng(svm.seed)
    # a species the data lack would otherwise end as "training set too small"
    present = sorted({int(t) for traj in trajectories for t in np.unique(traj.types)})
    absent = [s for s in label.species if s not in present]
    if absent:
        raise ParameterError(f"species {', '.join(map(str, absent))} not in the trajectories (species present: "
                             f"{', '.join(map(str, present)) or 'none'}): choose --species among them")
    candidates = []          # (traj index, frame, particle, label)
    for k, traj in enumerate(trajectories):
        p = _phop(traj, label) if phops is None else phops[k]
        lab = labels_from_phop(p, traj.types, label)
        if train_end is not None:
            lab[train_end[k]:] = UNLABELLED
        f, i = np.nonzero(lab != UNLABELLED)
        candidates.append(np.stack([np.full(f.size, k), f, i, lab[f, i]], axis=1))
    cand = np.concatenate(candidates) if candidates else np.zeros((0, 4), dtype=np.int64)
    n_quiet = int(np.sum(cand[:, 3] == QUIET))
    n_rear = int(np.sum(cand[:, 3] == REARRANGING))
    n = min(n_quiet, n_rear, svm.max_per_class)
    if n < svm.folds:
        raise ParameterError(
            f"training set too small: {n_rear} rearranging (p_hop > {label.rearranging_min}) and "
            f"{n_quiet} quiet (p_hop < {label.quiet_max} over {label.quiet_window} frames) samples; "
            f"need >= folds={svm.folds} of each: use a longer trajectory or a shorter quiet_window"
            + (" (labels come from the frames before the held-out part only: or hold out less)"
               if train_end is not None and any(e < t.n_frames for e, t in zip(train_end, trajectories)) else ""))
    chosen = np.concatenate([rng.choice(np.flatnonzero(cand[:, 3] == c), n, replace=False)
                             for c in (QUIET, REARRANGING)])
    chosen = cand[np.sort(chosen)]
    feats = np.empty((len(chosen), structure.n_features))
    frames_to_do = np.unique(chosen[:, :2], axis=0)
    for k, f in _progress(frames_to_do, "structure functions", progress, total=len(frames_to_do)):
        rows = np.flatnonzero((chosen[:, 0] == k) & (chosen[:, 1] == f))
        traj = trajectories[k]
        feats[rows] = structure_functions(traj.positions[f], traj.types, traj.box, structure,
                                          query=chosen[rows, 2], backend=backend)
    offsets = np.cumsum([0] + [t.n_particles for t in trajectories])
    return TrainingSet(features=feats, labels=chosen[:, 3].astype(np.int8),
                       groups=offsets[chosen[:, 0]] + chosen[:, 2], frames=chosen[:, 1],
                       n_available=(n_quiet, n_rear))


def _phop(traj: Trajectory, label: LabelParams) -> np.ndarray:
    p = traj.columns.get("phop")
    return compute_phop(traj.positions, traj.box, label.window) if p is None else p


@attrs.frozen(eq=False)
class SoftnessModel:
    """A trained linear softness; S = intercept + coef . (G - mean) / scale."""

    structure: StructureParams
    label: LabelParams
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    C: float
    cv_accuracy: float = float("nan")
    cv_accuracy_std: float = float("nan")
    cv_balanced_accuracy: float = float("nan")
    cv_balanced_accuracy_std: float = float("nan")
    cv_roc_auc: float = float("nan")
    cv_roc_auc_std: float = float("nan")
    holdout: dict = attrs.field(factory=dict)   # held-out P(R|S), see evaluate_holdout
    n_per_class: int = 0
    temperature: float = float("nan")
    versions: dict = attrs.field(factory=dict)

    def __attrs_post_init__(self):
        m = self.structure.n_features
        for name in ("mean", "scale", "coef"):
            if np.shape(getattr(self, name)) != (m,):
                raise ParameterError(f"model field '{name}' must have {m} entries (feature count), "
                                     f"got shape {np.shape(getattr(self, name))}")

    def softness(self, features: np.ndarray) -> np.ndarray:
        return ((np.asarray(features) - self.mean) / self.scale) @ self.coef + self.intercept

    def to_json(self) -> dict:
        return {
            "format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
            "softness": "S = intercept + sum_k coef[k] * (G[k] - mean[k]) / scale[k]",
            "structure": self.structure.to_dict(), "feature_names": self.structure.feature_names(),
            "label": attrs.asdict(self.label),
            "mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
            "intercept": float(self.intercept), "C": self.C,
            "cv_accuracy": self.cv_accuracy, "cv_accuracy_std": self.cv_accuracy_std,
            "cv_balanced_accuracy": self.cv_balanced_accuracy,
            "cv_balanced_accuracy_std": self.cv_balanced_accuracy_std,
            "cv_roc_auc": self.cv_roc_auc, "cv_roc_auc_std": self.cv_roc_auc_std,
            "holdout": self.holdout,
            "n_per_class": self.n_per_class, "temperature": self.temperature,
            "versions": self.versions,
        }

    def save(self, path) -> Path:
        path = Path(path)
        text = json.dumps(self.to_json(), indent=1, allow_nan=True)   # repr floats round-trip exactly
        atomic_write(path, lambda tmp: Path(tmp).write_text(text))
        return path

    @classmethod
    def load(cls, path) -> "SoftnessModel":
        path = Path(path)
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputFileError(f"cannot read softness model '{path}': {exc}") from exc
        if not isinstance(d, dict) or d.get("format") != MODEL_FORMAT:
            raise InputFileError(f"softness model '{path}': field 'format' must be '{MODEL_FORMAT}'")
        for key in ("structure", "label", "mean", "scale", "coef", "intercept", "C"):
            if key not in d:
                raise InputFileError(f"softness model '{path}': missing field '{key}'")
        for key in ("mean", "scale", "coef", "intercept"):
            # a NaN weight makes every softness NaN: refuse the model, not write an all-NaN file
            try:
                vals = np.asarray(d[key], float)
            except (TypeError, ValueError):
                raise InputFileError(f"softness model '{path}': field '{key}' must be numbers") from None
            if not np.isfinite(vals).all() or (key == "scale" and not (vals > 0).all()):
                bad = int(np.size(vals) - np.isfinite(vals).sum()) or int((vals <= 0).sum())
                raise InputFileError(f"softness model '{path}': field '{key}' must be finite"
                                     f"{' and > 0' if key == 'scale' else ''} ({bad} entr{'y is' if bad == 1 else 'ies are'} not)")
        return cls(structure=StructureParams.from_dict(d["structure"]), label=LabelParams(**d["label"]),
                   mean=np.asarray(d["mean"], float), scale=np.asarray(d["scale"], float),
                   coef=np.asarray(d["coef"], float), intercept=float(d["intercept"]), C=float(d["C"]),
                   cv_accuracy=float(d.get("cv_accuracy", math.nan)),
                   cv_accuracy_std=float(d.get("cv_accuracy_std", math.nan)),
                   cv_balanced_accuracy=float(d.get("cv_balanced_accuracy", math.nan)),
                   cv_balanced_accuracy_std=float(d.get("cv_balanced_accuracy_std", math.nan)),
                   cv_roc_auc=float(d.get("cv_roc_auc", math.nan)),
                   cv_roc_auc_std=float(d.get("cv_roc_auc_std", math.nan)),
                   holdout=d.get("holdout", {}) or {},
                   n_per_class=int(d.get("n_per_class", 0)),
                   temperature=float(d.get("temperature", math.nan)), versions=d.get("versions", {}))


def library_versions() -> dict:
    out = {}
    for dist in ("trsp", "scikit-learn", "numpy", "freud-analysis"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def fit_softness(ts: TrainingSet, structure: StructureParams, label: LabelParams, svm: SVMParams,
                 temperature: float = float("nan")) -> SoftnessModel:
    """Cross-validate (accuracy, balanced accuracy, ROC AUC), then fit on the whole training set."""
    from sklearn.model_selection import GroupKFold, cross_validate
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    def pipeline():
        return make_pipeline(StandardScaler(), LinearSVC(C=svm.C, dual="auto", max_iter=20_000,
                                                         random_state=svm.seed))

    # Features that hardly vary over the training set (shells inside the
    # core, r < 0.6, hold ~exp(-100)) would get a tiny scale and blow up
    # on new data: they are left out (coef 0, scale 1).
    std = ts.features.std(axis=0)
    active = std > MIN_FEATURE_STD
    x = ts.features[:, active]
    folds = min(svm.folds, np.unique(ts.groups).size)
    # A fold holding one class only has no ROC AUC: NaN, left out of the mean.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(Only one class|score.*nan|failed).*")
        cv = cross_validate(pipeline(), x, ts.labels, groups=ts.groups, cv=GroupKFold(n_splits=folds),
                            scoring=("accuracy", "balanced_accuracy", "roc_auc"), error_score=np.nan)
    model = pipeline().fit(x, ts.labels)
    scaler, svc = model.steps[0][1], model.steps[1][1]
    mean, scale, coef = ts.features.mean(axis=0), np.ones(structure.n_features), np.zeros(structure.n_features)
    mean[active], scale[active], coef[active] = scaler.mean_, scaler.scale_, svc.coef_[0]
    return SoftnessModel(structure=structure, label=label, mean=mean, scale=scale, coef=coef,
                         intercept=float(svc.intercept_[0]), C=svm.C,
                         cv_accuracy=_mean(cv["test_accuracy"]), cv_accuracy_std=_std(cv["test_accuracy"]),
                         cv_balanced_accuracy=_mean(cv["test_balanced_accuracy"]),
                         cv_balanced_accuracy_std=_std(cv["test_balanced_accuracy"]),
                         cv_roc_auc=_mean(cv["test_roc_auc"]), cv_roc_auc_std=_std(cv["test_roc_auc"]),
                         n_per_class=int(len(ts.labels) // 2), temperature=temperature,
                         versions=library_versions())


def _mean(v) -> float:
    v = np.asarray(v, dtype=float)
    return float(np.nanmean(v)) if np.any(np.isfinite(v)) else math.nan


def _std(v) -> float:
    v = np.asarray(v, dtype=float)
    return float(np.nanstd(v)) if np.any(np.isfinite(v)) else math.nan


def apply_softness(model: SoftnessModel, traj: Trajectory, frames=None, backend: str = "cells",
                   progress: bool = False) -> np.ndarray:
    """Softness (F, N) for the model's species; NaN elsewhere and at frames not asked for."""
    out = np.full((traj.n_frames, traj.n_particles), np.nan)
    query = np.flatnonzero(np.isin(traj.types, model.label.species))
    frames = range(traj.n_frames) if frames is None else frames
    for f in _progress(frames, "softness", progress, total=len(frames)):
        g = structure_functions(traj.positions[f], traj.types, traj.box, model.structure,
                                query=query, backend=backend)
        out[f, query] = model.softness(g)
    return out


def rearrangement_probability(softness: np.ndarray, rearranging: np.ndarray, edges: np.ndarray):
    """P(R|S) in bins of S with binomial standard errors.

    Returns (centres, p, err, counts); err = sqrt(p (1 - p) / n), with p
    replaced by 1/(n+2) at 0 or 1 so an empty-looking bin still has an error.
    """
    s = np.asarray(softness).ravel()
    r = np.asarray(rearranging).ravel().astype(bool)
    ok = np.isfinite(s)
    s, r = s[ok], r[ok]
    idx = np.digitize(s, edges) - 1
    nb = len(edges) - 1
    inside = (idx >= 0) & (idx < nb)
    counts = np.bincount(idx[inside], minlength=nb)
    hits = np.bincount(idx[inside], weights=r[inside], minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = hits / counts
        pe = np.clip(p, 1 / (counts + 2), 1 - 1 / (counts + 2))
        err = np.sqrt(pe * (1 - pe) / counts)
    return 0.5 * (edges[1:] + edges[:-1]), p, err, counts


def evaluate_holdout(model: SoftnessModel, trajectories: Sequence[Trajectory], frames: Sequence[Sequence[int]],
                     holdout: HoldoutParams, phops: Sequence[np.ndarray] | None = None,
                     backend: str = "cells", progress: bool = False) -> dict:
    """P(R|S) on held-out frames: every particle of the model's species at ``frames[k]`` of trajectory k.

    R: p_hop > threshold; bins: ``holdout.bins`` quantiles of the held-out S
    (the last edge nudged up so the largest S is inside). Returns a JSON-ready
    dict (empty lists when there are no held-out samples).
    """
    threshold = holdout.threshold
    s_all, r_all, used = [], [], []
    for k, (traj, fr) in enumerate(zip(trajectories, frames)):
        fr = list(fr)
        if not fr:
            used.append([])
            continue
        p = _phop(traj, model.label) if phops is None else phops[k]
        sel = np.isin(traj.types, model.label.species)
        s = apply_softness(model, traj, frames=fr, backend=backend, progress=progress)[fr][:, sel]
        r = p[fr][:, sel]
        ok = np.isfinite(s) & np.isfinite(r)
        s_all.append(s[ok])
        r_all.append(r[ok] > threshold)
        used.append(fr)
    out = {"fraction": holdout.fraction, "threshold": threshold, "frames": used,
           "edges": [], "centres": [], "p": [], "err": [], "counts": [], "n_samples": 0, "n_rearranging": 0}
    if not s_all or sum(x.size for x in s_all) == 0:
        return out
    s, r = np.concatenate(s_all), np.concatenate(r_all)
    edges = np.quantile(s, np.linspace(0, 1, holdout.bins + 1))
    edges[-1] = np.nextafter(edges[-1], np.inf)
    centres, prob, err, counts = rearrangement_probability(s, r, edges)
    out.update(edges=edges.tolist(), centres=centres.tolist(), p=prob.tolist(), err=err.tolist(),
               counts=counts.tolist(), n_samples=int(s.size), n_rearranging=int(r.sum()))
    return out


def train_softness(trajectories: Sequence[Trajectory], label: LabelParams = LabelParams(),
                   svm: SVMParams = SVMParams(), structure: StructureParams = StructureParams(),
                   holdout: HoldoutParams = HoldoutParams(), backend: str = "cells",
                   progress: bool = False) -> tuple[SoftnessModel, TrainingSet]:
    """Split each trajectory in time, train on the first part, score P(R|S) on the held-out part."""
    phops = [_phop(t, label) for t in trajectories]
    splits = [split_frames(t.n_frames, label, holdout) for t in trajectories]
    ts = build_training_set(trajectories, label, svm, structure, backend=backend, progress=progress,
                            train_end=[end for end, _ in splits], phops=phops)
    temps = {t.temperature for t in trajectories if np.isfinite(t.temperature)}
    model = fit_softness(ts, structure, label, svm, temperature=temps.pop() if len(temps) == 1 else math.nan)
    if holdout.fraction > 0:
        report = evaluate_holdout(model, trajectories, [fr for _, fr in splits], holdout, phops=phops,
                                  backend=backend, progress=progress)
        model = attrs.evolve(model, holdout=report)
    return model, ts
