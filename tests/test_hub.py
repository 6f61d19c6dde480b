"""Many students on one hub: nbgrader's exchange between real Unix accounts.

On a JupyterHub every student is a separate Unix user, and nbgrader's exchange folder
moves the assignments, the submissions and the feedback between them. This test runs
that workflow for real with nbgrader's own commands: it creates an instructor and two
students, a temporary exchange, and a course holding one assignment (the cheapest,
``a5_metrics_by_hand``). The instructor releases it; each student fetches it, answers it
(alice correctly, bob half wrong and half untouched) and submits it; the instructor
collects, autogrades, generates and releases the feedback; each student fetches it. The
tests check the marks, that bob can read neither alice's work nor the exchange's list of
submissions, that each student gets only their own feedback, and that no hidden test
reaches a student.

It needs root and ``useradd`` (CI runs as root) and skips, saying why, elsewhere. The
accounts see nothing of root's: everything they use lies in a temporary root they can
read. When this interpreter lives in a folder they cannot enter (a pyenv Python under
``/root``, say), the temporary root gets a copy of its standard library and binary, whose
``site-packages`` points at this environment's packages. The accounts are removed at the
end, whatever happened.
"""

import copy
import grp
import html
import os
import pwd
import re
import secrets
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "a5_metrics_by_hand"
COURSE_ID = "ferkit"
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])  # this environment's packages
# Text that only the source notebook holds: the markers, the hidden guard, a hidden import.
HIDDEN_TEXT = ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "def calls_blocked", "precision_recall_fscore_support")

pytestmark = pytest.mark.slow


def readable_by_everyone(path):
    """Whether a user with no special rights can reach ``path`` (every folder on the way enterable)."""
    path = Path(path).resolve()
    if not path.exists():
        return False
    for folder in [*reversed(path.parents), *([path] if path.is_dir() else [])]:
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)


VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"
BASE = Path(sys.base_prefix)


def interpreter_for_accounts():
    """``"direct"`` when the accounts can run this interpreter as it is, ``"copy"`` when a copy of its
    base installation can stand in for it, or ``None``."""
    if not readable_by_everyone(SITE_PACKAGES):
        return None
    if readable_by_everyone(Path(sys.executable).resolve()) and readable_by_everyone(BASE / "lib" / VERSION / "os.py"):
        return "direct"
    if (BASE / "bin" / VERSION).is_file() and (BASE / "lib" / VERSION / "os.py").is_file():
        return "copy"
    return None


def skip_reason():
    if not sys.platform.startswith("linux"):
        return "needs Linux user accounts"
    if os.geteuid() != 0:
        return "needs root, to create the instructor's and the students' accounts (CI runs as root)"
    missing = [tool for tool in ("useradd", "userdel", "runuser") if shutil.which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)} to create and use the accounts"
    if not readable_by_everyone(ROOT / "ferkit" / "__init__.py"):
        return f"the new accounts cannot read the course at {ROOT}"
    if interpreter_for_accounts() is None:
        return (f"the new accounts can run neither {sys.executable} nor a copy of {BASE} "
                f"(and need to read {SITE_PACKAGES})")
    return None


class Hub:
    """A temporary root with the accounts, their homes, the exchange and the interpreter they run."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="ferkit-hub-"))
        os.chmod(self.root, 0o755)
        (self.root / "home").mkdir(mode=0o755)
        self.exchange = self.root / "exchange"
        self.exchange.mkdir()
        os.chmod(self.exchange, 0o777)  # nbgrader's exchange: every user may write there
        self.users = {}
        self.log = []
        self.bin = self.root / "python" / "bin"
        self.library_path = ""
        if interpreter_for_accounts() == "copy":
            self.python = self.copy_interpreter(self.root / "python")
        else:
            self.bin.mkdir(parents=True)
            self.python = sys.executable
        # nbgrader runs `alembic` from PATH when it creates a gradebook.
        alembic = self.bin / "alembic"
        alembic.write_text(f'#!/bin/sh\nexec {self.python} -m alembic "$@"\n')
        alembic.chmod(0o755)
        subprocess.run(["chmod", "-R", "a+rX", str(self.root / "python")], check=True)

    def copy_interpreter(self, target):
        """Copy this interpreter's binary, shared library and standard library to ``target``; its
        site-packages lists this environment's packages and the course. Return its path."""
        lib = target / "lib"
        lib.mkdir(parents=True)
        self.bin.mkdir()
        shutil.copy2(BASE / "bin" / VERSION, self.bin / VERSION)
        (self.bin / "python").symlink_to(VERSION)
        for shared in (BASE / "lib").glob("libpython*.so*"):
            shutil.copy2(shared, lib / shared.name, follow_symlinks=True)
        shutil.copytree(BASE / "lib" / VERSION, lib / VERSION, symlinks=True, ignore=shutil.ignore_patterns(
            "site-packages", "test", "config-*", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3"))
        site = lib / VERSION / "site-packages"
        site.mkdir()
        (site / "course.pth").write_text(f"{SITE_PACKAGES}\n{ROOT}\n")
        self.library_path = str(lib)  # before the binary's RUNPATH, which the accounts cannot enter
        return str(self.bin / "python")

    def add_user(self, role):
        name = f"fk{secrets.token_hex(3)}{role[0]}"
        home = self.root / "home" / name
        subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh", name],
                       check=True, capture_output=True)
        self.users[role] = name
        os.chmod(home, 0o700)  # as on a hub: nobody else reads a user's home
        return name

    def home(self, role):
        return self.root / "home" / self.users[role]

    def run(self, role, *command, cwd=None, check=True):
        """Run ``command`` as the account of ``role``, with a clean environment; return the result."""
        user = self.users[role]
        environment = [f"HOME={self.home(role)}", f"USER={user}", f"LOGNAME={user}", "LANG=C.UTF-8",
                       f"PATH={self.bin}:/usr/bin:/bin", f"FERKIT_CACHE={self.home(role)}/.cache/ferkit",
                       # nbconvert's templates (for the feedback pages) live in this environment's share/jupyter
                       f"JUPYTER_PATH={Path(sys.prefix) / 'share' / 'jupyter'}",
                       f"LD_LIBRARY_PATH={self.library_path}"]
        result = subprocess.run(["runuser", "-u", user, "--", "env", "-i", *environment, *command],
                                cwd=cwd or self.home(role), capture_output=True, text=True)
        self.log.append(f"$ [{role}] {' '.join(command)}\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        if check and result.returncode != 0:
            raise AssertionError(f"{role}: `{' '.join(command)}` failed ({result.returncode}):\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def nbgrader(self, role, *arguments, cwd=None, check=True):
        exchange = [f"--Exchange.root={self.exchange}", f"--CourseDirectory.course_id={COURSE_ID}"]
        return self.run(role, self.python, "-m", "nbgrader", *arguments, *exchange, cwd=cwd, check=check)

    def give(self, role, path):
        """Hand ``path`` (a file or folder under the role's home, written by root) to the role's account."""
        user = pwd.getpwnam(self.users[role])
        subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(path)], check=True)

    def remove(self):
        """Remove the accounts (and their homes) and the temporary root; fail if an account is left."""
        problems = []
        for name in self.users.values():
            if shutil.which("pkill"):
                subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
            subprocess.run(["userdel", "--remove", name], capture_output=True)
            try:
                pwd.getpwnam(name)
                problems.append(name)
            except KeyError:
                pass
            try:
                grp.getgrnam(name)
                subprocess.run(["groupdel", name], capture_output=True)
            except KeyError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)
        assert not problems, f"accounts left behind: {problems}"


def answered(release, source, wrong=(), untouched=()):
    """The released notebook with each answer cell taken from the source (less its markers), except the
    cells in ``wrong`` (given a wrong body) and ``untouched`` (left as released)."""
    answers = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in source.cells
               if cell.metadata.get("nbgrader", {}).get("solution")}
    notebook = copy.deepcopy(release)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not cell.metadata.get("nbgrader", {}).get("solution") or grade_id in untouched:
            continue
        if grade_id in wrong:
            cell.source = wrong[grade_id]
        else:
            cell.source = "\n".join(line for line in answers[grade_id].splitlines()
                                    if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return notebook


BOBS_WRONG_MATRIX = '''def confusion_matrix_by_hand(y_true, y_pred, num_classes=7):
    return np.zeros((num_classes, num_classes), dtype=np.int64)'''


@pytest.fixture(scope="module")
def hub():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    hub = Hub()
    try:
        for role in ("instructor", "alice", "bob"):
            hub.add_user(role)
        started = time.perf_counter()
        course = hub.home("instructor") / "course"
        course.mkdir()
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "solutions" / ASSIGNMENT, course / "solutions" / ASSIGNMENT)
        hub.give("instructor", course)
        hub.nbgrader("instructor", "generate_assignment", ASSIGNMENT, cwd=course)
        hub.nbgrader("instructor", "release_assignment", ASSIGNMENT, cwd=course)

        source = nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        hub.fetched = {}
        for role, wrong, untouched in (("alice", {}, ()),
                                       ("bob", {"confusion_matrix": BOBS_WRONG_MATRIX}, ("accuracy_macro_f1",))):
            hub.nbgrader(role, "fetch_assignment", ASSIGNMENT)
            path = hub.home(role) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            hub.fetched[role] = path.read_text()
            nbformat.write(answered(nbformat.reads(hub.fetched[role], as_version=4), source, wrong, untouched), path)
            hub.give(role, path)
            hub.nbgrader(role, "submit", ASSIGNMENT)

        hub.inbound = hub.exchange / COURSE_ID / "inbound"
        hub.submissions = sorted(hub.inbound.iterdir())  # as root, who may list it
        hub.nbgrader("instructor", "collect", ASSIGNMENT, cwd=course)
        hub.nbgrader("instructor", "autograde", ASSIGNMENT, cwd=course)
        hub.nbgrader("instructor", "generate_feedback", ASSIGNMENT, cwd=course)
        hub.nbgrader("instructor", "release_feedback", ASSIGNMENT, cwd=course)
        for role in ("alice", "bob"):
            hub.nbgrader(role, "fetch_feedback", ASSIGNMENT)
        hub.course = course
        hub.seconds = time.perf_counter() - started
        print(f"\nhub workflow (instructor + 2 students, {ASSIGNMENT}): {hub.seconds:.0f} s")
        yield hub
    finally:
        hub.remove()


def test_the_accounts_are_separate_users_with_private_homes(hub):
    uids = {pwd.getpwnam(name).pw_uid for name in hub.users.values()}
    assert len(uids) == 3 and 0 not in uids
    for role in hub.users:
        assert stat.S_IMODE(os.stat(hub.home(role)).st_mode) == 0o700
        assert hub.run(role, "id", "-un").stdout.strip() == hub.users[role]


def test_each_student_fetched_the_release_without_hidden_tests(hub):
    release = (ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    for role in ("alice", "bob"):
        fetched = hub.fetched[role]
        assert nbformat.reads(fetched, as_version=4).cells == nbformat.reads(release, as_version=4).cells, \
            f"{role} did not fetch the committed release"
        for text in HIDDEN_TEXT:
            assert text not in fetched, f"{role}'s copy holds {text!r}"


def test_the_instructor_collected_both_submissions(hub):
    assert len(hub.submissions) == 2
    assert {path.name.split("+")[0] for path in hub.submissions} == {hub.users["alice"], hub.users["bob"]}
    collected = sorted(path.name for path in (hub.course / "submitted").iterdir())
    assert collected == sorted([hub.users["alice"], hub.users["bob"]])


def test_the_marks(hub):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}", COURSE_ID) as gradebook:
        scores = {}
        for role in ("alice", "bob"):
            notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, hub.users[role])
            scores[role] = {grade.name: grade.auto_score for grade in notebook.grades if grade.cell_type == "code"}
    assert scores["alice"] == {"confusion_matrix_tests": 3, "precision_recall_f1_tests": 3,
                               "accuracy_macro_f1_tests": 2}, scores
    assert scores["bob"] == {"confusion_matrix_tests": 0, "precision_recall_f1_tests": 3,
                             "accuracy_macro_f1_tests": 0}, scores


def test_one_student_cannot_read_the_others_work(hub):
    alices_copy = hub.home("alice") / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert hub.run("bob", "cat", str(alices_copy), check=False).returncode != 0, "bob read alice's notebook"
    assert hub.run("bob", "ls", str(hub.home("alice")), check=False).returncode != 0
    listing = hub.run("bob", "ls", str(hub.inbound), check=False)
    assert listing.returncode != 0 and "Permission denied" in listing.stderr, "bob listed the submissions"
    alices_submission = next(path for path in hub.submissions if path.name.startswith(hub.users["alice"] + "+"))
    # A submission's folder name ends in a random string: it cannot be guessed without listing inbound.
    assert len(alices_submission.name.rsplit("+", 1)[-1]) >= 12, alices_submission.name
    assert hub.run("bob", "ls", str(hub.course), check=False).returncode != 0, "bob reached the gradebook"


def feedback_pages(hub, role):
    return sorted((hub.home(role) / ASSIGNMENT / "feedback").rglob("*.html"))


def page_text(path):
    """A feedback page's text without its markup (the code is split into highlighting spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def test_each_student_fetched_only_their_own_feedback(hub):
    for role, other, score in (("alice", "bob", "8.0"), ("bob", "alice", "3.0")):
        pages = feedback_pages(hub, role)
        assert len(pages) == 1, f"{role} fetched {pages}"
        html = pages[0].read_text()
        assert f"(Score: {score} / 10.0)" in html, f"{role}'s feedback does not give {score} of 10"
        assert hub.users[other] not in html
    bobs_answer = "return np.zeros((num_classes, num_classes), dtype=np.int64)"
    assert bobs_answer in page_text(feedback_pages(hub, "bob")[0]), "bob's page shows bob's answer"
    assert bobs_answer not in page_text(feedback_pages(hub, "alice")[0]), "alice's page shows alice's answer"
    feedback = hub.exchange / COURSE_ID / "feedback"
    assert hub.run("bob", "ls", str(feedback), check=False).returncode != 0, "bob listed everyone's feedback"


def test_no_hidden_test_reaches_a_student(hub):
    """Everything a student can read: the exchange's outbound copy, their fetched notebook, their feedback."""
    outbound = hub.exchange / COURSE_ID / "outbound" / ASSIGNMENT
    readable = [*outbound.rglob("*.ipynb"), *feedback_pages(hub, "alice"), *feedback_pages(hub, "bob")]
    assert len(readable) == 3, readable
    for path in readable:
        text = page_text(path) if path.suffix == ".html" else path.read_text()
        for hidden in HIDDEN_TEXT:
            assert hidden not in text, f"{path}: {hidden!r}"
    assert hub.run("alice", "cat", str(next(outbound.rglob("*.ipynb")))).returncode == 0


def test_it_skips_and_says_why_without_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    if sys.platform.startswith("linux"):
        assert "needs root" in skip_reason()
