//! Allergy and co-medication lists: each name resolved once to what the formulary knows it
//! as (a formulary drug, a class member, a class), or to nothing.

use super::values::list_items;
use crate::formulary::{Formulary, KnownName};

/// One name of an allergy or co-medication list, as given and as known.
#[derive(Debug, Clone, Copy)]
pub struct Named<'f, 'r> {
    /// The name as written, trimmed.
    pub text: &'r str,
    pub known: KnownName<'f>,
}

/// The names of a `;`-separated list, each resolved.
pub(super) fn resolve<'f, 'r>(f: &'f Formulary, list: &'r str) -> Vec<Named<'f, 'r>> {
    list_items(list)
        .map(|text| Named {
            text,
            known: f.lookup_name(text),
        })
        .collect()
}
