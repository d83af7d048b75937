-- Shared helpers for the regression suite, and the extension's footprint.
\set VERBOSITY terse

SELECT extname, extversion FROM pg_extension WHERE extname = 'fluss_grid';
SELECT n.nspname, e.extname
  FROM pg_namespace n
  JOIN pg_depend d ON d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid
 WHERE n.nspname = 'fluss_grid';

-- preloaded (test/fluss_grid.conf): a worker runs for this database
SELECT fluss_grid.start_worker();
SELECT name, setting FROM pg_settings WHERE name LIKE 'fluss\_grid.%' ORDER BY name;

-- fg_check(rollup or view, reference query): 'ok' when the user columns of
-- the relation equal the reference rows exactly, floats and numerics
-- compared to 6 decimals (any summation order agrees to that).
CREATE FUNCTION fg_check(rel regclass, ref text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    cols text;
    n bigint;
BEGIN
    SELECT string_agg(CASE
             WHEN atttypid IN ('float8'::regtype, 'float4'::regtype, 'numeric'::regtype)
             THEN format('round(%I::numeric, 6) AS %I', attname, attname)
             ELSE quote_ident(attname) END, ', ' ORDER BY attnum)
      INTO cols
      FROM pg_attribute
     WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped
       AND attname NOT LIKE '\_fg\_%';
    EXECUTE format('SELECT count(*) FROM ((SELECT %1$s FROM %2$s EXCEPT ALL SELECT %1$s FROM (%3$s) r)'
                   ' UNION ALL (SELECT %1$s FROM (%3$s) r EXCEPT ALL SELECT %1$s FROM %2$s)) d',
                   cols, rel, ref) INTO n;
    RETURN CASE WHEN n = 0 THEN 'ok' ELSE n || ' rows differ' END;
END
$$;

-- user-visible columns of a relation, with types
CREATE FUNCTION fg_columns(rel regclass) RETURNS TABLE (col name, typ text)
LANGUAGE sql AS $$
    SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
     WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped
     ORDER BY attnum
$$;
