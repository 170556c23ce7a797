"""The library's own errors reach a command-line user as one line and a usage hint, not a traceback.

The Lightning CLI builds the model inside jsonargparse, which wraps an ``__init__``'s ``ValueError``
in its own ("Does not validate against any of the Union subtypes ...", 70+ lines with both
tracebacks).  :func:`user_errors_as_one_line` finds, along the chain of causes, the innermost error
that the library raised itself about its input (a bad value, a shape its networks cannot take, a
missing data directory, a non-finite loss) and exits with that message alone.  Anything else -- an
error raised by Lightning, torch or a user's own code, or of another type -- keeps its traceback.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

LIBRARY_PACKAGE = "lightning_gans"
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, FloatingPointError)


def raised_by_library(error: BaseException) -> bool:
    """Whether the frame that raised ``error`` belongs to the library's package."""
    frame = error.__traceback__
    if frame is None:
        return False
    while frame.tb_next is not None:
        frame = frame.tb_next
    module = frame.tb_frame.f_globals.get("__name__", "")
    return module == LIBRARY_PACKAGE or module.startswith(LIBRARY_PACKAGE + ".")


def library_user_error(error: BaseException) -> Optional[BaseException]:
    """The innermost error along ``error``'s causes that the library raised about its input, if any."""
    found = None
    while error is not None:
        if isinstance(error, USER_ERRORS) and raised_by_library(error):
            found = error
        error = error.__cause__
    return found


@contextmanager
def user_errors_as_one_line(subcommand: Optional[str]) -> Iterator[None]:
    """Exit with status 2 and ``<prog> <subcommand>: error: <message>`` plus a usage hint on such errors."""
    try:
        yield
    except Exception as error:
        cause = library_user_error(error)
        if cause is None:
            raise
        command = " ".join(part for part in (Path(sys.argv[0]).name, subcommand) if part)
        message = str(cause).strip() or type(cause).__name__
        print(f"{command}: error: {message}\n"
              f"(`{command} --help` lists the options, `--print_config` shows the resolved configuration)",
              file=sys.stderr)
        raise SystemExit(2) from None
