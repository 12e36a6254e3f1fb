//! Integration tests: the shipped formulary rule by rule, and the real binary.

mod cli;
mod rules;
