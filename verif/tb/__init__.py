"""cocotb testbenches; each module is a cocotb test module named by ``verif.sim.run``."""
