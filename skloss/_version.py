"""The version of skloss: its one source.

``pyproject.toml`` reads it (``[tool.setuptools.dynamic]``), ``skloss.__version__``
re-exports it and ``docs/conf.py`` parses it, so a release changes this line only.
"""

__version__ = "0.1.0"
