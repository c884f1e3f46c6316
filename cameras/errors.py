"""The one exception type for problems a user can cause (bad files, bad options)."""


class InputError(ValueError):
    """A user-facing error.

    ``str(e)`` is a single line, ``"PATH: problem"`` when the error is about a file
    (``path`` given) and ``"problem"`` otherwise. Command-line scripts print it as
    ``error: <str(e)>`` and exit with status 1, without a traceback.
    """

    def __init__(self, problem, path=None):
        self.problem = " ".join(str(problem).split())  # always one line
        self.path = None if path is None else str(path)
        super().__init__(self.problem if self.path is None else "%s: %s" % (self.path, self.problem))
