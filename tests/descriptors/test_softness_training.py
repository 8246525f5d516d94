"""Labelling, model file round trip and P(R|S) on small synthetic data."""
import json

import numpy as np
import pytest

from trsp_core.md.mdio import Trajectory
from descriptors.softness_ml.structure import StructureParams
from descriptors.softness_ml.training import (LabelParams, SoftnessModel, SVMParams, apply_softness,
                                              build_training_set, fit_softness, labels_from_phop,
                                              rearrangement_probability)
from trsp_core.errors import InputFileError, ParameterError


def test_labels_match_definition_loop():
    rng = np.random.default_rng(4)
    p = rng.exponential(0.01, size=(40, 30))
    p[rng.random(p.shape) < 0.05] = 0.9
    p[:3] = np.nan
    types = rng.integers(0, 2, size=30)
    lp = LabelParams(quiet_window=6)
    got = labels_from_phop(p, types, lp)
    for t in range(40):
        for i in range(30):
            want = -1
            if types[i] == 0:
                if p[t, i] > 0.6:
                    want = 1
                elif t >= 6 and np.all(p[t - 6: t + 1, i] < 0.02):   # NaN compares False
                    want = 0
            assert got[t, i] == want, (t, i)
    assert (got == 0).sum() > 0 and (got == 1).sum() > 0


def test_label_params_validate():
    with pytest.raises(ParameterError, match="window"):
        LabelParams(window=7)
    with pytest.raises(ParameterError, match="quiet_max"):
        LabelParams(quiet_max=0.7)


def _toy_trajectory(seed=0, f=12, n=300):
    """Random liquid where 'rearranging' particles have a close neighbour.

    A planted structural signal: p_hop is large exactly for particles whose
    nearest neighbour is closer than 0.9, so a linear model on G must find it.
    """
    rng = np.random.default_rng(seed)
    L = 11.0
    pos = rng.uniform(0, L, size=(f, n, 3))
    types = (rng.random(n) < 0.2).astype(int)
    p = np.full((f, n), 0.005)
    for k in range(f):
        d = pos[k][:, None] - pos[k][None]
        d -= L * np.round(d / L)
        r = np.sqrt((d ** 2).sum(-1)) + np.eye(n) * 99
        p[k, r.min(axis=1) < 0.9] = 1.0
    return Trajectory(positions=pos, types=types, box=[L] * 3, dt=1.0, columns={"phop": p})


def test_planted_signal_is_learned_and_model_round_trips(tmp_path):
    traj = _toy_trajectory()
    lp, sp, st = LabelParams(quiet_window=0), SVMParams(max_per_class=300, folds=4), StructureParams()
    ts = build_training_set([traj], lp, sp, st)
    assert ts.features.shape[1] == 266 and (ts.labels == 1).sum() == (ts.labels == 0).sum()
    model = fit_softness(ts, st, lp, sp)
    n = len(ts.labels) / 4                                   # samples per CV fold
    assert model.cv_accuracy > 0.5 + 4 * np.sqrt(0.25 / n)  # far above chance
    path = model.save(tmp_path / "m.json")
    back = SoftnessModel.load(path)
    for name in ("mean", "scale", "coef"):
        np.testing.assert_array_equal(getattr(back, name), getattr(model, name))
    assert back.intercept == model.intercept and back.structure == st and back.label == lp
    meta = json.loads(path.read_text())
    assert {"scikit-learn", "numpy"} <= set(meta["versions"]) and len(meta["feature_names"]) == 266
    s = apply_softness(back, traj, frames=[0, 3])
    assert np.all(np.isnan(s[1])) and np.all(np.isnan(s[0, traj.types == 1]))
    a = traj.types == 0
    # Softness is the decision function: positive side = rearranging.
    rear = traj.columns["phop"][[0, 3]][:, a] > 0.5
    assert s[[0, 3]][:, a][rear].mean() > s[[0, 3]][:, a][~rear].mean()


def test_too_few_samples_named():
    traj = _toy_trajectory(f=2, n=40)
    with pytest.raises(ParameterError, match="training set too small"):
        build_training_set([traj], LabelParams(quiet_window=5), SVMParams())


def test_model_load_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputFileError, match="bad.json"):
        SoftnessModel.load(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"format": "trsp-softness-linear-svm", "structure": {}}))
    with pytest.raises(InputFileError, match="missing field 'label'"):
        SoftnessModel.load(wrong)


def test_rearrangement_probability_binomial():
    rng = np.random.default_rng(9)
    s = rng.normal(size=200_000)
    true_p = 1 / (1 + np.exp(-(s - 2)))
    r = rng.random(s.size) < true_p
    centres, p, err, counts = rearrangement_probability(s, r, np.linspace(-2, 2, 9))
    expected = np.array([true_p[(s >= a) & (s < b)].mean() for a, b in zip(np.linspace(-2, 2, 9)[:-1], np.linspace(-2, 2, 9)[1:])])
    assert np.all(np.abs(p - expected) < 4 * err)
    assert counts.sum() == np.sum((s >= -2) & (s < 2))


# ---------------------------------------------------------------- scores
def _tiny_training_set(seed=3):
    """Class-pure groups of unequal size, so grouped folds are unbalanced and
    balanced accuracy differs from accuracy; a weak planted signal."""
    from descriptors.softness_ml.training import TrainingSet

    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, size=60)
    labels = np.repeat(np.arange(60) % 2, sizes).astype(np.int8)
    groups = np.repeat(np.arange(60), sizes)
    x = rng.normal(size=(labels.size, 4))
    x[:, 0] += 0.8 * labels
    x[:, 2] *= 3.0
    return TrainingSet(features=x, labels=labels, groups=groups, frames=np.zeros(labels.size, int),
                       n_available=(int((labels == 0).sum()), int((labels == 1).sum())))


def _auc_by_ranks(d, y):
    """Mann-Whitney: P(d_rearranging > d_quiet) + P(tie) / 2, over all pairs."""
    pos, neg = d[y == 1], d[y == 0]
    return float(np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])))


def test_cv_scores_match_an_independent_computation():
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    ts = _tiny_training_set()
    st = StructureParams(n_species=1, n_mu=3, xis=(1.0,), lambdas=(1.0,), zetas=(1.0,))   # 4 features
    sp = SVMParams(C=0.5, folds=4, max_per_class=10, seed=0)
    model = fit_softness(ts, st, LabelParams(), sp)
    acc, bal, auc = [], [], []
    for train, test in GroupKFold(n_splits=4).split(ts.features, ts.labels, ts.groups):
        scaler = StandardScaler().fit(ts.features[train])
        svc = LinearSVC(C=0.5, dual="auto", max_iter=20_000, random_state=0)
        svc.fit(scaler.transform(ts.features[train]), ts.labels[train])
        d = svc.decision_function(scaler.transform(ts.features[test]))
        y = ts.labels[test]
        pred = (d > 0).astype(int)
        acc.append(np.mean(pred == y))
        bal.append(0.5 * (np.mean(pred[y == 1] == 1) + np.mean(pred[y == 0] == 0)))
        auc.append(_auc_by_ranks(d, y))
    assert max(abs(a - b) for a, b in zip(acc, bal)) > 0.01        # the two scores really differ here
    for got, want in ((model.cv_accuracy, np.mean(acc)), (model.cv_accuracy_std, np.std(acc)),
                      (model.cv_balanced_accuracy, np.mean(bal)), (model.cv_balanced_accuracy_std, np.std(bal)),
                      (model.cv_roc_auc, np.mean(auc)), (model.cv_roc_auc_std, np.std(auc))):
        assert got == pytest.approx(want, abs=1e-12)
    assert 0.5 < model.cv_roc_auc < 1


def test_split_frames_keeps_phop_windows_apart():
    from descriptors.softness_ml.training import HoldoutParams, split_frames

    lp = LabelParams(window=10)
    end, held = split_frames(100, lp, HoldoutParams(fraction=0.2))
    assert end == 75 and list(held) == [85]          # cut 80: labels t < 75, held-out t >= 85, t <= 94
    end, held = split_frames(200, lp, HoldoutParams(fraction=0.5, stride=20))
    assert end == 95 and list(held) == [105, 125, 145, 165, 185]
    assert split_frames(50, lp, HoldoutParams(fraction=0.0)) == (50, range(0))
    with pytest.raises(ParameterError, match="fraction"):
        HoldoutParams(fraction=1.0)


def test_heldout_rearrangement_probability_matches_a_direct_count(tmp_path):
    from descriptors.softness_ml.training import HoldoutParams, train_softness

    traj = _toy_trajectory(seed=1, f=40, n=300)
    lp = LabelParams(window=2, quiet_window=0)
    holdout = HoldoutParams(fraction=0.5, bins=4, threshold=0.2)
    model, ts = train_softness([traj], lp, SVMParams(max_per_class=150, folds=4), StructureParams(), holdout)
    h = model.holdout
    # training labels only before the split (cut 20, W/2 = 1), held-out frames after it
    assert ts.frames.max() < 19 and h["frames"] == [list(range(21, 39, 2))]
    frames = h["frames"][0]
    a = traj.types == 0
    s = apply_softness(model, traj, frames=frames)[frames][:, a].ravel()
    r = (traj.columns["phop"][frames][:, a] > 0.2).ravel()
    edges = np.quantile(s, np.linspace(0, 1, 5))
    assert np.allclose(h["edges"], edges, rtol=0, atol=1e-12)
    for k in range(4):
        inside = (s >= edges[k]) & ((s < edges[k + 1]) if k < 3 else (s <= edges[k + 1]))
        assert h["counts"][k] == inside.sum()
        assert h["p"][k] == pytest.approx(r[inside].mean(), abs=1e-12)
        if 0 < h["p"][k] < 1:
            assert h["err"][k] == pytest.approx(np.sqrt(r[inside].mean() * (1 - r[inside].mean()) / inside.sum()))
    assert h["n_samples"] == s.size and h["n_rearranging"] == r.sum() and sum(h["counts"]) == s.size
    assert h["p"][-1] > h["p"][0]                     # the planted signal: softest bin rearranges most
    back = SoftnessModel.load(model.save(tmp_path / "m.json"))
    assert back.holdout == json.loads(json.dumps(h)) and back.cv_roc_auc == model.cv_roc_auc
