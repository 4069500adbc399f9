//! Routing (placeholder).
