"""Charts drawn on the server as SVG: no script, readable without colour.

Every chart has a <title> and <desc> for screen readers, text labels on its marks and a legend that
tells series apart by shape or pattern as well as colour; the page puts a table of the same numbers
next to it. Colours come from the stylesheet (classes), not from here.
"""

from .grades import grade_bars
from .lights import light_bars
from .milestones import milestone_timeline
from .quarters import QuarterFigures, budget_bars, progress_lines
from .svg import number_text
from .targets import TargetRow, target_bars

__all__ = [
    "QuarterFigures",
    "TargetRow",
    "budget_bars",
    "grade_bars",
    "light_bars",
    "milestone_timeline",
    "number_text",
    "progress_lines",
    "target_bars",
]
