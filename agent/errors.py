"""The one exception type for mistakes a user can fix (bad config, bad option, bad path).

The CLI prints its message as one line and exits 2; everything else is a bug and may traceback.
"""


class UserError(Exception):
    exit_code = 2
