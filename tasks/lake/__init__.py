"""The lake box: which of a day's files are new (extract, the manifest meta.ingested_files), the
backup of raw files to temp/<day>/raw/, the archive of the exports a load took in
temp/<day>/transactional/ (what a replay reads), and the days a nightly run catches up.

Owns the zones' bookkeeping, not their I/O: files are opened through tasks/resources/lake.py.
May import the runtime modules and tasks/resources.
"""
