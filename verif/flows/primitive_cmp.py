"""The one mutant operator that edits a primitive: a relu's or a mux's own comparison off by one.

Why a copy of the primitive: the comparison a relu (``quantize`` with ``RELU``) or a mux makes
sits inside ``rtl_templates/quantize.v`` / ``mux.v``, which every instance shares, so no edit of
the top module can move it. The mutant is a real file set instead: the shipped primitive's text
(byte for byte what the emitter copies) under a new module name with its comparison moved by one
step, and exactly one instance of the mutated top module switched to it.

- relu: ``v < 0`` (the sign bit) becomes ``v < -1``: one step below zero passes unclamped.
  (``v < 1`` is not offered: it only also clamps 0, to 0, so it is equivalent by construction.)
- mux, signed key: ``key < 0`` becomes ``key < -1``: key = -1 takes b. (``key < 1`` is not
  offered: it only moves key = 0, where the tracer's muxes (max / min as the sign of a
  difference, clamps as the sign of ``v - bound``) have branches of equal value, so it is
  equivalent by construction on the designs they make.)
- mux, unsigned key: ``key >= 2**(WK-1)`` becomes ``2**(WK-1) + 1`` or ``2**(WK-1) - 1`` (for a
  one-bit key: never a, always a).

The key's signedness is read from the top module: its driver's ``SO``, else a reader's ``SA`` /
``SB``; a mux whose key is neither is not offered.
"""

from __future__ import annotations

import re

import rtl_templates

from .top_module import TopModule

__all__ = ['KINDS', 'key_signed', 'mutated_primitive', 'sites_of']

KINDS = ('quantize', 'mux')
_RELU = '((RELU != 0) && v[WI-1])'
_KEY = 'key[WK-1] ?'
_ONE = "{{WK{1'b0}}, 1'b1}"
_FULL = 'wire [WI-1:0] full ='



def key_signed(top: TopModule, key: str) -> bool | None:
    """Whether the mux key ``key`` is read as signed, from the top module's parameters."""
    driver = top.instance_of(key)
    if driver is not None and 'SO' in driver.params:
        return bool(driver.params['SO'])
    base = re.sub(r'_s\d+$', '', key)
    for c in top.instances.values():
        for port, param in (('a', 'SA'), ('b', 'SB')):
            if param in c.params and re.sub(r'_s\d+$', '', c.ports.get(port, '')) == base:
                return bool(c.params[param])
    return None


def sites_of(top: TopModule, kind: str, params: dict, ports: dict) -> list[tuple[str, bool, int, str]]:
    """(kind, key signed, step, what) of every comparison mutant of one instance."""
    if kind == 'quantize' and params.get('RELU'):
        return [('quantize', True, -1, 'relu clamps v < -1 instead of v < 0')]
    if kind != 'mux':
        return []
    signed = key_signed(top, ports['key'])
    if signed is None:
        return []
    if signed:
        return [('mux', True, -1, 'mux takes a when key < -1 instead of key < 0')]
    return [('mux', False, d, f'mux takes a when key >= 2**{params["WK"] - 1} {"+" if d > 0 else "-"} 1')
            for d in (1, -1)]


def _replace_once(text: str, old: str, new: str, kind: str) -> str:
    if text.count(old) != 1:
        raise ValueError(f'rtl_templates/{kind}.v: expected one {old!r}, found {text.count(old)}')
    return text.replace(old, new)


def mutated_primitive(kind: str, module: str, signed: bool, step: int) -> str:
    """The text of primitive ``kind`` as module ``module``, its comparison moved by ``step``."""
    if kind not in KINDS or step not in (1, -1):
        raise ValueError(f'kind={kind!r}, step={step}: expected one of {KINDS} and +-1')
    text = rtl_templates.template_path(f'{kind}.v').read_text()
    text = _replace_once(text, f'module {kind} #(', f'module {module} #(', kind)
    if kind == 'quantize':
        return _replace_once(text, _RELU, "((RELU != 0) && ($signed(v) < $signed({WI{1'b1}})))", kind)
    if signed:  # key sign-extended by one bit, against +-1 at that width
        bound = _ONE if step > 0 else "{(WK + 1){1'b1}}"
        cond = f'($signed({{key[WK-1], key}}) < $signed({bound})) ?'
    else:  # key zero-extended by one bit, against 2**(WK-1) +- 1 at that width
        cond = f"({{1'b0, key}} >= (({_ONE} << (WK - 1)) {'+' if step > 0 else '-'} {_ONE})) ?"
    text = _replace_once(text, _KEY, cond, kind)
    # a one-bit unsigned key against 0 or 2 is a constant comparison: the fault, not a lint finding
    return _replace_once(text, _FULL, f'// verilator lint_off UNSIGNED\n    // verilator lint_off CMPCONST\n    {_FULL}', kind)
