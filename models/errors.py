"""Typed errors. Library code raises these; only the runners turn them into exit codes."""

from __future__ import annotations


class PluginError(Exception):
    """Base class of every error this plugin raises on purpose."""


class UserInputError(PluginError):
    """Something the user gave us is wrong. Runners print one line and exit with code 2."""


class DataError(UserInputError):
    """Market data that cannot be read, is malformed, or is too short."""


class ArtifactError(UserInputError):
    """A model artifact that is missing, tampered with, unsafe or incompatible."""


class ConfigError(UserInputError):
    """An invalid option or combination of options (device, sizes, run mode...)."""


class TrainingError(PluginError):
    """Training could not finish (for example the loss became NaN). Exit code 2 in runners:
    the usual fix is a user's choice (learning rate, data)."""
