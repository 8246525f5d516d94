"""e0 and Sigma0 enter the dynamics only through A(T) = exp(Sigma0 - e0/T).

Changing them multiplies every cluster rate by the same factor f, so the Gillespie
embedded chain (which cluster fires, what it draws) is unchanged and every event
time is divided by f. With the same seed, both backends must reproduce that exactly:
an independent check that nothing else in the rate law, the m = 4 renormalisation
or the kernels depends on the absolute time scale.
"""
import math

import numpy as np
import pytest

from trsp_core.spec import compose
from trsp_core.physics.timescales import mean_rate_time
from trsp_core.physics.params import DescriptorParams, write_params_toml
from trsp_core.backends.simulate import available_backends, simulate

T = 0.5
DE0, DSIGMA0 = 0.8, 0.3


@pytest.mark.parametrize("backend", [b for b in ("reference", "fast") if b in available_backends()])
@pytest.mark.parametrize("cluster", ["plaquette", "single"])
def test_e0_sigma0_only_rescale_time(tmp_path, backend, cluster):
    base = DescriptorParams()
    f = tmp_path / "steeper.toml"
    write_params_toml(base.evolve(e0=base.e0 + DE0, Sigma0=base.Sigma0 + DSIGMA0), f)
    m1 = compose(size=6, cluster=cluster, temperature=T)
    m2 = compose(size=6, cluster=cluster, temperature=T, params=f)
    factor = math.exp(DSIGMA0 - DE0 / T)  # A2 / A1
    assert m2.observed.A / m1.observed.A == pytest.approx(factor, rel=1e-12)

    duration = 3.0 * mean_rate_time(m1)  # a few hundred events whatever the defaults
    r1 = simulate(m1, duration, seed=11, backend=backend)
    r2 = simulate(m2, duration / factor, seed=11, backend=backend)
    assert r1.n_events > 100
    assert r2.n_events == r1.n_events
    np.testing.assert_array_equal(r2.clusters, r1.clusters)
    np.testing.assert_allclose(r2.s_after, r1.s_after, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r2.times * factor, r1.times, rtol=1e-9)
