"""From MD data to TRSP model parameters (``trsp measure``; paper Sec. V, Apps. D, E).

Pipeline: :func:`load` (or :mod:`.synthetic` for TRSP-generated data) ->
:func:`measure` -> :func:`write_outputs` (params.toml, measure.nc, report.md).
"""
from trsp_core.measure.data import TemperatureData, concat, from_trajectory, load
from trsp_core.measure.diagnostics import MeasureError
from trsp_core.measure.options import MeasureOptions
from trsp_core.measure.output import write_outputs
from trsp_core.measure.pipeline import MeasureResult, measure

__all__ = ["MeasureError", "MeasureOptions", "MeasureResult", "TemperatureData", "concat", "from_trajectory",
           "load", "measure", "write_outputs"]
