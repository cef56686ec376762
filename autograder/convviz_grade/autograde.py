"""``convviz-grade autograde``: grade a whole class into nbgrader's gradebook.

The steps, in order:

1. read the course's nbgrader configuration (its folders and ``db_url``);
2. make sure the gradebook knows the assignment and its graded cells
   (nbgrader's own ``generate_assignment``, which also refreshes the release);
3. grade every student's notebook with :func:`convviz_grade.grading.grade_task`,
   ``jobs`` at a time on this machine or on a Dask cluster
   (:mod:`convviz_grade.cluster`); each task only returns data;
4. in this one process, as results arrive: keep a copy of each submission in the
   course's submitted folder (where formgrader counts it), write the student's
   scores to the gradebook in one transaction (all of a student's scores or none;
   a written answer is left there for the instructor to grade in formgrader),
   and the per-function explanations to
   ``<autograded>/<student>/<assignment>/convviz_grade.json`` (what ``export`` and
   ``feedback`` read), and the notebook for formgrader, its written cells as
   released (:mod:`convviz_grade.written_cells`, one ``note:`` line per change);
5. print a summary table. The exit code is 1 if any submission could not be
   graded, as nbgrader's own converters do.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from convviz_grade import cluster, grading, notebook_cells, release, sandbox
from convviz_grade.written_cells import restore_written_cells
from convviz_ref.progress import progress as progress_bar

RESULTS_FILE = "convviz_grade.json"


class Course:
    """A course folder and the parts of its nbgrader configuration we use."""

    def __init__(self, root):
        from nbgrader.coursedir import CourseDirectory

        self.root = Path(root).resolve()
        self.coursedir = CourseDirectory(config=release.course_config(self.root))
        self.db_url = self.coursedir.db_url

    def folder(self, trait):
        return self.root / getattr(self.coursedir, trait)

    def source_notebook(self, assignment):
        return self.folder("source_directory") / assignment / f"{assignment}.ipynb"

    def results_path(self, student, assignment):
        return self.folder("autograded_directory") / student / assignment / RESULTS_FILE

    def gradebook_file(self):
        """The SQLite file of the gradebook, or None for another database."""
        prefix = "sqlite:///"
        return (
            Path(self.db_url[len(prefix) :]) if self.db_url.startswith(prefix) else None
        )

    def register(self, assignment):
        """Give the gradebook the assignment's cells: nbgrader's generate_assignment.

        It is what ``nbgrader generate_assignment ASSIGNMENT --force`` does with
        this course's configuration (:func:`convviz_grade.release.generate`), run
        in this process: the gradebook gets the assignment, its notebook and its
        graded cells, and the students' copy is written again.

        Raises:
            RuntimeError: nbgrader could not generate it; one line with nbgrader's
                reason.
        """
        create_gradebook(self.db_url)
        ok, log = release.generate(self.coursedir.config, assignment)
        if not ok:
            raise RuntimeError(
                f"nbgrader generate_assignment {assignment} failed: "
                f"{release.first_reason(log)} (nbgrader's whole log: "
                f"`nbgrader generate_assignment {assignment} --force` in {self.root})"
            )


def create_gradebook(db_url):
    """Create an empty nbgrader gradebook at ``db_url``, unless it has tables already.

    It is what nbgrader's ``Gradebook`` creates on first use: its tables, and an
    ``alembic_version`` table that holds the newest migration of nbgrader's schema
    (so that ``nbgrader db upgrade`` knows where it stands). The revision is read
    with alembic in this process, not by starting the ``alembic`` executable as
    nbgrader does.

    Returns:
        bool, True if the gradebook was created, False if the database had tables.
    """
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base
    from nbgrader.dbutil import ALEMBIC_DIR
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(db_url, future=True)
    try:
        with engine.begin() as connection:
            if inspect(connection).get_table_names():
                return False
            Base.metadata.create_all(bind=connection)
            connection.execute(
                text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            )
            connection.execute(
                text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
                {"head": ScriptDirectory(ALEMBIC_DIR).get_current_head()},
            )
        return True
    finally:
        engine.dispose()


def find_submissions(submissions, assignment):
    """Each student's notebook in ``submissions``.

    Returns:
        dict {student: path of
        ``submissions/<student>/<assignment>/<assignment>.ipynb``, or None when that
        file is missing}, for every folder in ``submissions`` whose name does not
        start with a dot.
    """
    found = {}
    for student_folder in sorted(Path(submissions).iterdir()):
        if student_folder.is_dir() and not student_folder.name.startswith("."):
            notebook = student_folder / assignment / f"{assignment}.ipynb"
            found[student_folder.name] = notebook if notebook.is_file() else None
    return found


TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # what nbgrader's collect writes, in UTC


def record_submission(course, assignment_name, student, notebook):
    """Keep a student's notebook where nbgrader's formgrader counts it; return its time.

    Formgrader counts a submission, and shows it as autograded, when
    ``<submitted>/<student>/<assignment>/`` holds it and the autograded copy has
    the same ``timestamp.txt``, as after nbgrader's own collect and autograde.
    The time is the submission's own ``timestamp.txt`` when it has one (what
    nbgrader's collect wrote), else the notebook file's modification time.
    Submissions graded from the course's submitted folder are left where they are.
    The ``submission_secret.txt`` that nbgrader's submit wrote goes with the
    notebook, as in nbgrader's autograde: ``nbgrader release_feedback`` reads it.

    Returns:
        datetime (naive, UTC), or None when there is no notebook.
    """
    from nbgrader.utils import parse_utc

    if notebook is None or not notebook.is_file():
        return None
    stamp_file = notebook.parent / "timestamp.txt"
    timestamp = None
    if stamp_file.is_file():
        try:
            timestamp = parse_utc(stamp_file.read_text().strip())
        except (ValueError, OverflowError):  # not a time: fall back on the file's own
            timestamp = None
    readable = timestamp is not None
    if timestamp is None:
        timestamp = datetime.fromtimestamp(notebook.stat().st_mtime, UTC).replace(
            tzinfo=None
        )
    stamp = timestamp.strftime(TIMESTAMP_FORMAT)
    submitted = course.folder("submitted_directory") / student / assignment_name
    submitted.mkdir(parents=True, exist_ok=True)
    in_place = submitted.resolve() == notebook.parent.resolve()
    if not in_place:
        shutil.copyfile(notebook, submitted / notebook.name)
    if not in_place or not readable:
        (submitted / "timestamp.txt").write_text(stamp)
    autograded = course.results_path(student, assignment_name).parent
    autograded.mkdir(parents=True, exist_ok=True)
    (autograded / "timestamp.txt").write_text(stamp)
    # What nbgrader's submit wrote: release_feedback needs it beside the feedback.
    secret = notebook.parent / "submission_secret.txt"
    if secret.is_file():
        for folder in [autograded] if in_place else [submitted, autograded]:
            shutil.copyfile(secret, folder / secret.name)
    return timestamp


def read_submission(notebook, released):
    """The student's notebook, its written cells restored as released.

    ``released`` is the notebook the students were given (None: nothing is
    restored); :func:`convviz_grade.written_cells.restore_written_cells` says
    what it restores.

    Returns:
        ``(notebook node, notes)``; the node is None when there is no notebook or
        it could not be read; ``notes``, one line per written cell restored or
        missing.
    """
    import nbformat

    if notebook is None or not Path(notebook).is_file():
        return None, []
    try:
        submitted = nbformat.read(notebook, as_version=4)
    except Exception:  # not JSON, not a notebook: graded "ungraded" elsewhere
        return None, []
    notes = [] if released is None else restore_written_cells(submitted, released)
    return submitted, notes


def read_written_answers(assignment, notebook, submitted):
    """The student's answers to the assignment's written questions.

    ``submitted`` is :func:`read_submission`'s notebook for the file ``notebook``.

    Returns:
        dict ``{grade_id: text, or None when the notebook has no such cell}``
        (every answer None when nothing was handed in), or None when the
        notebook could not be read: the instructor has to look at it.
    """
    if not assignment.written:  # nothing to read
        return {}
    if notebook is None or not Path(notebook).is_file():
        return dict.fromkeys(assignment.written)
    if submitted is None:
        return None
    return {
        grade_id: notebook_cells.written_answer(submitted, grade_id)
        for grade_id in assignment.written
    }


NO_RESPONSE = "No response."  # nbgrader's automatic comment on an unanswered cell


def write_gradebook(course, assignment, result, timestamp=None, written=None):
    """Write one student's scores in one transaction: all of them, or none.

    The test cells get their automatic scores, as nbgrader's ``SaveAutoGrades``
    gives them, and need no manual grading. A written answer
    (``assignment.written``) gets nbgrader's treatment of a manually graded
    cell: no automatic score, so it is left "needing manual grading" for
    formgrader; one left as released (or empty) is scored 0 at once with the
    comment "No response.", as nbgrader does; one the notebook does not have
    (deleted) gets no score and waits for no one: ``export`` calls it
    missing (its score is 0). ``written`` is
    :func:`read_written_answers`'s answer (None: the notebook could not be
    read, so every written answer waits for the instructor).

    An instructor's manual score and comment are never touched. On a new
    submission (``timestamp``, from :func:`record_submission`, differs from the
    one graded before) a cell with a manual score is flagged for review again,
    as nbgrader does; grading the same submission again leaves the flag as the
    instructor left it, so a re-run does not send the hand-graded answers back
    to the queue.
    """
    from nbgrader.api import (
        Comment,
        Grade,
        Gradebook,
        MissingEntry,
        Student,
        SubmittedAssignment,
        SubmittedNotebook,
    )

    scores = {}
    for grade in result.functions:
        for grade_id, points in assignment.points[grade.function].items():
            scores[grade_id] = points if grade.status == "passed" else 0.0
    with Gradebook(course.db_url) as gradebook:
        session = gradebook.db
        try:
            try:
                student = gradebook.find_student(result.student)
            except MissingEntry:
                # Added in this same transaction (nbgrader's helper commits at once).
                student = Student(id=result.student)
                session.add(student)
            try:
                submission = gradebook.find_submission(assignment.name, result.student)
            except MissingEntry:  # first grading of this student
                # What nbgrader's add_submission builds, without its intermediate
                # commit.
                with session.no_autoflush:
                    submission = SubmittedAssignment(
                        assignment=gradebook.find_assignment(assignment.name),
                        student=student,
                    )
                    session.add(submission)
                    for notebook in submission.assignment.notebooks:
                        submitted = SubmittedNotebook(
                            notebook=notebook, assignment=submission
                        )
                        session.add(submitted)
                        for cell in notebook.grade_cells:
                            session.add(Grade(cell_id=cell.id, notebook=submitted))
                        for cell in notebook.solution_cells:
                            session.add(Comment(cell_id=cell.id, notebook=submitted))
                    session.flush()
            resubmitted = submission.timestamp != timestamp
            if timestamp is not None:
                submission.timestamp = timestamp
            for notebook in submission.notebooks:
                unanswered = {
                    cell.name: _unanswered(written, cell)
                    for cell in (
                        notebook.notebook.source_cells if assignment.written else ()
                    )
                    if cell.name in assignment.written
                }
                for grade in notebook.grades:
                    if grade.name in unanswered:
                        grade.auto_score = 0.0 if unanswered[grade.name] else None
                    else:
                        grade.auto_score = scores.get(grade.name, 0.0)
                    deleted = (
                        grade.name in unanswered and unanswered[grade.name] is None
                    )
                    if grade.manual_score is None:
                        grade.needs_manual_grade = (
                            grade.auto_score is None and not deleted
                        )
                    elif resubmitted:
                        grade.needs_manual_grade = True
                for comment in notebook.comments:
                    if comment.name in unanswered:
                        comment.auto_comment = (
                            NO_RESPONSE if unanswered[comment.name] else None
                        )
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _unanswered(written, source_cell):
    """True when the student left the written answer as released or empty.

    None when the notebook has no such cell (deleted), False when it has an
    answer or could not be read (``written`` None).
    """
    if written is None:  # the notebook could not be read
        return False
    text = written.get(source_cell.name)
    if text is None:
        return None
    text = text.strip()
    return not text or text == (source_cell.source or "").strip()


def write_results(course, result):
    path = course.results_path(result.student, result.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(result), indent=1))
    os.replace(temporary, path)  # never a half-written file


def copy_for_formgrader(course, result, notebook, submitted):
    """Put the submitted notebook where formgrader looks for the autograded one.

    ``submitted`` is :func:`read_submission`'s notebook (its written cells as
    released) for the file ``notebook``. The notebook was never run as a
    whole (only its answer cells were, in the sandbox), so each test cell gets
    one output instead: the grader's verdict on its function, with the
    explanation when it failed. An instructor reading the submission in
    formgrader sees what ``convviz-grade feedback`` says. An unreadable notebook
    (``submitted`` None) is copied as it is.
    """
    import nbformat

    if notebook is None or not notebook.is_file():
        return
    target = course.results_path(result.student, result.assignment).with_name(
        notebook.name
    )
    if submitted is None:  # not JSON, not a notebook: formgrader shows what there is
        shutil.copy(notebook, target)
        return
    verdicts = {grade.function: grade for grade in result.functions}
    for cell in submitted.cells:
        function = (notebook_cells.function_tested_by(cell) or (None,))[0]
        if function in verdicts:
            grade = verdicts[function]
            text = (
                f"convviz-grade: {function} {grade.status}, "
                f"{grade.score:g} / {grade.max_score:g} points\n"
            )
            if grade.message:
                text += grade.message.rstrip("\n") + "\n"
            name = "stdout" if grade.status == "passed" else "stderr"
            cell.outputs = [nbformat.v4.new_output("stream", name=name, text=text)]
            cell.execution_count = None
    nbformat.write(submitted, target)


def hidden_paths(course, extra=()):
    """What student code must not see: the course, the gradebook's folder, ``extra``.

    The sandbox adds the installed ``convviz_ref`` and ``convviz_grade`` and
    the clone they come from (:func:`convviz_grade.sandbox.always_hidden`).
    """
    paths = [course.root, *extra]
    gradebook = course.gradebook_file()
    if gradebook is not None:
        paths.append(gradebook.parent)
    return [str(path) for path in paths]


class SelfCheckFailed(RuntimeError):
    """The instructor's own solution did not pass through the sandbox: grade no one."""


def self_check(assignment, options):
    """Grade the instructor's solution through the same sandbox, before any student.

    If the sandbox cannot run Python at all (an interpreter it hides, a
    broken bubblewrap), every student would come out "ungraded"; if the
    solution fails, every honest student would come out "failed". Either way
    nothing is graded: raise :class:`SelfCheckFailed` with one line that says why.
    When it passes, its seconds per case become ``assignment.reference_seconds``,
    the yardstick of the timed cases (:attr:`convviz_grade.grading.Case.time_limit`).

    Returns:
        float, the seconds the check took.
    """
    result = grading.grade_submission(
        assignment, assignment.source_notebook, student="self-check", **options
    )
    failed = [grade for grade in result.functions if grade.status != "passed"]
    if not failed:
        assignment.reference_seconds = dict(result.case_seconds)
        return result.seconds
    outside = [note for note in result.notes if "outside student code" in note]
    if outside:
        log = [
            line.strip()
            for line in outside[0].split("outside student code:", 1)[-1].splitlines()
            if line.strip()
        ]
        raise SelfCheckFailed(
            f"the sandbox cannot run Python, so no student was graded: "
            f"{log[-1] if log else outside[0]}"
        )
    first = failed[0]
    reason = (
        first.message.strip().splitlines()[0] if first.message.strip() else first.status
    )
    raise SelfCheckFailed(
        f"the instructor's solution {assignment.source_notebook.name} does not "
        f"pass its own grading ({first.function}: {reason}), so no student was graded"
    )


def summary_table(results, stream):
    if not results:
        return
    functions = [grade.function for grade in results[0].functions]
    width = max(7, *(len(result.student) for result in results))
    header = f"{'student':<{width}}  {'score':>9}  " + "  ".join(
        f"{name[:14]:<14}" for name in functions
    )
    print(header, file=stream)
    print("-" * len(header), file=stream)
    for result in sorted(results, key=lambda r: r.student):
        cells = "  ".join(f"{grade.status:<14}" for grade in result.functions)
        print(
            f"{result.student:<{width}}  "
            f"{result.score:>4g}/{result.max_score:<4g}  {cells}",
            file=stream,
        )


def autograde(
    assignment_name,
    submissions,
    *,
    course_dir,
    jobs=1,
    timeout=60.0,
    memory_mb=4096,
    isolation="auto",
    scheduler=None,
    hide=(),
    fork_server=True,
    progress=True,
    stream=None,
):
    """Grade every submission of one assignment; return the exit code.

    ``fork_server``: run each student's code in a child of a sandboxed fork
    server (:class:`~convviz_grade.sandbox.ForkServer`, one per job) that has
    imported the libraries once; False starts a new sandboxed Python per run.
    """
    stream = stream or sys.stdout
    course = Course(course_dir)
    source = course.source_notebook(assignment_name)
    if not source.is_file():
        print(f"error: no source notebook {source}", file=stream)
        return 2
    if not Path(submissions).is_dir():
        print(f"error: no submissions folder {submissions}", file=stream)
        return 2
    if isolation == "auto":
        isolation = "bwrap" if sandbox.bwrap_available() else "none"
        if isolation == "none":
            print(
                "warning: bubblewrap is not available: student code runs with "
                "the grader's file and network access (limits still apply)",
                file=stream,
            )
    elif isolation == "none":
        print(
            "note: --isolation none: student code runs with the grader's file and "
            "network access (limits still apply; importing convviz_ref or "
            "convviz_grade is refused)",
            file=stream,
        )
    course.register(assignment_name)
    assignment = grading.Assignment(assignment_name, source)
    assignment.prepared_inputs()  # once, before any thread needs it
    found = find_submissions(submissions, assignment_name)
    work_root = Path(tempfile.mkdtemp(prefix="convviz-grade-"))
    # Other students' work is hidden too: the submissions folder may lie outside the
    # course.
    options = {
        "work_root": work_root,
        "hide": hidden_paths(course, [submissions, *hide]),
        "isolation": isolation,
        "timeout": timeout,
        "memory_bytes": memory_mb * 2**20,
    }
    pool = None
    if fork_server and not scheduler:
        pool = sandbox.ForkServerPool(
            work_root,
            max(1, jobs),
            prelude=assignment.prelude,
            preload=assignment.preload,
            hide=options["hide"],
            isolation=isolation,
        )
    try:
        return _grade_class(
            assignment,
            course,
            found,
            options,
            pool,
            jobs,
            scheduler,
            source,
            progress,
            stream,
        )
    finally:
        if pool is not None:
            pool.close()
        shutil.rmtree(work_root, ignore_errors=True)


def _pooled(pool, task, *args):
    """Run ``task(*args, options)`` with a fork server of ``pool`` in its options."""
    *args, options = args
    if pool is None:
        return task(*args, options)
    server = pool.acquire()
    try:
        return task(*args, dict(options, server=server))
    finally:
        pool.release(server)


def _grade_class(
    assignment, course, found, options, pool, jobs, scheduler, source, progress, stream
):
    import nbformat

    try:
        _pooled(pool, self_check, assignment, options)
    except SelfCheckFailed as error:
        print(f"error: {error}", file=stream)
        return 2
    assignment_name = assignment.name
    results, failures = [], []
    bar = progress_bar(
        total=len(found),
        desc=f"grading {assignment_name}",
        unit="student",
        disable=not progress,
    )

    released = course.folder("release_directory") / assignment_name
    released = released / source.name
    released = nbformat.read(released, as_version=4) if released.is_file() else None

    def finish(result):
        notebook = found.get(result.student)
        try:
            timestamp = record_submission(
                course, assignment_name, result.student, notebook
            )
            submitted, notes = read_submission(notebook, released)
            for note in notes:  # where nbgrader's autograde logs a warning
                print(f"note: {result.student}: {note}", file=stream)
            result.notes.extend(notes)
            written = read_written_answers(assignment, notebook, submitted)
            write_gradebook(course, assignment, result, timestamp, written)
            write_results(course, result)
            copy_for_formgrader(course, result, notebook, submitted)
        except Exception as error:  # the gradebook refused: report, go on
            failures.append(
                f"{result.student}: could not be recorded: "
                f"{type(error).__name__}: {error}"
            )
        if any(grade.status == "ungraded" for grade in result.functions):
            failures.append(
                f"{result.student}: could not be graded: "
                f"{'; '.join(result.notes)[:300]}"
            )
        results.append(result)
        bar.update(1)

    if scheduler:
        if cluster.has_timed_cases(assignment):
            print(
                "note: timed cases are judged against the reference timed on each "
                "Dask worker (one self-check per worker process, first)",
                file=stream,
            )
        cluster.grade_on_cluster(
            scheduler, assignment_name, source, found, options, finish
        )
    else:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as threads:
            futures = [
                threads.submit(
                    _pooled,
                    pool,
                    grading.grade_task,
                    assignment,
                    notebook,
                    student,
                    options,
                )
                for student, notebook in found.items()
            ]
            for future in as_completed(futures):
                finish(future.result())
    bar.close()
    summary_table(results, stream)
    for failure in failures:
        print(f"FAILED {failure}", file=stream)
    return 1 if failures else 0
