"""The scalar fit results of a measurement with their one-sigma errors (shared by the
netCDF output and the report)."""
from __future__ import annotations


def fitted_values(res) -> dict[str, tuple[float, float]]:
    """Every scalar fit result with its one-sigma error."""
    out = {}
    for fit in (res.onset, res.correlation_fit, res.s_fit, res.rho_fit, res.mu_fit):
        if fit is not None:
            out.update({k: (float(v), float(e)) for (k, v), e in zip(fit.as_dict().items(), fit.error)})
    u, du = res.onset["inv_T0"], res.onset.err("inv_T0")
    out["T0"] = (1 / u, du / u**2)
    out["d"] = (res.d, res.d_err)
    out["a"] = (res.spacing, float("nan"))
    if res.bare_onset is not None:
        for (k, v), e in zip(res.bare_onset.as_dict().items(), res.bare_onset.error):
            out[f"bare_{k}"] = (float(v), float(e))
        ub, dub = res.bare_onset["inv_T0"], res.bare_onset.err("inv_T0")
        out["bare_T0"] = (1 / ub, dub / ub**2)
    return out
