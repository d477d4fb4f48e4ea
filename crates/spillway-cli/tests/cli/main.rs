//! End-to-end tests of the `spillway` binary.
