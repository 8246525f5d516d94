"""The one set of attrs validators: each failure is a ParameterError naming the field.

``Checks(noun)`` words the message for its context (``parameter 'xi'``,
``measure option 'n_blocks'``); ``parameter`` is the common instance::

    xi: float = attrs.field(converter=float, validator=parameter.positive)
"""
from __future__ import annotations

import math
import numbers

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


# ---- run and campaign options: checked before any simulation starts ------------------
#: seeds are 64-bit signed integers in the kernels (numba int64)
SEED_MAX = 2**63 - 1
#: a run shorter than a frame has no lag window (the shortest lag is 1e-3 frames)
MIN_DURATION = 1.0


def _is_int(value) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer())


def check_seeds(seed, seeds, prefix: str = "") -> None:
    """``seeds`` runs with seeds ``seed .. seed + seeds - 1``, all in [0, 2^63 - 1]."""
    if not (_is_int(seeds) and seeds >= 1):
        raise ParameterError(f"{prefix}seeds must be >= 1 (an integer), got {seeds!r}")
    if not (_is_int(seed) and 0 <= seed and seed + seeds - 1 <= SEED_MAX):
        raise ParameterError(f"{prefix}seed must be an integer in [0, {SEED_MAX - int(seeds) + 1}] "
                             f"(seed + seeds - 1 <= 2^63 - 1), got {seed!r}")


def check_duration(duration, name: str = "duration") -> None:
    """None (automatic) or a finite run length of at least MIN_DURATION frames."""
    if duration is None:
        return
    if not (Checks._finite(duration) and duration >= MIN_DURATION):
        raise ParameterError(f"{name} must be a finite number of frames >= {MIN_DURATION:g}, got {duration!r}")


def check_positive(value, name: str) -> None:
    if not (Checks._finite(value) and value > 0):
        raise ParameterError(f"{name} must be finite and > 0, got {value!r}")


def check_int_at_least(value, name: str, lo: int) -> None:
    if not (_is_int(value) and value >= lo):
        raise ParameterError(f"{name} must be an integer >= {lo}, got {value!r}")
