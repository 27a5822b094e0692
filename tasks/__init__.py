"""The work of the pipeline, one package per box of the README diagram.

Runtime (this folder's modules): settings, errors, entities, retry, run_date, run_lock,
preflight, summary. Boxes: lake/, quality/, stage/, warehouse/, analytics/, and generator/ for
the synthetic data. resources/ alone opens files, connections, Spark and the Prefect API.
Imports point one way, never in a circle (tests/unit/test_import_cycles.py): runtime and
resources below, the boxes above them, flows/ on top.
"""
