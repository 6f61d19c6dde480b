"""Lesson prose states no result that a cell did not produce.

Every number in a lesson's text that reads as a result (an accuracy, a loss, an F1 score, a
paper's figure) must be printed by a code cell or read from a record or from
``ferkit.papers``; typed into the prose it goes stale the moment a run changes. Settings are
fine in prose ("a 10 % carve-out", "dropout 0.25", "p = 0.5", "learning rate 1e-3").
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# A number that reads as a measurement: a percentage with a decimal or at least two digits
# ("61.4 %", "73%"), or a fraction with two or more decimals ("0.47").
RESULT_NUMBER = re.compile(r"(?<![\w.])(?:\d{2,3}(?:\.\d+)?\s?%|\d\.\d+\s?%|0\.\d{2,})(?![\w.])")
RESULT_WORDS = re.compile(
    r"accura|scor|reach|achiev|report|F1|precision|recall|loss|error rate|beats?|outperform|top[- ]1", re.IGNORECASE)
# A measured value: settings are stated exactly, so "about 0.47" or "near 73 %" is a result.
APPROXIMATE = re.compile(r"\b(?:about|near|around|roughly|approximately|almost|some)\s+\(?\d+(?:\.\d+)?\s?%?",
                         re.IGNORECASE)
# Settings and facts of the data that a sentence may state beside such words.
SETTING_WORDS = re.compile(
    r"dropout|carve-?out|learning rate|\blr\b|weight decay|probabilit|\bp\s*=|scale|split|held out|"
    r"of (?:the )?(?:training|train|images|faces|pixels)|fraction|share of|zoom|shift|rotation|"
    r"translat|temperature|momentum|quantile|threshold|confidence level", re.IGNORECASE)


def sentences(text):
    text = re.sub(r"```.*?```", " ", text, flags=re.DOTALL)  # code in the prose is code
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\$[^$]*\$", " ", text)  # formulas
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n\s*[-*]\s+|\n\n", text) if s.strip()]


def typed_results(path):
    found = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "markdown":
            continue
        for sentence in sentences(cell.source):
            numbers = RESULT_NUMBER.findall(sentence)
            approximate = [match for match in APPROXIMATE.findall(sentence) if RESULT_NUMBER.search(match)]
            if approximate or (numbers and RESULT_WORDS.search(sentence) and not SETTING_WORDS.search(sentence)):
                found.append(f"cell {index}: {approximate or numbers} in {sentence[:160]!r}")
    return found


@pytest.mark.parametrize("path", LESSONS, ids=[path.stem for path in LESSONS])
def test_no_result_is_typed_into_a_lesson_s_prose(path):
    assert typed_results(path) == []


@pytest.mark.parametrize("text, flagged", [
    ("On FER2013 the model reaches about 0.47 on PublicTest.", True),
    ("Qutub & Atay report 71.02 % for VGG19.", True),
    ("The run scores near 73 %.", True),
    ("A 10 % carve-out of train selects the epoch.", False),
    ("Dropout 0.25 after each block; accuracy is printed below.", False),
    ("The accuracy printed above beats the baseline.", False),
    ("Pixels in [0, 1] have a mean of about 0.47, far from zero.", True),
    ("About 20 faces fit on one page.", False),
])
def test_the_check_tells_results_from_settings(tmp_path, text, flagged):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    path = tmp_path / "lesson.ipynb"
    nbformat.write(notebook, path)
    assert bool(typed_results(path)) is flagged
