"""Running the ``da4ml-core`` command in-process, and what a user-facing error must look like."""

from __future__ import annotations

import io

from da4ml_core import cli


def run(args, capsys):
    """main(args) -> (status, stdout, stderr)."""
    out = io.StringIO()
    status = cli.main(list(map(str, args)), out=out)
    err = capsys.readouterr().err
    return status, out.getvalue(), err


def one_line_error(err: str) -> str:
    """The one ``da4ml-core: error: ...`` line of stderr (failing if there are more, or a traceback)."""
    lines = [ln for ln in err.splitlines() if ln.startswith('da4ml-core:')]
    assert len(lines) == 1 and lines[0].startswith('da4ml-core: error: '), err
    assert 'Traceback' not in err
    return lines[0]
