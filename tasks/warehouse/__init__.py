"""The warehouse box: stage merged into the snowflake model (sql/merge/, type-2 dimensions), the
days it holds and the replay of later ones (history), the guards before the merges, and the
export of the students as of a day that the Spark job reads.

May import the runtime modules and tasks/resources.
"""
