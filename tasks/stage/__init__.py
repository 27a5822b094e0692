"""The stage box: a source's lake files parsed, validated against its suite, COPYed into
stage.<source>, the rejected rows quarantined, the counts reconciled, in one transaction.

parse (JSON arrays and lines), batch (records as stage text), file_validation (a suite over a
file), quarantine (rejected rows), load (the stage task). May import the runtime modules,
tasks/resources and tasks/quality.
"""
