//! Budget and key ring tests (filled in below).
