"""The emitted top module read back: signals and widths, primitive instances, registers, buses.

Why: mutants (``verif.flows.mutants``) are edits of this text, so they need to know where each
instance, constant, input slice, register load, table entry and the output concatenation is,
and how wide every signal is, without knowing anything of the primitives' insides. The text is
the emitter's (``da4ml_core.emit.verilog``): one declaration or instance per line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ['INST', 'Instance', 'OUT_LINE', 'REG_LOAD', 'ROM_ENTRY', 'TopModule', 'WIRE', 'bits_for', 'literal_of', 'signed_of']

INST = re.compile(r'^(\s*)(\w+) #\((.*)\) (\w+) \((.*)\);$')
PORT = re.compile(r'\.(\w+)\(([^()]*)\)')
WIRE = re.compile(r'^\s*wire \[(\d+):0\] (\w+)( = (.*))?;$')
REG = re.compile(r'^\s*reg \[(\d+):0\] (\w+);$')
REG_LOAD = re.compile(r'^(\s*)(\w+) <= (\w+);$')
ROM_ENTRY = re.compile(r"^(\s*)(\d+'h[0-9a-f]+): (rom\d+) = (\d+)'h([0-9a-f]+);$")
LITERAL = re.compile(r"^(\d+)'h([0-9a-f]+)$")
SLICE = re.compile(r'^inp\[(\d+)(?::(\d+))?\]$')
OUT_LINE = re.compile(r'^(\s*)assign out = \{(.*)\};$')


def literal_of(text: str) -> tuple[int, int] | None:
    m = LITERAL.match(text)
    return (int(m.group(1)), int(m.group(2), 16)) if m else None


def signed_of(raw: int, width: int) -> int:
    return raw - (1 << width) if raw >> (width - 1) & 1 else raw


def bits_for(value: int, signed: bool) -> int:
    """Width of the smallest field (of that signedness) holding ``value``."""
    if not signed:
        return max(value.bit_length(), 1)
    return max((value if value >= 0 else -value - 1).bit_length() + 1, 1)


@dataclass
class Instance:
    indent: str
    kind: str
    params: dict[str, int]
    inst: str
    ports: dict[str, str]

    def render(self) -> str:
        params = ', '.join(f'.{k}({v})' for k, v in self.params.items())
        ports = ', '.join(f'.{k}({v})' for k, v in self.ports.items())
        return f'{self.indent}{self.kind} #({params}) {self.inst} ({ports});'


class TopModule:
    """The emitted top module read back: widths of every signal, instances, registers, buses."""

    def __init__(self, text: str, name: str):
        self.name = name
        self.lines = text.split('\n')
        self.width: dict[str, int] = {}  # wire / reg name -> width
        self.order: dict[str, int] = {}  # signal -> line where it is declared
        self.consts: dict[str, tuple[int, int]] = {}  # const wire -> (width, raw)
        self.inputs: dict[str, tuple[int, int]] = {}  # input wire -> (hi, lo)
        self.instances: dict[int, Instance] = {}
        self.driver: dict[str, int] = {}  # cell name -> line of its instance
        self.loads: list[int] = []  # lines 'r <= src;'
        self.rom_entries: list[int] = []
        self.out_line = -1
        self.in_width = 0
        for n, line in enumerate(self.lines):
            if (m := re.match(r'^\s*input\s+wire \[(\d+):0\] inp,$', line)):
                self.in_width = int(m.group(1)) + 1
            elif (m := WIRE.match(line)):
                self.width[m.group(2)] = int(m.group(1)) + 1
                self.order[m.group(2)] = n
                rhs = m.group(4)
                if rhs is not None and (lit := literal_of(rhs)):
                    self.consts[m.group(2)] = lit
                elif rhs is not None and (s := SLICE.match(rhs)):
                    hi = int(s.group(1))
                    self.inputs[m.group(2)] = (hi, int(s.group(2)) if s.group(2) else hi)
            elif (m := REG.match(line)):
                self.width[m.group(2)] = int(m.group(1)) + 1
                self.order[m.group(2)] = n
            elif (m := INST.match(line)):
                params = {k: int(v) for k, v in PORT.findall(m.group(3))}
                ports = dict(PORT.findall(m.group(5)))
                self.instances[n] = Instance(m.group(1), m.group(2), params, m.group(4), ports)
                self.driver[ports['out']] = n
            elif REG_LOAD.match(line):
                self.loads.append(n)
            elif ROM_ENTRY.match(line):
                self.rom_entries.append(n)
            elif OUT_LINE.match(line):
                self.out_line = n

    def is_literal(self, operand: str) -> bool:
        return literal_of(operand) is not None

    def kind_of(self, signal: str) -> str | None:
        """'const', 'input', the primitive driving it, or None (a register / unknown)."""
        base = re.sub(r'_s\d+$', '', signal)
        if base in self.consts:
            return 'const'
        if base in self.inputs:
            return 'input'
        line = self.driver.get(base)
        return self.instances[line].kind if line is not None else None

    def instance_of(self, signal: str) -> Instance | None:
        line = self.driver.get(re.sub(r'_s\d+$', '', signal))
        return self.instances[line] if line is not None else None
