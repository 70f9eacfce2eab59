-- The orders table, added with perfgen add resource. IDs are 32
-- lowercase hex digits; the "C" collation orders them bytewise, as List
-- pages them. Optional fields are nullable; the service checks every other
-- rule, identically for every store.
CREATE TABLE orders (
    id          text COLLATE "C" PRIMARY KEY,
    customer text NOT NULL,
    total_cents bigint NOT NULL,
    note text,
    placed_at timestamptz NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
