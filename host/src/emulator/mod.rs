//! The local ARM emulator.
