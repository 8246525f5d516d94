"""The one set of attrs validators: each failure is a ParameterError naming the field.

``Checks(noun)`` words the message for its context (``parameter 'xi'``,
``measure option 'n_blocks'``); ``parameter`` is the common instance::

    xi: float = attrs.field(converter=float, validator=parameter.positive)
"""
from __future__ import annotations

import math

from trsp_core.errors import ParameterError


class Checks:
    def __init__(self, noun: str):
        self.noun = noun

    def _fail(self, attribute, value, what: str):
        raise ParameterError(f"{self.noun} '{attribute.name}' must be {what}, got {value!r}")

    @staticmethod
    def _finite(value) -> bool:
        try:
            return math.isfinite(value)
        except TypeError:
            return False

    def finite(self, inst, attribute, value):
        if not self._finite(value):
            self._fail(attribute, value, "finite")

    def positive(self, inst, attribute, value):
        self.finite(inst, attribute, value)
        if not value > 0:
            self._fail(attribute, value, "> 0")

    def non_negative(self, inst, attribute, value):
        self.finite(inst, attribute, value)
        if not value >= 0:
            self._fail(attribute, value, ">= 0")

    def positive_or_none(self, inst, attribute, value):
        if value is not None and not (self._finite(value) and value > 0):
            self._fail(attribute, value, "finite and > 0, or None")

    def positive_int(self, inst, attribute, value):
        if not (self._finite(value) and int(value) == value and value >= 1):
            self._fail(attribute, value, "an integer >= 1")

    def open_unit(self, inst, attribute, value):
        if not (self._finite(value) and 0 < value < 1):
            self._fail(attribute, value, "in (0, 1)")


parameter = Checks("parameter")
