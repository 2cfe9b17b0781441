"""Tables and figures of the book, one module per chapter.

Presentation only: every function here takes results computed by the stage modules (or read from
records) and returns a :class:`pandas.DataFrame` or a :class:`matplotlib.figure.Figure`. Stage modules
never import from here; notebooks do.

- :mod:`mglwkd_lite.report.data` -- notebook 01, the data
- :mod:`mglwkd_lite.report.topology` -- notebook 02, the persistence images
- :mod:`mglwkd_lite.report.teachers` -- notebook 03, the networks and the trained teachers
- :mod:`mglwkd_lite.report.workspace` -- notebook 04, the workspace's shapes, maps and coefficient
- :mod:`mglwkd_lite.report.distillation` -- notebook 05, the methods and the distilled students
- :mod:`mglwkd_lite.report.results` -- notebook 06, the run records of the experiment sweep
- :mod:`mglwkd_lite.report.deploy` -- notebook 07, deployment
- :mod:`mglwkd_lite.report.checks` -- pass/fail lines for trained scores
"""

__all__: list[str] = []  # the chapter modules are imported by name: from mglwkd_lite.report import data
