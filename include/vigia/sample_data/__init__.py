"""Deterministic sample sources for every pipeline (seeded, with a size knob).

Run ``python -m vigia.sample_data --help``. Each pipeline adds its own module
here with a ``generate(...)`` function and a ``write(...)`` that loads it into
a source connection; ``__main__`` wires them to the command line.
"""
