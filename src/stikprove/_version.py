"""The package version, in one place: pyproject.toml reads it, and so do the modules that
record it (sampling metadata, the study file's meta table, every report,
``stikprove --version``). CHANGELOG.md lists what each version changed; a development
version (``X.Y.Z.devN``) is listed there under Unreleased."""

__version__ = "0.2.0.dev0"
