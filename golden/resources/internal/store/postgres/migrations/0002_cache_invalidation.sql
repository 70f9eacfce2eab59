-- Cache invalidation across replicas. Each replica of the service caches
-- rows in its own memory; these functions tell all of them which rows
-- changed, whoever changed them (the service on any replica, a migration, a
-- psql session), with a NOTIFY on channel cache_invalidation that the
-- service's listener hears. Postgres sends it when the writing transaction
-- commits, and only then.
--
-- Payload: '<table>:<id>' for each updated or deleted row (both ids when an
-- UPDATE changes the id), '<table>' after a TRUNCATE (drop every key).
-- Inserts send nothing: a cache keeps only rows it found.
--
-- Every Postgres project has this migration, whether its cache is on or
-- off, so turning the cache on or off never changes the schema's history.
CREATE FUNCTION cache_invalidate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('cache_invalidation', TG_TABLE_NAME);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('cache_invalidation', TG_TABLE_NAME || ':' || OLD.id::text);
    ELSE
        PERFORM pg_notify('cache_invalidation', TG_TABLE_NAME || ':' || NEW.id::text);
        IF NEW.id IS DISTINCT FROM OLD.id THEN
            PERFORM pg_notify('cache_invalidation', TG_TABLE_NAME || ':' || OLD.id::text);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- cache_invalidate_on(table) makes every change to table's rows reach the
-- caches: one line in the migration that creates a cached table. The
-- table's key column must be named id.
CREATE FUNCTION cache_invalidate_on(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    name text := (SELECT relname FROM pg_class WHERE oid = tbl);
BEGIN
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION cache_invalidate()',
        name || '_cache_invalidate', tbl);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION cache_invalidate()',
        name || '_cache_invalidate_truncate', tbl);
END
$$;

SELECT cache_invalidate_on('items');
