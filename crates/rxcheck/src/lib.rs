//! rxcheck: checks proposed drug regimens against an editable TOML formulary and says, with
//! reasons and sources, whether a prescription may be dispensed as written.
//!
//! The library does no I/O of its own: the formulary loads from text, prescriptions arrive as
//! borrowed fields, and findings come back as values for a printer to render.

// Library code must not panic: a crash mid-batch loses rows. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod ack;
pub mod cds;
pub mod fasthash;
pub mod fhir;
pub mod finding;
pub mod formulary;
mod packed;
pub mod request;
pub mod units;
pub mod validate;

pub use finding::{Assessment, Category, Finding, Severity, Verdict};
pub use formulary::Formulary;
pub use request::Prescription;
pub use validate::{validate, validate_into};
pub mod batch;
pub mod report;
