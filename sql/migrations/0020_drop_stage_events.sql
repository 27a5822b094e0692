-- stage.events goes: the page views are validated where they are analysed, in Spark
-- (tasks/analytics/job.py, the events suite on GX's Spark engine), and their valid rows are
-- written once as Parquet in the lake (validated/events/day=<day>/). No step read this table.
-- The rejected lines stay in meta.rejected_rows, the validations in meta.validation_results.
drop table if exists stage.events;
