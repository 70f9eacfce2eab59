-- The orders table, added with perfgen add resource. IDs are 32
-- lowercase hex digits; the "C" collation orders them bytewise, as List
-- pages them. data holds the Order message's fields in protobuf binary
-- (the service has checked them), so a field added to the .proto needs no
-- migration; add a column in a new migration to query by a field.
CREATE TABLE orders (
    id         text COLLATE "C" PRIMARY KEY,
    data       bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Every change to a row, by any replica or by SQL run outside the service,
-- drops that row from every replica's cache (see 0002_cache_invalidation.sql).
SELECT cache_invalidate_on('orders');
