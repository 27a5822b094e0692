-- The case study's three outputs in DuckDB, by the rules of tasks/analytics/outputs.py, for
-- bench/spark.py. Views `events` (read_json, both key spellings) and `students` (the export's
-- Parquet) are created by the benchmark. Each block is one COPY'd query, named by its file.

-- name: country
with identified as (
    select lower(trim(country)) as country
    from events
    where trim("studentId_clientType") <> ''
)
select country, count(*) as count
from identified
where country <> '' and country <> 'br'
group by country
order by count desc, country;

-- name: users
with identified as (
    select case custom_4
        when 'CoreUser' then 'Core User'
        when 'CasualUser' then 'Casual User'
        when 'ColdUser' then 'Cold User'
        when 'NewUser' then 'New User'
        else custom_4
    end as custom_4
    from events
    where trim("studentId_clientType") <> ''
)
select custom_4, count(*) as count
from identified
where custom_4 is not null
group by custom_4
order by count desc, custom_4;

-- name: full
with keyed as (
    select *, trim("studentId_clientType") as sic, strpos(trim("studentId_clientType"), '@') as at_sign
    from events
    where trim("studentId_clientType") <> ''
),
identified as (
    select
        case when at_sign > 0 then substr(sic, 1, at_sign - 1) else sic end as student_id,
        case when at_sign > 0 then substr(sic, at_sign + 1) end as client,
        "at",
        browser,
        country,
        case custom_4
            when 'CoreUser' then 'Core User'
            when 'CasualUser' then 'Casual User'
            when 'ColdUser' then 'Cold User'
            when 'NewUser' then 'New User'
            else custom_4
        end as custom_4,
        coalesce("Page Name", "PageName") as page_name,
        coalesce("Last Accessed Url", "LastAccessedUrl") as last_accessed_url
    from keyed
)
select distinct
    i.student_id, i.client, i.at, i.browser, i.country, i.custom_4, i.page_name,
    i.last_accessed_url, s.state, s.city, s.university, s.course
from identified as i
join students as s on s.student_id = i.student_id
order by
    1 nulls first, 3 nulls first, 7 nulls first, 8 nulls first, 2 nulls first,
    4 nulls first, 5 nulls first, 6 nulls first, 9 nulls first, 10 nulls first,
    11 nulls first, 12 nulls first;
