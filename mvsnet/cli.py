"""The one way our command-line scripts end: absl flags in, one error line out.

    if __name__ == "__main__":
        cli.run(main)          # main(argv) -> exit status (None = 0)

A user error (:class:`cameras.errors.InputError`, including stray positional
arguments and flags absl cannot parse) prints ``error: <message>`` on stderr and exits with ``error_status``
(1 unless the script says otherwise), without a traceback.

Only the command-line scripts import this module; the checks of their outputs before the
long work, and the out-of-memory message, are library code (:mod:`mvsnet.checks`).
"""

import sys

from absl import app, flags

from cameras.errors import InputError


def reject_extra_arguments(argv):
    """Every option of our scripts is a --flag; anything else is a mistake."""
    if len(argv) > 1:
        raise InputError("unexpected argument(s): %s (every option is a --flag)" % " ".join(argv[1:]))


def run(main, error_status=1):
    """app.run(main) with InputError, and a flag absl cannot parse (unknown, or a value
    of the wrong type), turned into one line and ``error_status``."""
    def parse(argv):
        try:
            return flags.FLAGS(argv)
        except flags.Error as err:
            print("error: %s (--helpshort lists the flags)" % " ".join(str(err).split()),
                  file=sys.stderr, flush=True)
            sys.exit(error_status)

    def entry(argv):
        try:
            status = main(argv)
        except InputError as err:
            sys.stdout.flush()
            print("error: %s" % err, file=sys.stderr, flush=True)
            sys.exit(error_status)
        sys.exit(status or 0)

    app.run(entry, flags_parser=parse)
