-- max_wal_senders: minimal WAL requires that no WAL is sent to a replica (see wal_level.sql).
alter system set max_wal_senders = 0
