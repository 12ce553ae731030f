//! In-process tests of the whole emulator through HTTP.
