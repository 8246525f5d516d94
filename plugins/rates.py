"""Built-in rate laws: Arrhenius with quadratic DeltaE(S) and Sigma(S) and an onset T0 (``arrhenius``),
and the observed law tabulated per temperature (``per-temperature``)."""
import math

from trsp_core import hookimpl
from trsp_core.errors import ParameterError
from trsp_core.plugin.interfaces import RateLaw
from trsp_core.physics.rates import ObservedRate


class Arrhenius(RateLaw):
    """P(R|S) = exp(Sigma(S) - DeltaE(S)/T), DeltaE = e0 + e1 S + e2 S^2,
    Sigma = Sigma0 + (e1 S + e2 S^2)/T0, so the S-dependence vanishes at T = T0."""

    name = "arrhenius"

    def observed(self, params, temperature):
        T, p = float(temperature), params
        return ObservedRate(
            A=math.exp(p.Sigma0 - p.e0 / T),
            gamma=p.e1 * (1.0 / p.T0 - 1.0 / T),
            delta=p.e2 * (1.0 / T - 1.0 / p.T0),
            d=p.d,
        )


class PerTemperature(RateLaw):
    """the observed A, gamma, delta (and d) tabulated at measured temperatures
    ([rates.rate_table]); ln A, gamma, delta, d linear in 1/T between them"""

    name = "per-temperature"

    def observed(self, params, temperature):
        table = getattr(params, "rate_table", None)
        if table is None:
            raise ParameterError("rate law 'per-temperature' needs a rate table: [rates.rate_table] with T, A, gamma, "
                                 "delta (and optionally d, extrapolate) in the parameter file (trsp measure writes it)")
        return table.observed(float(temperature), params.d)


@hookimpl
def trsp_rate_laws():
    return {"arrhenius": Arrhenius(), "per-temperature": PerTemperature()}
