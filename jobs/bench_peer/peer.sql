-- The peer: the gold numbers as an analyst with DuckDB would compute them, straight from the
-- landing CSVs. No contracts, no quarantine, no linkage, no Delta: one pass of SQL.
-- Variables (SET VARIABLE, by jobs/bench_peer/__init__.py from conf/base/*.yml): landing,
-- merge_gap_minutes, holding_purposes, holding_null_counts, shielding_min_hours, point_measures,
-- admission_measures, target_measures, readmission_days, prior_contact_days, window_before_days,
-- window_after_days. Person = the person_id the record carries (no probabilistic linkage).

-- every version of every record of a source, with the file (so the delivery) it came in
CREATE TEMP MACRO versions(src) AS TABLE
    SELECT * FROM read_csv(getvariable('landing') || '/' || src || '/*/part-*.csv', delim = ';', quote = '"',
                           header = true, all_varchar = true, filename = true);
-- each source's CSVs parsed once
CREATE TEMP TABLE v_population AS FROM versions('population');
CREATE TEMP TABLE v_residence AS FROM versions('residence');
CREATE TEMP TABLE v_psych_contacts AS FROM versions('psych_contacts');
CREATE TEMP TABLE v_coercion AS FROM versions('coercion');
CREATE TEMP TABLE v_discharge_plans AS FROM versions('discharge_plans');
CREATE TEMP TABLE v_social_services AS FROM versions('social_services');
CREATE TEMP TABLE v_social_force_use AS FROM versions('social_force_use');
CREATE TEMP TABLE v_police AS FROM versions('police');
-- current state: the greatest updated_at (ties: the later delivery); annulled records removed
CREATE TEMP MACRO current_of(src) AS TABLE
    SELECT * EXCLUDE (filename) FROM (
        FROM query_table('v_' || src)
        QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY updated_at DESC, filename DESC) = 1)
    WHERE record_status = 'A';
CREATE TEMP MACRO usable_id(p) AS regexp_full_match(coalesce(p, ''), '[0-9a-f]{16}|E[0-9a-f]{15}');
CREATE TEMP MACRO us(x) AS CAST(round(x) AS BIGINT);  -- microseconds, as the pipeline compares them

CREATE TEMP TABLE rows_read AS
    SELECT 'population' AS src, count(*) AS n FROM v_population
    UNION ALL SELECT 'residence', count(*) FROM v_residence
    UNION ALL SELECT 'psych_contacts', count(*) FROM v_psych_contacts
    UNION ALL SELECT 'coercion', count(*) FROM v_coercion
    UNION ALL SELECT 'discharge_plans', count(*) FROM v_discharge_plans
    UNION ALL SELECT 'social_services', count(*) FROM v_social_services
    UNION ALL SELECT 'social_force_use', count(*) FROM v_social_force_use
    UNION ALL SELECT 'police', count(*) FROM v_police;

CREATE TEMP TABLE contacts AS
    SELECT record_id, person_id, start_ts::TIMESTAMP AS start_ts, end_ts::TIMESTAMP AS end_ts
    FROM current_of('psych_contacts');

-- every event of a person, by sector (the ±365-day window counts below)
CREATE TEMP TABLE events AS
    SELECT 'health' AS sector, 'psych_contacts' AS src, person_id, start_ts AS t FROM contacts
    UNION ALL SELECT 'health', 'coercion', person_id, start_ts::TIMESTAMP FROM current_of('coercion')
    UNION ALL SELECT 'health', 'discharge_plans', person_id, created_date::TIMESTAMP FROM current_of('discharge_plans')
    UNION ALL SELECT 'social', 'social_services', person_id, start_date::TIMESTAMP FROM current_of('social_services')
    UNION ALL SELECT 'social', 'social_force_use', person_id, event_ts::TIMESTAMP FROM current_of('social_force_use')
    UNION ALL SELECT 'police', 'police', person_id, event_ts::TIMESTAMP FROM current_of('police');

-- coercion registrations that count (holding only for the configured purposes), with the end
-- that merging uses: a point measure ends at its start; an end before the start is the start
CREATE TEMP TABLE registrations AS
    SELECT person_id, measure, record_id, contact_record_id, start_ts, end_ts,
           CASE WHEN measure IN (SELECT unnest(getvariable('point_measures'))) THEN start_ts
                ELSE greatest(start_ts, end_ts) END AS eff_end,
           measure NOT IN (SELECT unnest(getvariable('point_measures'))) AND end_ts IS NULL AS is_open
    FROM (SELECT person_id, measure, record_id, contact_record_id, holding_purpose,
                 start_ts::TIMESTAMP AS start_ts, end_ts::TIMESTAMP AS end_ts FROM current_of('coercion'))
    WHERE measure <> 'physical_holding'
       OR holding_purpose IN (SELECT unnest(getvariable('holding_purposes')))
       OR (holding_purpose IS NULL AND getvariable('holding_null_counts'));

-- episodes: a registration starting less than merge_gap_minutes after the open episode's end
-- so far (or after an open-ended one) joins it
CREATE TEMP TABLE episodes AS
    WITH flagged AS (
        SELECT *, NOT coalesce(bool_or(is_open) OVER w, false)
                  AND (max(eff_end) OVER w IS NULL
                       OR epoch_us(start_ts) - epoch_us(max(eff_end) OVER w)
                          >= us(getvariable('merge_gap_minutes') * 60e6)) AS starts_new
        FROM registrations
        WINDOW w AS (PARTITION BY person_id, measure ORDER BY start_ts, record_id
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)),
    numbered AS (
        SELECT *, sum(starts_new::INT) OVER (PARTITION BY person_id, measure ORDER BY start_ts, record_id
                                             ROWS UNBOUNDED PRECEDING) AS episode_no FROM flagged)
    SELECT person_id, measure, min(start_ts) AS start_ts,
           CASE WHEN bool_or(is_open) THEN NULL ELSE max(eff_end) END AS end_ts,
           arg_min(contact_record_id, (start_ts, record_id)) AS contact_record_id
    FROM numbered GROUP BY person_id, measure, episode_no;
ALTER TABLE episodes ADD COLUMN counts BOOLEAN;
UPDATE episodes SET counts = measure <> 'personal_shielding' OR end_ts IS NULL
    OR epoch_us(end_ts) - epoch_us(start_ts) > us(getvariable('shielding_min_hours') * 3600e6);

-- involuntary admissions: discharge = end of the admission's own contact, else its own end
CREATE TEMP TABLE admissions AS
    SELECT row_number() OVER () AS admission_no, e.person_id, e.start_ts, e.contact_record_id,
           coalesce(c.end_ts, e.end_ts) AS discharge_ts
    FROM episodes e LEFT JOIN contacts c ON c.record_id = e.contact_record_id AND c.person_id = e.person_id
    WHERE e.measure IN (SELECT unnest(getvariable('admission_measures')));

CREATE TEMP TABLE admission_facts AS
    SELECT a.*,
        EXISTS (SELECT 1 FROM admissions o WHERE o.person_id = a.person_id AND o.admission_no <> a.admission_no
                AND epoch_us(o.start_ts) - epoch_us(a.discharge_ts) > 0
                AND epoch_us(o.start_ts) - epoch_us(a.discharge_ts) <= us(getvariable('readmission_days') * 86400e6))
            AS readmitted,
        EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = a.person_id
                AND c.record_id IS DISTINCT FROM a.contact_record_id
                AND epoch_us(a.start_ts) - epoch_us(c.start_ts) > 0
                AND epoch_us(a.start_ts) - epoch_us(c.start_ts) <= us(getvariable('prior_contact_days') * 86400e6))
            AS prior_contact
    FROM admissions a;

-- population on 1 January: current register persons born by then, alive, resident somewhere
CREATE TEMP TABLE population AS
    WITH years AS (SELECT DISTINCT year(start_ts) AS year FROM episodes WHERE counts)
    SELECT y.year, count(DISTINCT p.person_id) AS population
    FROM years y
    JOIN current_of('population') p ON p.birth_date::DATE <= make_date(y.year, 1, 1)
         AND (p.death_date IS NULL OR p.death_date::DATE >= make_date(y.year, 1, 1))
    JOIN current_of('residence') r ON r.person_id = p.person_id AND r.valid_from::DATE <= make_date(y.year, 1, 1)
         AND (r.valid_to IS NULL OR r.valid_to::DATE >= make_date(y.year, 1, 1))
    GROUP BY y.year;

-- the gold numbers, long format: (metric, year, key, value)
SELECT 'T1_episodes' AS metric, year(start_ts) AS year, NULL AS key, count(*)::DOUBLE AS value FROM episodes
    WHERE counts AND measure IN (SELECT unnest(getvariable('target_measures'))) GROUP BY ALL
UNION ALL SELECT 'T1_population', year, NULL, population FROM population
UNION ALL SELECT 'T1_rate', p.year, NULL, count(e.start_ts) * 100000.0 / p.population FROM population p
    LEFT JOIN episodes e ON year(e.start_ts) = p.year AND e.counts
         AND e.measure IN (SELECT unnest(getvariable('target_measures'))) GROUP BY p.year, p.population
UNION ALL SELECT 'episodes', year(start_ts), NULL, count(*) FROM episodes WHERE counts GROUP BY ALL
UNION ALL SELECT 'admissions', year(start_ts), NULL, count(*) FROM admission_facts GROUP BY ALL
UNION ALL SELECT 'readmitted_30d', year(start_ts), NULL, count(*) FILTER (readmitted) FROM admission_facts GROUP BY ALL
UNION ALL SELECT 'prior_contact_90d', year(start_ts), NULL, count(*) FILTER (prior_contact) FROM admission_facts
    GROUP BY ALL
UNION ALL SELECT 'timeline_events', NULL, ev.sector, count(*) FROM admissions a JOIN events ev
    ON ev.person_id = a.person_id
    AND epoch_us(a.start_ts) - epoch_us(ev.t) <= us(getvariable('window_before_days') * 86400e6)
    AND epoch_us(ev.t) - epoch_us(coalesce(a.discharge_ts, a.start_ts)) <= us(getvariable('window_after_days') * 86400e6)
    GROUP BY ALL
UNION ALL SELECT 'records_not_joinable', NULL, src, count(*) FILTER (NOT usable_id(person_id)) FROM events GROUP BY ALL
UNION ALL SELECT 'rows_read', NULL, src, n FROM rows_read
ORDER BY metric, year, key;
