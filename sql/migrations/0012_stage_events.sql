-- stage.events: the day's page views (BASE B, raw/<day>/part-*.json) that passed the events
-- suite, every key as text, spaced and unspaced spellings in one column. Replaced whole on every
-- load; the Spark job still reads the raw files, this table is the validated copy for SQL.
create table stage.events (
    uuid text, at text, name text, type text, student_id_client_type text, user_type text,
    custom_1 text, custom_2 text, custom_3 text, custom_4 text,
    page_name text, page_category text, page_category_1 text, page_category_2 text,
    page_category_3 text, last_accessed_url text, first_accessed_page text,
    country text, region text, city_name text, platform text, browser text, os_ver text,
    model text, carrier text, language text, library_ver text, device_new text,
    install_uuid text, session_uuid text, nth text, clv_total text,
    marketing_source text, marketing_medium text, marketing_campaign text,
    source_file text not null, source_row bigint not null, load_id text not null
);
