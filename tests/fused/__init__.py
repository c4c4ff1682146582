"""Tests of ``skloss.fused``: the fused linear + loss heads and the estimators using them."""
