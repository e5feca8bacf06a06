//! Integration tests of the credential formats, one module per area.
