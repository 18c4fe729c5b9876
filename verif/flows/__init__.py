"""Verification flows, built on ``verif.hdl`` and ``verif.sim``: regression design specs
(``specs``), the one judge (``judge``: mismatches, reports, waveforms), spec and model values
onto ports (``ports``), programs as oracles (``program_oracle``), the RTL regression
(``regress``), converted-model directories (``model_dir``) and their checks (``converted``), the
release gate (``release``), the main job (``example``) and the primitives demo.
"""
