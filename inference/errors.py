"""Error types shared by every layer.

The library raises; only the command line (policy_clauses.cli) turns these into messages and
exit codes. ``UserError`` is for what the user can fix (a bad path, a bad option, a model
folder that does not match the code): one line, no traceback. Anything else is a bug or an
outside failure and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix: printed as one line naming the file and what to do."""
