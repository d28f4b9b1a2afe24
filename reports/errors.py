"""Typed errors of the reporting layer.

`reports` is a leaf library (it must not import `models`), so it carries its own small error
types; runners map them to exit codes (both are the user's to fix: exit code 2).
"""

from __future__ import annotations


class ReportError(ValueError):
    """Input the reporting layer cannot turn into a report (empty, misaligned, malformed)."""


class ReportExistsError(FileExistsError):
    """The report directory already exists and is not empty: reports are never overwritten."""
