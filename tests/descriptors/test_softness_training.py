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
