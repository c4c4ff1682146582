"""Tests of ``skloss.losses``, one file per loss family (mirroring the package)."""
