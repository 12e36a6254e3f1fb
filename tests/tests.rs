//! Integration tests: the shipped formulary rule by rule, and the real binary.

mod batch;
mod cli;
mod fhir;
mod formulary;
mod golden;
mod patients;
mod properties;
mod rules;
mod serve;
mod site;
