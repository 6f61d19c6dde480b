"""Tools of the repository (the book build, the student release): not part of the ferkit library."""
