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
    let known = |part: &str| Some(f.lookup_name(part)).filter(KnownName::is_known);
    let (text, known) = named_part(item, known).unwrap_or((item, KnownName::default()));
    Named { text, known }
}

/// The part of a drug as written that names something (`find` says what): the whole of it, or
/// else its longest run of leading words that does, as drugs written with a salt, strength or
/// form read (`methotrexate sodium`, `methotrexate 2.5 mg weekly`, `Ibuprofen 400 MG Oral
/// Tablet`); with what it names.
pub fn named_part<'w, T>(
    written: &'w str,
    find: impl Fn(&str) -> Option<T>,
) -> Option<(&'w str, T)> {
    let found = |part: &'w str| find(part).map(|it| (part, it));
    found(written).or_else(|| {
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
            .filter(|part| !part.is_empty())
            .find_map(found)
    })
}
