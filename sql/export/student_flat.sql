-- The students Spark joins events with: one row per current student, names resolved.
-- Read with COPY ... TO STDOUT by tasks/warehouse/export.py. params: none.
select student_id, state, city, university, course
from dw.student_flat
order by student_id
