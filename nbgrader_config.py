"""nbgrader configuration of the ferkit course (nbgrader 0.9).

Run every ``nbgrader`` command from the repository root, where this file is.
The layout (``{nbgrader_step}/{student_id}/{assignment_id}/<notebook>.ipynb``):

* ``solutions/<assignment>/``: the instructor's source notebooks, with solutions
  and hidden tests (nbgrader's ``source/`` step);
* ``exercises/<assignment>/``: what ``nbgrader generate_assignment`` makes from
  them for students (nbgrader's ``release/`` step), committed to the repository;
* ``submitted/<student>/<assignment>/``, ``autograded/``, ``feedback/`` and the
  gradebook ``gradebook.db``: grading work, git-ignored.

The workflow, command by command, is in ``book/instructor_guide.md``.
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "ferkit"
c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# The gradebook sits beside this file, where .gitignore ignores it. A copy of the
# course (as the tests make) gets its own gradebook.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(COURSE_ROOT, "gradebook.db")

# Seconds per *cell* while autograding and validating. nbgrader 0.9 reads
# Execute.timeout (ExecutePreprocessor.timeout is ignored). Every exercise grades in
# well under a minute on one CPU core; the limit only stops a student's endless loop
# (the cell is interrupted, scores 0, and grading goes on with the next cell).
c.Execute.timeout = 120

# A student who deletes a test cell gets it back: nbgrader re-inserts the
# instructor's version (with its hidden tests) and runs it, instead of grading
# the notebook without it.
c.OverwriteCells.add_missing_cells = True

# Feedback (HTML) is the autograded notebook, which holds the restored hidden
# tests; clear them, as generate_assignment does, so that feedback can be
# released without giving the hidden tests away (a failing hidden test still
# shows its traceback). Drop ClearHiddenTests to show students every test.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
