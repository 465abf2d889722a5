"""A class's grades as CSV files for Gradescope and Canvas, a Markdown summary and two charts.

``write_gradebook`` writes, under the output folder:

``gradebook.csv``
    One row per student (every member of a group submission gets the group's row)::

        Name, SID, Email, Submission, Submitted At, Status, Total Score, Max Points, Percent,
        Message, <test 1>, <test 2>, ...

    ``Name``/``SID``/``Email`` and ``Total Score``/``Max Points`` are the columns of
    Gradescope's own score exports, so the file imports back into Gradescope (match students on
    Email or SID, take the score from ``Total Score``) and into most spreadsheets. Then one
    column per test (its name as in ``results.json``: ``file::test[case]``) with the points
    earned. ``Status`` is ``graded``, ``unreadable`` (nothing could be graded: score 0 and the
    reason in ``Message``) or ``error`` (a grading error, the grader's failure and not the
    student's: score 0 until it is graded again on the next run, the reason in ``Message``).
    ``Max Points`` is the assignment's total, on every row.

``canvas.csv``
    The shape of Canvas' gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section,
    <assignment title>``, then a ``Points Possible`` row as in Canvas' own exports. ``ID`` (the
    Canvas user id) and ``Section`` are unknown here and left empty; ``SIS User ID`` is the SID
    and ``SIS Login ID`` the email (logins are emails at many schools; change the column where
    they are not). Canvas matches a row on any one of these identifiers.

``summary.md``, ``pass_rates.png``, ``score_histogram.png``
    Counts, mean/median/min/max, the per-test pass rates (over graded submissions) and the
    submissions that could not be graded, with the grading errors (the grader's failures, to
    retry) apart from the unreadable submissions (the students'); a bar chart of the pass rates
    and a histogram of the scores (unreadable submissions count as 0). Statistics are per
    submission: a group counts once.

``leaderboard.csv``, ``leaderboard.png``
    Only where at least one graded submission's tests recorded Gradescope leaderboard
    quantities (the suites' ``leaderboard`` fixture; stale copies are removed where none did).
    One row per student of such a submission::

        Rank, Name, SID, Email, Submission, <quantity 1>, <quantity 2>, ...

    the quantities in the order first seen, each ranked in its own order (``desc``: higher
    first; ``asc``: lower first, as the first submission that recorded it said). Rows are ranked
    by the first quantity, ties broken by the next ones (a submission without a quantity comes
    after those with it; numbers before texts); ``Rank`` is the submission's place (``1, 2, 2,
    4``: submissions equal in every quantity share it; a group's students share theirs). The
    chart: a scatter of the first two numeric quantities (the top-ranked submissions marked),
    else a histogram of the only numeric one; its title says which.

Text cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``)
are prefixed with ``'``: names and messages partly come from students.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.core.assignments import Assignment
from autograder.grading.class_results import StudentResult
from autograder.grading.classroom import Student

GRADEBOOK_COLUMNS = (
    "Name",
    "SID",
    "Email",
    "Submission",
    "Submitted At",
    "Status",
    "Total Score",
    "Max Points",
    "Percent",
    "Message",
)
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
LEADERBOARD_COLUMNS = ("Rank", "Name", "SID", "Email", "Submission")
LEADERBOARD_FILES = ("leaderboard.csv", "leaderboard.png")


@dataclass(frozen=True)
class CaseStats:
    """How the class did on one test."""

    name: str
    max_score: float
    passed: int
    graded: int

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class ClassStats:
    """Counts and score statistics of a class (per submission)."""

    submissions: int
    students: int
    graded: int
    unreadable: int
    errors: int
    max_score: float
    mean: float
    median: float
    minimum: float
    maximum: float
    full_marks: int
    zero: int
    isolation: tuple[str, ...]
    tests: tuple[CaseStats, ...]


def max_points(results: Sequence[StudentResult]) -> float:
    """The assignment's total: the largest ``max_score`` of a graded submission (0 if none)."""
    return max((r.max_score for r in results if r.status == "graded"), default=0.0)


def case_names(results: Sequence[StudentResult]) -> list[str]:
    """Every test that any graded submission ran, in the order they first ran."""
    names: dict[str, None] = {}
    for result in results:
        if result.status == "graded":
            names.update((t.name, None) for t in result.tests)
    return list(names)


def class_stats(results: Sequence[StudentResult]) -> ClassStats:
    """Counts, score statistics and per-test pass rates of ``results``."""
    total = max_points(results)
    scores = [r.score if r.status == "graded" else 0.0 for r in results] or [0.0]
    graded = [r for r in results if r.status == "graded"]
    tests = []
    for name in case_names(results):
        cases = [t for r in graded for t in r.tests if t.name == name]
        tests.append(
            CaseStats(
                name=name,
                max_score=max(t.max_score for t in cases),
                passed=sum(t.passed for t in cases),
                graded=len(graded),
            )
        )
    return ClassStats(
        submissions=len(results),
        students=sum(max(1, len(r.submission.students)) for r in results),
        graded=len(graded),
        unreadable=sum(r.status == "unreadable" for r in results),
        errors=sum(r.status == "error" for r in results),
        max_score=total,
        mean=statistics.fmean(scores),
        median=statistics.median(scores),
        minimum=min(scores),
        maximum=max(scores),
        full_marks=sum(1 for r in graded if total and r.score >= total),
        zero=sum(1 for s in scores if s == 0) if results else 0,
        isolation=tuple(sorted({r.isolation for r in graded if r.isolation})),
        tests=tuple(tests),
    )


def write_gradebook(assignment: Assignment, results: Sequence[StudentResult], out: Path) -> Path:
    """Write ``gradebook.csv`` and ``canvas.csv`` under ``out``; return the gradebook's path."""
    total = max_points(results)
    names = case_names(results)
    rows: list[list[object]] = [[*GRADEBOOK_COLUMNS, *names]]
    canvas: list[list[object]] = [
        [*CANVAS_COLUMNS, assignment.title],
        ["    Points Possible", "", "", "", "", _number(total)],
    ]
    for result in results:
        earned = {t.name: t.score for t in result.tests}
        score = result.score if result.status == "graded" else 0.0
        percent = f"{100 * score / total:.1f}" if total else ""
        for student in result.submission.students or (Student(),):
            rows.append(
                [
                    _cell(student.name),
                    _cell(student.sid),
                    _cell(student.email),
                    _cell(result.submission.label),
                    _cell(result.submission.submitted_at),
                    result.status,
                    _number(score),
                    _number(total),
                    percent,
                    _cell(result.message),
                    *(_number(earned.get(name, 0.0)) for name in names),
                ]
            )
            identity = [_cell(student.name), "", _cell(student.sid), _cell(student.email), ""]
            canvas.append([*identity, _number(score)])
    path = out / "gradebook.csv"
    _write_csv(path, rows)
    _write_csv(out / "canvas.csv", canvas)
    return path


@dataclass(frozen=True)
class Quantity:
    """One column of the leaderboard: its name, how it ranks, whether all its values are
    numbers."""

    name: str
    order: str
    numeric: bool


def leaderboard_entrants(results: Sequence[StudentResult]) -> list[StudentResult]:
    """The graded submissions whose tests recorded leaderboard quantities."""
    return [r for r in results if r.status == "graded" and r.leaderboard]


def leaderboard_quantities(results: Sequence[StudentResult]) -> list[Quantity]:
    """Every quantity of the entrants' leaderboards, in the order first seen (its order: the
    first entrant's that recorded it)."""
    orders: dict[str, str] = {}
    numeric: dict[str, bool] = {}
    for result in leaderboard_entrants(results):
        for entry in result.leaderboard:
            orders.setdefault(entry.name, entry.order)
            numeric[entry.name] = numeric.get(entry.name, True) and entry.numeric
    return [Quantity(name, order, numeric[name]) for name, order in orders.items()]


def ranked_leaderboard(results: Sequence[StudentResult]) -> list[tuple[int, StudentResult]]:
    """The entrants, best first, each with its rank (``1, 2, 2, 4``: ties in every quantity
    share one); among full ties, the order of ``results``."""
    quantities = leaderboard_quantities(results)

    def values(result: StudentResult) -> dict[str, float | str]:
        return {entry.name: entry.value for entry in result.leaderboard}

    def compare(a: dict[str, float | str], b: dict[str, float | str]) -> int:
        for quantity in quantities:
            x, y = a.get(quantity.name), b.get(quantity.name)
            if x is None or y is None:
                if x is None and y is None:
                    continue
                return 1 if x is None else -1  # a missing quantity ranks last
            if isinstance(x, str) != isinstance(y, str):
                return 1 if isinstance(x, str) else -1  # numbers before texts
            if x == y:
                continue
            better = x > y if quantity.order == "desc" else x < y  # type: ignore[operator]
            return -1 if better else 1
        return 0

    entrants = [(values(r), r) for r in leaderboard_entrants(results)]
    entrants.sort(key=functools.cmp_to_key(lambda a, b: compare(a[0], b[0])))
    ranked: list[tuple[int, StudentResult]] = []
    for place, (board, result) in enumerate(entrants, start=1):
        tied = ranked and compare(entrants[place - 2][0], board) == 0
        ranked.append((ranked[-1][0] if tied else place, result))
    return ranked


def write_leaderboard(
    assignment: Assignment, results: Sequence[StudentResult], out: Path
) -> Path | None:
    """Write ``leaderboard.csv`` and ``leaderboard.png`` under ``out`` where some graded
    submission recorded leaderboard quantities; return the CSV's path. Else write nothing,
    remove those of an earlier run, and return None."""
    ranked = ranked_leaderboard(results)
    if not ranked:
        for name in LEADERBOARD_FILES:
            (out / name).unlink(missing_ok=True)
        return None
    quantities = leaderboard_quantities(results)
    rows: list[list[object]] = [[*LEADERBOARD_COLUMNS, *(_cell(q.name) for q in quantities)]]
    for rank, result in ranked:
        board = {entry.name: entry.value for entry in result.leaderboard}
        cells = [_board_cell(board.get(q.name)) for q in quantities]
        for student in result.submission.students or (Student(),):
            identity = [_cell(student.name), _cell(student.sid), _cell(student.email)]
            rows.append([rank, *identity, _cell(result.submission.label), *cells])
    path = out / "leaderboard.csv"
    _write_csv(path, rows)
    plot_leaderboard(assignment, ranked, quantities, out / "leaderboard.png")
    return path


def plot_leaderboard(
    assignment: Assignment,
    ranked: Sequence[tuple[int, StudentResult]],
    quantities: Sequence[Quantity],
    path: Path,
) -> None:
    """A scatter of the first two numeric quantities, one point per submission (the
    top-ranked marked); with one numeric quantity, its histogram; with none, a note."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    numeric = [q for q in quantities if q.numeric]
    boards = [(rank, {e.name: e.value for e in r.leaderboard}) for rank, r in ranked]
    figure = Figure(figsize=(7.5, 4.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if len(numeric) >= 2:
        x, y = numeric[0], numeric[1]
        both = [(rank, b[x.name], b[y.name]) for rank, b in boards if x.name in b and y.name in b]
        rest = [(bx, by) for rank, bx, by in both if rank != 1]
        best = [(bx, by) for rank, bx, by in both if rank == 1]
        if rest:
            axes.scatter(*zip(*rest, strict=True), color="#4c72b0", alpha=0.7, label="others")
        if best:
            axes.scatter(
                *zip(*best, strict=True), color="#c44e52", marker="*", s=160, label="rank 1"
            )
        axes.set_xlabel(_axis_label(x))
        axes.set_ylabel(_axis_label(y))
        axes.legend(loc="best")
        axes.grid(alpha=0.3)
        title = f"{y.name} against {x.name} ({len(both)} submissions)"
    elif numeric:
        quantity = numeric[0]
        values = [b[quantity.name] for _, b in boards if quantity.name in b]
        axes.hist(values, bins=min(20, max(5, len(values))), color="#4c72b0", edgecolor="white")
        axes.set_xlabel(_axis_label(quantity))
        axes.set_ylabel("submissions")
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.grid(axis="y", alpha=0.3)
        title = f"distribution of {quantity.name} ({len(values)} submissions)"
    else:
        axes.text(0.5, 0.5, "no numeric quantity to plot", ha="center", va="center")
        axes.set_xticks([])
        axes.set_yticks([])
        title = f"{len(ranked)} submissions, no numeric quantity"
    axes.set_title(f"{assignment.name} leaderboard: {title}")
    _save(figure, path)


def _axis_label(quantity: Quantity) -> str:
    better = "higher" if quantity.order == "desc" else "lower"
    return f"{quantity.name} ({better} ranks higher)"


def _board_cell(value: float | str | None) -> str:
    """A leaderboard value's cell: a number in full (15 significant digits), a text made safe,
    nothing where the submission did not record it."""
    if value is None:
        return ""
    return _cell(value) if isinstance(value, str) else f"{value:.15g}"


def write_summary(assignment: Assignment, results: Sequence[StudentResult], out: Path) -> Path:
    """Write ``summary.md``, ``pass_rates.png`` and ``score_histogram.png``; return the first."""
    stats = class_stats(results)
    plot_pass_rates(assignment, stats, out / "pass_rates.png")
    plot_histogram(assignment, results, stats, out / "score_histogram.png")
    path = out / "summary.md"
    _write_text(path, summary_markdown(assignment, results, stats))
    return path


def summary_markdown(
    assignment: Assignment, results: Sequence[StudentResult], stats: ClassStats
) -> str:
    """The text of ``summary.md``."""
    total = stats.max_score

    def points(value: float) -> str:
        text = f"{round(value, 2):g}"
        return f"{text} ({100 * value / total:.1f} %)" if total else text

    lines = [
        f"# {assignment.title} (`{assignment.name}`): class summary",
        "",
        f"- submissions: {stats.submissions} ({stats.students} students)",
        f"- graded: {stats.graded}; unreadable: {stats.unreadable}; grading errors: {stats.errors}",
        f"- points possible: {total:g}",
        f"- mean: {points(stats.mean)}; median: {points(stats.median)}",
        f"- min: {points(stats.minimum)}; max: {points(stats.maximum)}",
        f"- full marks: {stats.full_marks}; zero: {stats.zero}",
        f"- isolation of student code: {', '.join(stats.isolation) or 'n/a'}",
        "",
        "Scores count unreadable submissions and grading errors as 0; pass rates are over graded "
        "submissions.",
        "",
        "![per-test pass rates](pass_rates.png)",
        "",
        "![score histogram](score_histogram.png)",
        "",
        "## Per-test pass rates",
        "",
        "| test | points | passed | pass rate |",
        "|---|---:|---:|---:|",
    ]
    for test in stats.tests:
        lines.append(
            f"| `{test.name}` | {test.max_score:g} | {test.passed} / {test.graded} "
            f"| {100 * test.pass_rate:.0f} % |"
        )
    sections = (
        (
            "error",
            "Grading errors",
            "The grader failed, not these students: their score is 0 "
            "until they are graded again. Run the same `grade-all` command again to retry them.",
        ),
        ("unreadable", "Not graded", "Nothing could be graded in these submissions."),
    )
    for status, title, note in sections:
        problems = [r for r in results if r.status == status]
        if not problems:
            continue
        lines += ["", f"## {title}", "", note, "", "| submission | students | status | reason |"]
        lines.append("|---|---|---|---|")
        for r in problems:
            who = ", ".join(s.sid or s.email or s.name for s in r.submission.students)
            reason = r.message.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {r.submission.label} | {who} | {r.status} | {reason} |")
    return "\n".join(lines) + "\n"


def plot_pass_rates(assignment: Assignment, stats: ClassStats, path: Path) -> None:
    """A horizontal bar per test: the share of graded submissions that passed it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tests = stats.tests
    height = max(3.0, 0.22 * len(tests) + 1.4)
    label_width = max((len(t.name) for t in tests), default=10)
    figure = Figure(figsize=(4.5 + 0.062 * label_width, height), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if tests:
        rates = [100 * t.pass_rate for t in tests]
        positions = range(len(tests))
        colors = [_rate_color(rate) for rate in rates]
        axes.barh(positions, rates, color=colors, height=0.75)
        axes.set_yticks(list(positions), [t.name for t in tests], fontsize=7)
        axes.invert_yaxis()
        for y, rate in zip(positions, rates, strict=True):
            axes.text(min(rate, 100) + 1, y, f"{rate:.0f}%", va="center", fontsize=6)
        axes.set_ylim(len(tests) - 0.5, -0.5)
    else:
        axes.text(0.5, 0.5, "no graded submissions", ha="center", va="center")
        axes.set_yticks([])
    axes.set_xlim(0, 108)
    axes.set_xlabel("submissions passing (%)")
    axes.grid(axis="x", alpha=0.3)
    axes.set_title(f"{assignment.name}: pass rate per test ({stats.graded} graded submissions)")
    _save(figure, path)


def plot_histogram(
    assignment: Assignment, results: Sequence[StudentResult], stats: ClassStats, path: Path
) -> None:
    """A histogram of the scores in percent of the total, with the mean and median marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    total = stats.max_score
    scores = [
        100 * (r.score if r.status == "graded" else 0.0) / total if total else 0.0 for r in results
    ]
    figure = Figure(figsize=(7.5, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bins = [5 * i for i in range(21)]
    axes.hist(scores, bins=bins, color="#4c72b0", edgecolor="white")
    if results and total:
        mean, median = 100 * stats.mean / total, 100 * stats.median / total
        axes.axvline(mean, color="#c44e52", linestyle="--", label=f"mean {mean:.1f}%")
        axes.axvline(median, color="#55a868", linestyle=":", label=f"median {median:.1f}%")
        axes.legend(loc="best")
    axes.set_xlim(0, 100)
    axes.set_xlabel(f"score (% of {total:g} points)")
    axes.set_ylabel("submissions")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="y", alpha=0.3)
    axes.set_title(f"{assignment.name}: scores of {stats.submissions} submissions")
    _save(figure, path)


def _rate_color(rate: float) -> tuple[float, float, float]:
    """Red (0 %) through amber to green (100 %)."""
    t = max(0.0, min(1.0, rate / 100))
    red, amber, green = (0.80, 0.25, 0.22), (0.93, 0.67, 0.20), (0.27, 0.62, 0.35)
    a, b, u = (red, amber, t * 2) if t < 0.5 else (amber, green, t * 2 - 1)
    return tuple(x + (y - x) * u for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _save(figure: object, path: Path) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".png", dir=path.parent)
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=110)  # type: ignore[attr-defined]
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _number(value: float) -> str:
    return f"{value:g}"


def _cell(text: str) -> str:
    """``text`` safe from spreadsheet formula injection."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _write_csv(path: Path, rows: list[list[object]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    _write_text(path, buffer.getvalue())


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
