"""What the file system says about a user's file before it is opened."""

from __future__ import annotations

import stat

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_kind(mode: int) -> str | None:
    """'a directory', 'a named pipe (FIFO)', a device or a socket for `os.stat(...).st_mode`;
    None for a regular file. Reading one of those blocks for a writer or never ends, and its
    st_size says nothing."""
    return next((name for test, name in _KINDS if test(mode)), None)
