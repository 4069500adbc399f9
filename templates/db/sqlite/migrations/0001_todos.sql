-- The to-do items. AUTOINCREMENT: an id is never reused after a delete.
-- A sub-item points at its parent; deleting a parent that still has
-- sub-items is refused (the default NO ACTION; answered with 409).
CREATE TABLE todos (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    title     TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    done      INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    parent_id INTEGER REFERENCES todos (id)
);

CREATE INDEX todos_by_parent ON todos (parent_id);
CREATE INDEX todos_by_done ON todos (done, id);
