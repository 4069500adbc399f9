//! Running cargo and reading its JSON messages (being written).
