"""Tables and figures of the book, one module per chapter.

Presentation only: every function here takes results computed by the stage modules (or read from
records) and returns a :class:`pandas.DataFrame` or a :class:`matplotlib.figure.Figure`. Stage modules
never import from here; notebooks do.
"""
