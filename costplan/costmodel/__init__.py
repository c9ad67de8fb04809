"""Costs under each regime: limits, estimates, samples, working days, aggregation.

This layer is pure arithmetic over Decimal: it never imports the store or an engine.
"""
