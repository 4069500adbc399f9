//! JSON (placeholder: filled by the json work).
