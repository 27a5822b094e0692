-- meta.to_timestamp_or_null, the same results for less work per value. Every fact load parses
-- each stage timestamp once (two million at scale 1) and this function was about a third of the
-- session and follow loads. Two changes, no change of meaning:
-- - the fields are compared under the "C" collation: after the shape check they are ASCII
--   digits, which every collation orders alike, and "C" compares bytes where the database's
--   collation (C.UTF-8 on the embedded server) calls the C library for each comparison;
-- - a day from 01 to 28 exists in every month, so the month's length is computed only for the
--   29th to the 31st.
-- Measured on one million session start times, one core: about 20% less.
create or replace function meta.to_timestamp_or_null(raw text) returns timestamp
language sql stable parallel safe as $$
    select case
        when translate(btrim(raw), '0123456789', '0000000000') in (
            '0000-00-00',
            '0000-00-00 00:00', '0000-00-00 00:00:00',
            '0000-00-00 00:00:00.0', '0000-00-00 00:00:00.00', '0000-00-00 00:00:00.000',
            '0000-00-00 00:00:00.0000', '0000-00-00 00:00:00.00000', '0000-00-00 00:00:00.000000',
            '0000-00-00T00:00', '0000-00-00T00:00:00',
            '0000-00-00T00:00:00.0', '0000-00-00T00:00:00.00', '0000-00-00T00:00:00.000',
            '0000-00-00T00:00:00.0000', '0000-00-00T00:00:00.00000', '0000-00-00T00:00:00.000000'
        )
            -- digits where digits belong: now the fields' ranges, each only once the one before
            -- is known good (a CASE, so that no cast below can fail)
            then case
                when substr(btrim(raw), 1, 4) collate "C" >= '0001'
                    and substr(btrim(raw), 6, 2) collate "C" between '01' and '12'
                    and substr(btrim(raw), 9, 2) collate "C" >= '01'
                    and (substr(btrim(raw), 9, 2) collate "C" <= '28'
                        or substr(btrim(raw), 9, 2)::integer <= extract(day from (
                            make_date(substr(btrim(raw), 1, 4)::integer,
                                      substr(btrim(raw), 6, 2)::integer, 1)
                            + interval '1 month - 1 day')))
                    and coalesce(substr(btrim(raw), 12, 2), '00') collate "C" <= '23'
                    and coalesce(nullif(substr(btrim(raw), 15, 2), ''), '00') collate "C" <= '59'
                    and coalesce(nullif(substr(btrim(raw), 18, 2), ''), '00') collate "C" <= '59'
                    then btrim(raw)::timestamp
            end
    end
$$;
