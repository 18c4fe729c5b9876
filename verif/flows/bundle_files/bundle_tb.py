"""cocotb testbench of a release bundle: the stored stimulus through the design, compared with the
stored expected outputs.

Reads only files of the bundle (``BUNDLE_DIR``, default the directory above this one):
``metadata.json`` (top module, ports, latency), ``tb/stimulus.hex`` and ``tb/expected.hex``
(one bus word per line, hex, element 0 at the LSB). A pipelined design gets one word per clock
and its output is read ``latency_cycles`` clocks later; a combinational one gets one word per
nanosecond. Written to run without the compiler that produced the design.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge, Timer
from cocotb.types import Logic

BUNDLE = Path(os.environ.get('BUNDLE_DIR') or Path(__file__).resolve().parent.parent)
MAX_REPORTED = 8


def read_words(path: Path) -> list[int]:
    return [int(line, 16) for line in path.read_text().split()]


def unpack(elements: list[dict], word: int) -> list[int]:
    """The element values of a bus word (two's complement where signed)."""
    values = []
    for e in elements:
        v = (word >> e['offset']) & ((1 << e['width']) - 1)
        values.append(v - (1 << e['width']) if e['signed'] and v >> (e['width'] - 1) else v)
    return values


def sample(port) -> int | None:
    value = port.value
    if not value.is_resolvable:
        return None
    return int(value) if isinstance(value, Logic) else value.to_unsigned()  # a 1-bit port reads as a Logic


@cocotb.test()
async def stored_vectors(dut):
    """Every stored stimulus word in, every output word equal to the stored expected word."""
    meta = json.loads((BUNDLE / 'metadata.json').read_text())
    stimulus = read_words(BUNDLE / 'tb' / 'stimulus.hex')
    expected = read_words(BUNDLE / 'tb' / 'expected.hex')
    assert len(stimulus) == len(expected) > 0, f'{len(stimulus)} stimulus words, {len(expected)} expected'
    observed: list[int | None] = []
    if meta['clocked']:
        latency = int(meta['latency_cycles'])
        Clock(dut.clk, 10, unit='ns').start()
        for cycle in range(len(stimulus) + latency):
            await RisingEdge(dut.clk)
            if cycle < len(stimulus):
                dut.inp.value = stimulus[cycle]
            await ReadOnly()
            if cycle >= latency:
                observed.append(sample(dut.out))
    else:
        for word in stimulus:
            dut.inp.value = word
            await Timer(1, unit='ns')
            observed.append(sample(dut.out))
    bad = [k for k, (want, got) in enumerate(zip(expected, observed)) if want != got]
    lines = [f'{len(bad)} of {len(expected)} vectors differ; first {min(len(bad), MAX_REPORTED)}:']
    for k in bad[:MAX_REPORTED]:
        got = 'x/z' if observed[k] is None else f'{unpack(meta["outputs"], observed[k])} (0x{observed[k]:x})'
        lines.append(f'  vector {k}: inputs {unpack(meta["inputs"], stimulus[k])} expected '
                     f'{unpack(meta["outputs"], expected[k])} (0x{expected[k]:x}) got {got}')
    dut._log.info('%s: %d vectors, %d differ', meta['top'], len(expected), len(bad))
    assert not bad, '\n'.join(lines)
