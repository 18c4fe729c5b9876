"""Handshake cocotb testbench: the ``valid`` and ``axis`` wrappers (da4ml_core.emit.interface).

``verif.sim.stream`` writes the stimulus and the oracle's expected words with
``verif.hdl.files.save_vectors`` and names the file in ``DA4ML_TB_VECTORS``; ``DA4ML_TB_INTERFACE``
says which wrapper the DUT is, ``DA4ML_TB_RESETS`` how many times the reset is pulsed mid-stream.
A summary (beats in and out per reset epoch, stall cycles) goes to ``DA4ML_TB_OBSERVED``.

A recorder samples every rising edge and keeps the beats that crossed each port: an input beat
on ``ce && in_valid && !rst`` (valid) or ``s_axis_tvalid && s_axis_tready`` (axis), an output beat
on ``ce && out_valid`` / ``m_axis_tvalid && m_axis_tready``. Expected outputs are the oracle's
words for the input beats that went in, in order. Per reset epoch: after the last reset every
beat that went in must come out, exactly and in order; before a reset, what came out is a
prefix of that (the beats in flight are dropped, at most as many as the pipeline holds). So a
lost, repeated, reordered or wrong beat, a ``tlast`` off its beat, or a beat surviving a
reset fails the test. ``valid``: ``ce`` and ``in_valid`` are random; every beat must come out
exactly ``latency`` enabled edges after it went in. ``axis``: ``AxiStreamSource`` and
``AxiStreamSink`` (cocotbext-axi) with random pause generators on both sides, after a first
frame sent without pauses whose beats must go in and out one per cycle at the stated latency.
"""

from __future__ import annotations

import itertools
import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, SimTimeoutError, with_timeout
from cocotb.types import Logic

from verif.hdl.files import load_vectors
from verif.tb.per_cycle import output_port  # `out`, or `\\out\\` in VHDL

MAX_REPORTED = 8
PAUSE = 0.3  # probability of a stalled cycle on each side
RESET_CYCLES = 3
CYCLES_PER_BEAT = 40  # time limit: a stream slower than this (a deadlock) fails
PERIOD_NS = 10


def _bit(handle) -> int:
    value = handle.value
    return int(value) if value.is_resolvable else 0


class Recorder:
    """Every beat that crossed the input and the output port, with its edge and reset epoch.

    The epoch counts reset pulses: beats sampled on the first edge of a pulse still belong to
    the epoch before it, later ones to the next."""

    def __init__(self, dut, kind: str):
        self.dut, self.kind = dut, kind
        self.inputs: list[tuple[int, int, int, int]] = []  # (epoch, edge, word, tlast)
        self.outputs: list[tuple[int, int, int, int]] = []
        self.epoch = 0
        self.edges = 0  # edges counted (valid: only those with ce high)
        self.held_in = 0  # edges on which an offered input beat was not taken
        self.held_out = 0  # edges on which an output beat waited
        self.unstable: list[str] = []  # AXI4-Stream: a waiting master beat changed or was withdrawn
        self._in_reset = False
        self._waiting = None  # (tdata, tlast) of the m_axis beat that was not taken at the last edge

    def _sample(self) -> tuple[bool, bool, bool, bool, bool]:
        """(reset, beat in, beat out, input held back, output held back) at this edge."""
        d = self.dut
        if self.kind == 'valid':
            ce, rst = _bit(d.ce), _bit(d.rst)
            return (bool(rst), bool(ce and _bit(d.in_valid) and not rst), bool(ce and _bit(d.out_valid)),
                    bool(_bit(d.in_valid) and not ce), bool(_bit(d.out_valid) and not ce))
        tvalid, tready = _bit(d.s_axis_tvalid), _bit(d.s_axis_tready)
        mvalid, mready = _bit(d.m_axis_tvalid), _bit(d.m_axis_tready)
        return (not _bit(d.aresetn), bool(tvalid and tready), bool(mvalid and mready), bool(tvalid and not tready),
                bool(mvalid and not mready))

    @staticmethod
    def _word(handle) -> int:
        value = handle.value
        if not value.is_resolvable:
            return -1  # x / z bits
        return int(value) if isinstance(value, Logic) else value.to_unsigned()  # a 1-bit port reads as a Logic

    async def run(self):
        d = self.dut
        axis = self.kind == 'axis'
        in_data, out_data = (d.s_axis_tdata, d.m_axis_tdata) if axis else (d.inp, output_port(d))
        while True:
            await RisingEdge(d.clk)  # the values read now are those the edge sampled
            reset, beat_in, beat_out, held_in, held_out = self._sample()
            if beat_in:
                self.inputs.append((self.epoch, self.edges, self._word(in_data), _bit(d.s_axis_tlast) if axis else 0))
            if beat_out:
                self.outputs.append((self.epoch, self.edges, self._word(out_data), _bit(d.m_axis_tlast) if axis else 0))
            self.held_in += held_in
            self.held_out += held_out
            if axis:
                self._check_stable(reset, out_data)
                self._waiting = (self._word(out_data), _bit(d.m_axis_tlast)) if held_out and not reset else None
            self.edges += 1 if axis else _bit(d.ce)
            if reset and not self._in_reset:
                self.epoch += 1
            self._in_reset = reset

    def _check_stable(self, reset: bool, out_data) -> None:
        """Once m_axis_tvalid is high it stays high, with tdata and tlast unchanged, until taken."""
        if self._waiting is None or reset:
            return
        now = (self._word(out_data), _bit(self.dut.m_axis_tlast))
        if not _bit(self.dut.m_axis_tvalid) or now != self._waiting:
            self.unstable.append(f'edge {self.edges}: m_axis beat {self._waiting} not held (now tvalid '
                                 f'{_bit(self.dut.m_axis_tvalid)}, beat {now})')

    def in_epoch(self, beats, epoch: int | None = None):
        epoch = self.epoch if epoch is None else epoch
        return [b for b in beats if b[0] == epoch]

    def in_flight(self) -> int:
        """Beats of the current epoch that went in and have not come out."""
        return len(self.in_epoch(self.inputs)) - len(self.in_epoch(self.outputs))


async def pulse_reset(dut, kind: str, cycles: int = RESET_CYCLES) -> None:
    """Hold the wrapper's reset (``rst`` high, ``aresetn`` low) for ``cycles`` edges."""
    port, active = (dut.rst, 1) if kind == 'valid' else (dut.aresetn, 0)
    port.value = active
    await ClockCycles(dut.clk, cycles)
    port.value = 1 - active


def check(vf, table: dict[int, int], rec: Recorder, in_flight: int) -> dict:
    """Compare the recorded beats with the oracle's words epoch by epoch; return the summary."""
    in_mask = (1 << vf.in_bus.width) - 1
    problems = rec.unstable[:MAX_REPORTED]
    summary = {'epochs': [], 'held_in_edges': rec.held_in, 'held_out_edges': rec.held_out}
    for e in range(rec.epoch + 1):
        final = e == rec.epoch
        ins, outs = rec.in_epoch(rec.inputs, e), rec.in_epoch(rec.outputs, e)
        want = [(table.get(w & in_mask), last) for _, _, w, last in ins]
        got = [(w, last) for _, _, w, last in outs]
        summary['epochs'].append({'in': len(ins), 'out': len(outs), 'dropped': len(ins) - len(outs)})
        if any(w is None for w, _ in want):
            problems.append(f'epoch {e}: an input beat that is not in the vector file went in')
            continue
        bad = [k for k, (g, w) in enumerate(zip(got, want)) if g != w]
        for k in bad[:MAX_REPORTED]:
            x = ins[k][2] & in_mask
            problems.append(f'epoch {e}, beat {k}: inputs {vf.in_bus.unpack_one(x)} (0x{x:x}) expected '
                            f'{vf.out_bus.unpack_one(want[k][0])} tlast {want[k][1]} got '
                            + ('x/z' if got[k][0] < 0 else f'{vf.out_bus.unpack_one(got[k][0])} (0x{got[k][0]:x})')
                            + f' tlast {got[k][1]}')
        if len(got) > len(want):
            problems.append(f'epoch {e}: {len(got)} beats out for {len(want)} in (repeated or leftover beats)')
        elif final and len(got) < len(want):
            problems.append(f'epoch {e}: {len(want) - len(got)} of {len(want)} beats never came out')
        elif not final and len(want) - len(got) > in_flight:
            problems.append(f'epoch {e}: reset dropped {len(want) - len(got)} beats; the pipeline holds {in_flight}')
    return summary | {'problems': problems}


def _lookup(vf) -> dict[int, int]:
    table: dict[int, int] = {}
    for x, y in zip(vf.inputs, vf.expected):
        if table.setdefault(x, y) != y:
            raise ValueError(f'vector file: input word 0x{x:x} has two expected words')
    return table


async def _valid_test(dut, vf, table, rng: random.Random, n_resets: int, rec: Recorder) -> dict:
    """Present the words with random bubbles on in_valid and random low ce, a word staying on
    inp until an edge takes it; pulse the reset at evenly spaced points with beats in flight."""
    dut.rst.value, dut.ce.value, dut.in_valid.value, dut.inp.value = 1, 1, 0, 0
    await ClockCycles(dut.clk, RESET_CYCLES)
    dut.rst.value = 0
    cocotb.start_soon(rec.run())
    n = len(vf.inputs)
    marks = [n * (k + 1) // (n_resets + 1) for k in range(n_resets)]
    taken = 0
    while taken < n:
        in_valid = int(rng.random() >= PAUSE)
        dut.in_valid.value = in_valid
        dut.ce.value = int(rng.random() >= PAUSE)
        dut.inp.value = vf.inputs[taken]
        await RisingEdge(dut.clk)
        taken += bool(_bit(dut.ce) and in_valid)  # values written before this edge, rst low here
        if marks and taken >= marks[0] and rec.in_flight() > 0:
            marks.pop(0)
            dut.ce.value = 0  # the beats in flight are not taken at the reset edge: the reset drops them
            await pulse_reset(dut, 'valid')
    dut.in_valid.value, dut.ce.value = 0, 1  # drain
    await ClockCycles(dut.clk, vf.latency + 4)
    summary = check(vf, table, rec, vf.latency)
    for e in range(rec.epoch + 1):
        ins, outs = rec.in_epoch(rec.inputs, e), rec.in_epoch(rec.outputs, e)
        late = [k for k, (i, o) in enumerate(zip(ins, outs)) if o[1] - i[1] != vf.latency]
        if late:
            k = late[0]
            summary['problems'].append(f'epoch {e}: beat {k} came out {outs[k][1] - ins[k][1]} enabled edges '
                                       f'after it went in, not {vf.latency}')
    return summary


def _frames(words: list[int], rng: random.Random, pad_bits: int, width: int) -> list[list[int]]:
    """The words split into frames of 1..8 beats, random bits above the bus in every word."""
    frames, k = [], 0
    while k < len(words):
        size = rng.randint(1, 8)
        frames.append([w | (rng.getrandbits(pad_bits) << width if pad_bits else 0) for w in words[k:k + size]])
        k += size
    return frames


def _pauses(rng: random.Random):
    return (rng.random() < PAUSE for _ in itertools.count())


async def _axis_test(dut, vf, table, rng: random.Random, n_resets: int, rec: Recorder) -> dict:
    from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

    dut.aresetn.value = 0
    await ClockCycles(dut.clk, RESET_CYCLES)  # tready and tvalid are known from the first reset edge on
    # one whole bus word per tdata item; the models get no reset: the wrapper must refuse beats
    # during its reset by itself (a model in reset would flush its frame)
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, 's_axis'), dut.clk, byte_lanes=1)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, 'm_axis'), dut.clk, byte_lanes=1)
    in_w = vf.in_bus.width
    frames = _frames(vf.inputs, rng, len(dut.s_axis_tdata) - in_w, in_w)
    dut.aresetn.value = 1
    cocotb.start_soon(rec.run())
    first = frames[0]
    await source.send(AxiStreamFrame(first))
    await sink.recv()  # the first frame without pauses: II = 1 and the stated latency
    ins, outs = rec.inputs[:len(first)], rec.outputs[:len(first)]
    problems = []
    if [b[1] for b in ins] != list(range(ins[0][1], ins[0][1] + len(first))) or \
            [b[1] for b in outs] != [b[1] + vf.latency for b in ins]:
        problems.append(f'first frame ({len(first)} beats, no pauses): in at edges {[b[1] for b in ins]}, out at '
                        f'{[b[1] for b in outs]}; expected one per edge, {vf.latency} edges later')
    source.set_pause_generator(_pauses(rng))
    sink.set_pause_generator(_pauses(rng))
    rest = frames[1:]
    for frame in rest:
        source.send_nowait(AxiStreamFrame(frame))
    total = len(vf.inputs)
    for k in range(n_resets):  # reset at evenly spaced points, with beats in flight
        mark = len(first) + (total - len(first)) * (k + 1) // (n_resets + 1)
        while len(rec.inputs) < mark:
            await RisingEdge(dut.clk)
        # two in flight: one may still leave on the reset edge, the other is surely dropped
        for _ in range(1000):
            if rec.in_flight() >= 2:
                break
            await RisingEdge(dut.clk)
        await pulse_reset(dut, 'axis')
    await source.wait()
    for _ in range(100 * (vf.latency + 8) + 10 * len(vf.inputs)):
        if rec.in_flight() <= 0:
            break
        await RisingEdge(dut.clk)
    await ClockCycles(dut.clk, 4)
    summary = check(vf, table, rec, vf.latency + 1)
    received = []
    while not sink.empty():
        received += sink.recv_nowait().tdata
    if received != [w for _, _, w, _ in rec.outputs[len(first):]]:
        problems.append('the sink received other beats than crossed m_axis')
    summary['problems'] = problems + summary['problems']
    return summary


@cocotb.test()
async def check_stream(dut):
    """Stream every stored vector through the wrapper; fail on any lost, repeated or wrong beat."""
    vf = load_vectors(os.environ['DA4ML_TB_VECTORS'])
    table = _lookup(vf)
    kind = os.environ['DA4ML_TB_INTERFACE']
    n_resets = int(os.environ.get('DA4ML_TB_RESETS', '1'))
    rng = random.Random(cocotb.RANDOM_SEED)
    Clock(dut.clk, PERIOD_NS, unit='ns').start()
    test = {'valid': _valid_test, 'axis': _axis_test}[kind]
    rec = Recorder(dut, kind)
    limit = (len(vf.inputs) + 50 * (n_resets + 1)) * CYCLES_PER_BEAT + 100 * vf.latency
    try:
        summary = await with_timeout(test(dut, vf, table, rng, n_resets, rec), limit * PERIOD_NS, 'ns')
    except SimTimeoutError:
        summary = check(vf, table, rec, vf.latency + 1)
        summary['problems'].insert(0, f'timed out after {limit} cycles (a deadlock?): {len(rec.inputs)} of '
                                      f'{len(vf.inputs)} beats went in, {len(rec.outputs)} came out')
    if os.environ.get('DA4ML_TB_OBSERVED'):
        with open(os.environ['DA4ML_TB_OBSERVED'], 'w') as fh:
            json.dump(summary, fh)
    dut._log.info('%s: %s', kind, {k: v for k, v in summary.items() if k != 'problems'})
    assert not summary['problems'], '\n'.join(summary['problems'])
