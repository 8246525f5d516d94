"""The validation suite behind ``trsp validate``: simulate, measure, test against targets."""
from trsp_core.validation.checks import Check
from trsp_core.validation.suite import SuiteConfig, ValidationResult, run_suite

__all__ = ["Check", "SuiteConfig", "ValidationResult", "run_suite"]
