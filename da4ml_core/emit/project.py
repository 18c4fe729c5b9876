"""Vendor project scripts next to the HDL: Vivado (TCL + XDC) and Quartus (TCL + SDC).

Why: the design is meant for timing closure on a real part, so every emitted directory can be
synthesised out of context with one command (``vivado -mode batch -source <name>_vivado.tcl``,
``quartus_sh -t <name>_quartus.tcl``). Paths are relative to the script, so the directory can
move. VHDL sources are read as VHDL-2008. A pipelined design constrains ``clk``; a combinational one gets a virtual clock with zero
input and output delays, so the reported slack is the inp-to-out path against the period.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ['DEFAULT_DEVICE', 'DEFAULT_FAMILY', 'DEFAULT_PART', 'write_project']

DEFAULT_PART = 'xcvu13p-flga2577-2-e'
DEFAULT_FAMILY = 'Agilex 7'
DEFAULT_DEVICE = 'AGFB014R24B2E2V'


def _constraints(clocked: bool, period: float, data_ports=('inp', 'out')) -> str:
    p = f'{period:g}'
    if clocked:
        return f'create_clock -name clk -period {p} [get_ports clk]\n'
    lines = [
        '# combinational design: a virtual clock times the inp -> out paths',
        f'create_clock -name vclk -period {p}',
        f'set_input_delay -clock vclk 0 [get_ports {{{data_ports[0]}[*]}}]',
        f'set_output_delay -clock vclk 0 [get_ports {{{data_ports[1]}[*]}}]',
    ]
    return '\n'.join(lines) + '\n'


_VIVADO_READ = {'verilog': 'read_verilog', 'vhdl': 'read_vhdl -vhdl2008'}
_QUARTUS_FILE = {'verilog': 'VERILOG_FILE {}', 'vhdl': 'VHDL_FILE {} -hdl_version VHDL_2008'}


def _vivado_tcl(name: str, sources: list[str], part: str, language: str) -> str:
    reads = '\n'.join(f'{_VIVADO_READ[language]} [file join $here {s}]' for s in sources)
    return f"""# Vivado out-of-context synthesis and implementation of {name}
# run: vivado -mode batch -source {name}_vivado.tcl
set here [file dirname [file normalize [info script]]]
set out [file join $here vivado_{name}]
file mkdir $out
{reads}
read_xdc -mode out_of_context [file join $here {name}.xdc]
synth_design -top {name} -part {part} -mode out_of_context -flatten_hierarchy rebuilt
opt_design
place_design
route_design
report_utilization -file [file join $out utilization.rpt]
report_timing_summary -file [file join $out timing.rpt]
"""


def _quartus_tcl(name: str, sources: list[str], family: str, device: str, language: str,
                 data_ports=('inp', 'out')) -> str:
    files = '\n'.join('set_global_assignment -name ' + _QUARTUS_FILE[language].format(f'[file join $here {s}]')
                      for s in sources)
    return f"""# Quartus compilation of {name} (all ports virtual: the design is not tied to pins)
# run: quartus_sh -t {name}_quartus.tcl
package require ::quartus::project
package require ::quartus::flow
set here [file dirname [file normalize [info script]]]
project_new -overwrite -revision {name} [file join $here quartus_{name}]
set_global_assignment -name FAMILY "{family}"
set_global_assignment -name DEVICE {device}
set_global_assignment -name TOP_LEVEL_ENTITY {name}
{files}
set_global_assignment -name SDC_FILE [file join $here {name}.sdc]
set_instance_assignment -name VIRTUAL_PIN ON -to {data_ports[0]}[*]
set_instance_assignment -name VIRTUAL_PIN ON -to {data_ports[1]}[*]
execute_flow -compile
project_close
"""


def write_project(outdir: Path | str, name: str, sources: list[str], clocked: bool,
                  clock_period_ns: float = 5.0, part: str = DEFAULT_PART, family: str = DEFAULT_FAMILY,
                  device: str = DEFAULT_DEVICE, language: str = 'verilog',
                  data_ports: tuple[str, str] = ('inp', 'out')) -> list[Path]:
    """Write ``<name>_vivado.tcl``, ``<name>.xdc``, ``<name>_quartus.tcl``, ``<name>.sdc``;
    ``sources`` are file names inside ``outdir`` in compile order, in ``language``;
    ``data_ports``: the input and output data port patterns (virtual pins in Quartus)."""
    outdir = Path(outdir)
    files = {
        f'{name}_vivado.tcl': _vivado_tcl(name, sources, part, language),
        f'{name}.xdc': _constraints(clocked, clock_period_ns),
        f'{name}_quartus.tcl': _quartus_tcl(name, sources, family, device, language, data_ports),
        f'{name}.sdc': _constraints(clocked, clock_period_ns),
    }
    paths = []
    for fname, text in files.items():
        path = outdir / fname
        path.write_text(text)
        paths.append(path)
    return paths
