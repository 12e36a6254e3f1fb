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

/// The names of a list, each resolved.
pub(super) fn resolve<'f, 'r>(f: &'f Formulary, list: &'r str) -> Vec<Named<'f, 'r>> {
    list_items(list).map(|item| lookup_item(f, item)).collect()
}

/// How many leading words of an item are tried as a name.
const MAX_WORDS: usize = 8;

/// An item as the formulary knows it: see [`named_part`]; unknown when no part names anything.
fn lookup_item<'f, 'r>(f: &'f Formulary, item: &'r str) -> Named<'f, 'r> {
    let text = named_part(item, |part| f.lookup_name(part).is_known()).unwrap_or(item);
    Named {
        text,
        known: f.lookup_name(text),
    }
}

/// The part of a drug as written that `names` something: the whole of it, or else its longest
/// run of leading words that does, as drugs written with a salt, strength or form read
/// (`methotrexate sodium`, `methotrexate 2.5 mg weekly`, `Ibuprofen 400 MG Oral Tablet`).
pub fn named_part(written: &str, names: impl Fn(&str) -> bool) -> Option<&str> {
    if names(written) {
        return Some(written);
    }
    let word_ends: Vec<usize> = written
        .char_indices()
        .filter(|&(i, c)| c.is_whitespace() && i > 0)
        .map(|(i, _)| i)
        .take(MAX_WORDS)
        .collect();
    word_ends
        .iter()
        .rev()
        .filter_map(|&end| written.get(..end).map(str::trim_end))
        .find(|part| !part.is_empty() && names(part))
}
