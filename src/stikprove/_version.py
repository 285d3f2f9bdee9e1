"""The package version, in one place: pyproject.toml reads it, and so do the modules that
record it (sampling metadata, ``stikprove --version``)."""

__version__ = "0.1.0"
