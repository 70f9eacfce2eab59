-- The items table. IDs are 32 lowercase hex digits; the "C" collation
-- orders them bytewise, as List pages them, and keeps comparisons cheap.
CREATE TABLE items (
    id         text COLLATE "C" PRIMARY KEY,
    name       text        NOT NULL,
    quantity   bigint      NOT NULL CHECK (quantity >= 0),
    created_at timestamptz NOT NULL
);
