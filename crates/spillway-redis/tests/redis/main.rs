//! Real-server tests.
