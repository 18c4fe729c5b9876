"""Bulk cocotb testbench: only runs the clock of a ``replay_tb`` wrapper until it says done.

The stimulus and the output files live outside Python's per-cycle loop (see
``verif.hdl.replay_wrapper``); that is what makes 1e5+ vectors affordable.
"""

from __future__ import annotations

import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, with_timeout

PERIOD_NS = 10


@cocotb.test()
async def run_to_done(dut):
    """Clock the wrapper until ``done``; time out if it never comes."""
    n_cycles = int(os.environ.get('DA4ML_TB_CYCLES', '0'))
    Clock(dut.clk, PERIOD_NS, unit='ns', impl='gpi').start()
    await with_timeout(RisingEdge(dut.done), (n_cycles + 16) * PERIOD_NS, timeout_unit='ns')
    dut._log.info('bulk run done after about %d cycles', n_cycles)
