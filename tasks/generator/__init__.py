"""The synthetic day (`pdbi generate`): a deterministic BASE A and BASE B in the shapes and
quirks of dataset.md, written into the lake.

day (the public API and BASE A files), world (population and reference data), events (BASE B),
render (JSON fragments), names (vocabulary). May import tasks/entities and tasks/resources.
"""
