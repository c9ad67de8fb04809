"""Write costplan/config/holidays.json: every calendar's holidays for 2000-2040, as data.

    python scripts/holiday_tables.py

Counting a deadline reads this table instead of loading the `holidays` library (about 70 ms a
process). The table is the library's answer (costplan.costmodel.calendars.library_holidays:
weekday holidays of the calendar's subdivisions, with the days the statute names added by
rule); tests/test_workdays.py fails when the installed library says otherwise, so a newly
proclaimed holiday reaches the table by running this after upgrading the library.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from costplan.costmodel.calendars import CALENDARS, HOLIDAY_TABLE, library_holidays  # noqa: E402

FIRST, LAST = 2000, 2040


def table() -> dict[str, object]:
    """The table's document, as the library gives it today."""
    import holidays

    return {
        "about": (
            "Weekday non-working days of each calendar (costplan/costmodel/calendars.py), with "
            "the reason a deadline report gives. Written by scripts/holiday_tables.py from the "
            "holidays library (python-holidays) with the statute's own days added by rule; "
            "checked against the library by tests/test_workdays.py. Do not edit by hand."
        ),
        "library": f"holidays {holidays.__version__}",
        "years": [FIRST, LAST],
        "calendars": {
            name: {
                str(year): {
                    d.isoformat(): r for d, r in sorted(library_holidays(name, year).items())
                }
                for year in range(FIRST, LAST + 1)
            }
            for name in CALENDARS
        },
    }


def main() -> None:
    HOLIDAY_TABLE.write_text(json.dumps(table(), indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {HOLIDAY_TABLE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
