"""The lake box: which of a day's files are new (extract, the manifest meta.ingested_files) and
the backup of raw files to temp/<day>/raw/.

Owns the zones' bookkeeping, not their I/O: files are opened through tasks/resources/lake.py.
May import the runtime modules and tasks/resources.
"""
