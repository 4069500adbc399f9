//! Small vectors (placeholder).
