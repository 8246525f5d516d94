"""Warnings collected along the pipeline and written into the report.

Bad inputs that still give a usable (if doubtful) number become a
:class:`Finding` of level "warning"; inputs that would make a number garbage
raise :class:`MeasureError` instead.
"""
from __future__ import annotations

import logging

import attrs

from trsp_core.errors import ParameterError

log = logging.getLogger("trsp.measure")


class MeasureError(ParameterError):
    """The data cannot support the requested measurement (names what and why)."""


@attrs.frozen
class Finding:
    level: str    # "warning" | "note"
    where: str    # e.g. "P(R|S) T=0.45"
    message: str

    def __str__(self) -> str:
        return f"[{self.level}] {self.where}: {self.message}"


@attrs.define
class Diagnostics:
    findings: list[Finding] = attrs.field(factory=list)

    def warn(self, where: str, message: str) -> None:
        f = Finding("warning", where, message)
        log.debug(str(f))  # the CLI prints the warnings once, at the end
        self.findings.append(f)

    def note(self, where: str, message: str) -> None:
        self.findings.append(Finding("note", where, message))

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]
