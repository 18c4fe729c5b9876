"""The design side of the harness: buses, vector files, the one stimulus generator, the
:class:`~verif.hdl.design.Design` type, primitive tops and the one replay wrapper (Verilog text).

Nothing here runs a simulator (that is ``verif.sim``) or decides pass / fail (``verif.flows``).
Submodules are imported by name: the per-cycle testbench imports ``bus`` and ``files`` inside
the simulator, where numpy is not wanted.
"""
