"""The warehouse box: stage merged into the snowflake model (sql/merge/, type-2 dimensions), and
the export of the warehouse's students that the Spark job reads.

May import the runtime modules and tasks/resources.
"""
