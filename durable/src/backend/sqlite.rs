//! The embedded SQLite store (placeholder until implemented).
