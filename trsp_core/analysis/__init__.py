"""Numerics behind the observables: small compute functions, one topic per module.

The plugin classes in ``plugins/observables.py`` wrap these into xarray
Datasets; the validation suite (``trsp_core.validation``) tests them against
the model's targets.
"""
