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


SMALL_MODEL_KIF = ('--input-kif', '1', '2', '3')


def small_model(path) -> None:
    """Save a 5-input, 3-output HGQ2 QDense model (SAT / RND input quantizer) to ``path``; it
    converts in seconds and needs ``SMALL_MODEL_KIF`` for its ports."""
    import keras
    from hgq.layers import QDense
    from hgq.quantizer.config import QuantizerConfig

    keras.utils.set_random_seed(3)
    inp = keras.Input((5,))
    iq = QuantizerConfig('kif', 'datalane', overflow_mode='SAT', round_mode='RND', i0=2, f0=3)
    keras.Model(inp, QDense(3, iq_conf=iq, name='d')(inp), name='tiny_net').save(path)
