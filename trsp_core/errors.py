"""Exception types. Every message names the parameter and the violated condition."""


class TRSPError(Exception):
    """Base class for trsp errors that the CLI prints as one clear line."""


class ParameterError(TRSPError, ValueError):
    """A parameter value violates a validity condition of the model."""


class PluginError(TRSPError, LookupError):
    """An unknown or badly registered plugin."""


class InputFileError(TRSPError, OSError):
    """A file that cannot be read or lacks a required field."""


class OutputPathError(TRSPError, OSError):
    """An output path that cannot be written (checked before any work starts)."""
