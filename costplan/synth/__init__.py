"""A deterministic, calibrated, fast synthetic London CAD archive.

`generate` yields one RECORD_SCHEMA frame per calendar month; `ume_truth` gives the UME CADs
those frames hold, with their event labels. Calibration lives in
``costplan/config/calibration.toml``; every figure there cites shared/reference/calibration.md.
Determinism: each month has its own random streams derived from (seed, year, month), so a
month's rows do not depend on the requested range or on the borough filter; cad_ref serials
are minted over all boroughs before any filtering. Nothing here is real data: summaries are
built from fixed templates and invented street names.

Modules, each importing only modules listed before it:
    calibration_values  readers of calibration.toml's shaped values (boroughs, weekdays, ...)
    calibration         the Calibration dataclasses and `load_calibration`
    clock               London days and hour slots (DST), bank holidays
    tables              text and string tables gathered per row (summaries, codes, serials)
    luts                categorical draws through 65,536-entry lookup tables
    events              UME events: expected events per London day, the CADs of each event
    month               one calendar month of rows as numpy arrays
    frames              month arrays as Polars frames; `generate` and `ume_truth`
    demo                the demo archive built into the user cache (imports frames lazily)
"""

from __future__ import annotations

from costplan.synth.calibration import (
    DEFAULT_CALIBRATION,
    TAGS,
    Calibration,
    Period,
    PlantedEvent,
    SpecialDay,
    UmeWave,
    load_calibration,
)
from costplan.synth.calibration_values import MONTHS, WEEKDAYS
from costplan.synth.frames import generate, ume_truth

__all__ = [
    "DEFAULT_CALIBRATION",
    "MONTHS",
    "TAGS",
    "WEEKDAYS",
    "Calibration",
    "Period",
    "PlantedEvent",
    "SpecialDay",
    "UmeWave",
    "generate",
    "load_calibration",
    "ume_truth",
]
