"""The stage box: a source's lake files parsed into Arrow, landed in PostgreSQL, validated
there by Great Expectations, the valid rows moved into stage.<source>, the rejected rows
quarantined, the counts reconciled, in one transaction.

parse (JSON arrays and lines into Arrow), land (the landing table, COPY, split, move),
quarantine (rejected rows), load (the stage task). May import the runtime modules,
tasks/resources and tasks/quality.
"""
