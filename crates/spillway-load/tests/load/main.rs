//! Integration tests of spillway-load.
