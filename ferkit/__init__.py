"""ferkit: the helper library of the ferkit course on facial-expression recognition.

Each module owns one step of a lesson's flow (see the course map in the book):

    data -> pipeline -> models -> train -> evaluate -> plots

Import the module you need, e.g. ``from ferkit import data, models``.
"""

__version__ = "0.1.0"
