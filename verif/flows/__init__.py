"""Verification flows, built on ``verif.hdl`` and ``verif.sim``: regression design specs
(``specs``), the one judge (``judge``: mismatches, reports, waveforms), spec and model values
onto ports (``ports``), programs as oracles (``program_oracle``), the RTL regression
(``regress``), converted-model directories (``model_dir``) and their checks (``converted``;
``interface_check`` for designs behind a valid / axis wrapper), the release gate (``release``)
and its bundles' standalone testbench (``bundle_tb``), the main job (``example``) and the
primitives demo.
"""
