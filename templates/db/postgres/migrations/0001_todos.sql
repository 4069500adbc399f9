-- The to-do items. An identity column: an id is never reused after a delete.
-- A sub-item points at its parent; deleting a parent that still has
-- sub-items is refused (the default NO ACTION; answered with 409).
CREATE TABLE todos (
    id        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title     TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    done      BOOLEAN NOT NULL DEFAULT false,
    parent_id BIGINT  REFERENCES todos (id)
);

CREATE INDEX todos_by_parent ON todos (parent_id);
CREATE INDEX todos_by_done ON todos (done, id);
