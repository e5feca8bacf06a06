//! Integration tests of the llavero binary.
