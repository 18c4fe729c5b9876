"""Per-cycle cocotb testbench: a driver, a monitor and a checker around a flat-bus DUT.

``verif.sim.per_cycle`` writes stimulus and expected words with ``verif.hdl.files.save_vectors`` and
names the file in ``DA4ML_TB_VECTORS``; the observed words are written back (hex, one per
line) to ``DA4ML_TB_OBSERVED`` if set, so callers can inspect them. A combinational DUT
without ``clk`` gets one vector per 1 ns step; a clocked one gets one per clock, with its
output checked ``latency`` clocks later.
"""

from __future__ import annotations

import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge, Timer
from cocotb.types import Logic

from verif.hdl.bus import Bus
from verif.hdl.files import load_vectors, write_hex

MAX_REPORTED = 8


class Driver:
    """Puts one input word on ``inp`` per call."""

    def __init__(self, dut):
        self.port = dut.inp

    def drive(self, word: int) -> None:
        self.port.value = word


def output_port(dut):
    """``out``; in VHDL, where ``out`` is reserved, the extended identifier ``\\out\\``."""
    try:
        return dut.out
    except AttributeError:
        return dut['\\out\\']


class Monitor:
    """Reads ``out`` as an unsigned word; None when any bit is x or z."""

    def __init__(self, dut):
        self.port = output_port(dut)
        self.observed: list[int | None] = []

    def sample(self) -> None:
        value = self.port.value
        if not value.is_resolvable:
            self.observed.append(None)
        else:  # a 1-bit port reads as a Logic, which has no to_unsigned()
            self.observed.append(int(value) if isinstance(value, Logic) else value.to_unsigned())


class Checker:
    """Compares observed against expected words and explains the first few differences."""

    def __init__(self, in_bus: Bus, out_bus: Bus):
        self.in_bus, self.out_bus = in_bus, out_bus
        self.mismatches: list[tuple[int, int, int, int | None]] = []

    def compare(self, inputs: list[int], expected: list[int], observed: list[int | None]) -> None:
        for k, (x, want, got) in enumerate(zip(inputs, expected, observed)):
            if want != got:
                self.mismatches.append((k, x, want, got))

    def report(self) -> str:
        shown = min(MAX_REPORTED, len(self.mismatches))
        lines = [f'{len(self.mismatches)} mismatching vectors; first {shown}:']
        for k, x, want, got in self.mismatches[:MAX_REPORTED]:
            got_s = 'x/z' if got is None else f'{self.out_bus.unpack_one(got)} (0x{got:x})'
            lines.append(
                f'  vector {k}: inputs {self.in_bus.unpack_one(x)} expected '
                f'{self.out_bus.unpack_one(want)} (0x{want:x}) got {got_s}'
            )
        return '\n'.join(lines)


@cocotb.test()
async def check_vectors(dut):
    """Drive every stored vector, collect the outputs, fail on any mismatch."""
    vf = load_vectors(os.environ['DA4ML_TB_VECTORS'])
    driver, monitor = Driver(dut), Monitor(dut)
    n = len(vf.inputs)
    if vf.clocked:
        Clock(dut.clk, 10, unit='ns').start()
        for cycle in range(n + vf.latency):
            await RisingEdge(dut.clk)
            if cycle < n:
                driver.drive(vf.inputs[cycle])
            await ReadOnly()
            if cycle >= vf.latency:
                monitor.sample()
    else:
        step = Timer(1, unit='ns')
        for word in vf.inputs:
            driver.drive(word)
            await step
            monitor.sample()
    if os.environ.get('DA4ML_TB_OBSERVED'):
        write_hex(os.environ['DA4ML_TB_OBSERVED'], monitor.observed, vf.out_bus.hex_digits)
    board = Checker(vf.in_bus, vf.out_bus)
    board.compare(vf.inputs, vf.expected, monitor.observed)
    dut._log.info('checked %d vectors, %d mismatches', n, len(board.mismatches))
    assert len(monitor.observed) == n, f'monitor saw {len(monitor.observed)} outputs for {n} vectors'
    assert not board.mismatches, board.report()
