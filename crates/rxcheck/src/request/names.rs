//! Allergy and co-medication lists: each name resolved once to what the formulary knows it
//! as (a formulary drug, a class member, a class), or to nothing.

use super::values::{list_items, word_place};
use crate::formulary::{Drug, FormRef, Formulary, KnownName};
use crate::units::physical_unit;

/// One name of an allergy or co-medication list, as given and as known.
#[derive(Debug, Clone, Copy)]
pub struct Named<'f, 'r> {
    /// The name as written, trimmed.
    pub text: &'r str,
    pub known: KnownName<'f>,
    /// Written as a topical product of a drug outside the formulary (`ketoprofen gel`,
    /// `Fastum gel`); a formulary drug's form is in [`KnownName::drug`].
    pub topical: bool,
}

/// The names of a list, each resolved; an item that names nothing as a whole but joins
/// names (`penicillin + ibuprofen`, `amlodipine/methotrexate`) gives each of them, when a
/// part after the first names something; else the item whole, or its first part when only
/// that names something (`penicillin rash/hives` is penicillin, `ibuprofen/prn` ibuprofen).
pub(super) fn resolve<'f, 'r>(f: &'f Formulary, list: &'r str) -> Vec<Named<'f, 'r>> {
    let mut names = Vec::new();
    for item in list_items(list) {
        // Read whole (`diclofenac gel and tablets`: its forms), unless it joins names.
        let whole = lookup_item(f, item);
        let named_whole = whole.known.is_known() && whole.text.len() == item.len();
        let parts: Vec<Named<'f, 'r>> = joined(item)
            .filter(|_| !named_whole)
            .map(|parts| parts.into_iter().map(|p| lookup_item(f, p)).collect())
            .unwrap_or_default();
        let first_of_item = names.len();
        match parts.split_first() {
            Some((_, rest)) if rest.iter().any(|p| p.known.is_known()) => names.extend(parts),
            Some((&first, _)) if !whole.known.is_known() && first.known.is_known() => {
                names.push(first);
            }
            _ => names.push(whole),
        }
        names_after_names(f, item, &mut names, first_of_item);
    }
    forms_of_the_drug_before(f, &mut names);
    names
}

/// Adds the names written after each name of `item` (from `names[first..]`; past its first
/// word when it is unknown as a whole), up to the next one: `penicillin (rash) ibuprofen
/// (asthma)`, `codeine aspirin`, `omeprazole ibuprofen` name two each.
fn names_after_names<'f, 'r>(
    f: &'f Formulary,
    item: &'r str,
    names: &mut Vec<Named<'f, 'r>>,
    first: usize,
) {
    let place = |text: &str| text.as_ptr() as usize - item.as_ptr() as usize;
    let mut found = Vec::new();
    let of_item = names.get(first..).unwrap_or_default();
    for (at, named) in of_item.iter().enumerate() {
        let end = of_item
            .get(at + 1)
            .map_or(item.len(), |next| place(next.text));
        let read = if named.known.is_known() {
            named.text.len()
        } else {
            named
                .text
                .find(char::is_whitespace)
                .unwrap_or(named.text.len())
        };
        let mut from = place(named.text) + read;
        let rest = item.get(from..end).unwrap_or("");
        // Each word of the rest that starts a name, past the name it starts; not a word of
        // a form or route (`salbutamol inh`: an inhaler, not isoniazid).
        let mut previous = ' ';
        for (i, c) in rest.char_indices() {
            let starts_word = c.is_alphabetic() && !previous.is_alphanumeric();
            previous = c;
            let at = place(rest) + i;
            if !starts_word || at < from {
                continue;
            }
            let here = item.get(at..end).unwrap_or("");
            let word = here.split(|c: char| !c.is_alphanumeric()).next();
            if word.is_some_and(is_form_word) {
                continue;
            }
            let next = lookup_item(f, here);
            if next.known.is_known() {
                from = place(next.text) + next.text.len();
                found.push(next);
            }
        }
    }
    names.extend(found);
}

/// An item that names only a form or route (`diclofenac gel, tablets`; `omeprazole +
/// diclofenac gel and tablets`) tells the form of the drug before it: a systemic one makes
/// that drug systemic. Such an item is no name of its own.
fn forms_of_the_drug_before(f: &Formulary, names: &mut Vec<Named<'_, '_>>) {
    let mut drug_at: Option<usize> = None;
    let mut at = 0;
    while let Some(named) = names.get(at).copied() {
        // After a topical product of a drug outside the formulary (`ketoprofen gel,
        // tablets`), a systemic form or route makes it systemic.
        let product = at.checked_sub(1);
        let after_topical = product
            .and_then(|i| names.get(i))
            .is_some_and(|b| b.topical);
        let only_forms = || {
            (named.text.split(|c: char| !c.is_alphanumeric()))
                .all(|w| w.is_empty() || is_form_word(w))
        };
        if after_topical && !named.known.is_known() && only_forms() {
            let systemic = !written_topical(named.text);
            if let Some(product) = product.and_then(|i| names.get_mut(i)).filter(|_| systemic) {
                product.topical = false;
            }
            names.remove(at);
            continue;
        }
        let form = drug_at.and_then(|i| {
            let drug = f.drugs.get(names.get(i)?.known.drug?.drug)?;
            let form = form_written(drug, named.text, "")?;
            Some((i, form, drug.forms.get(form.form)?.systemic))
        });
        match (named.known.is_known(), form) {
            (false, Some((i, form, systemic))) => {
                if let Some(drug) = names.get_mut(i).and_then(|n| n.known.drug.as_mut()) {
                    if systemic {
                        drug.product = Some(form);
                    }
                }
                names.remove(at);
            }
            (known, _) => {
                if known && named.known.drug.is_some() {
                    drug_at = Some(at);
                } else if known {
                    drug_at = None;
                }
                at += 1;
            }
        }
    }
}

/// Words other than units of measure that a `/` stands between in a dose (`1 tab/day`).
const PER: [&str; 5] = ["dose", "day", "d", "tab", "h"];

/// The parts of an item that joins names, as combinations and pairs are written: with `+`,
/// `&`, ` and `, ` и `, ` with `, or a `/` between two words that are not units; `None` when
/// it joins nothing.
fn joined(item: &str) -> Option<Vec<&str>> {
    if !item.bytes().any(|b| matches!(b, b'+' | b'&' | b'/' | b' ')) {
        return None;
    }
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    for (i, c) in item.char_indices() {
        match c {
            '+' | '&' => cuts.push((i, i + 1)),
            '/' => {
                // The words on either side, past blanks and brackets (`Penicillin (rash) /
                // Aspirin`).
                let other = |c: char| !c.is_alphabetic();
                let before = item.get(..i).unwrap_or("").trim_end_matches(other);
                let after = item.get(i + 1..).unwrap_or("").trim_start_matches(other);
                let word_before = before
                    .rsplit(|c: char| !c.is_alphabetic())
                    .next()
                    .unwrap_or("");
                let word_after = after
                    .split(|c: char| !c.is_alphabetic())
                    .next()
                    .unwrap_or("");
                let names = |w: &str| {
                    let per = word_place(w, PER).is_some();
                    w.chars().count() > 2 && !per && physical_unit(w).is_none()
                };
                if names(word_before) && names(word_after) {
                    cuts.push((i, i + 1));
                }
            }
            _ => {}
        }
    }
    for joint in [" and ", " And ", " AND ", " и ", " И ", " with ", " With "] {
        cuts.extend(item.match_indices(joint).map(|(i, j)| (i, i + j.len())));
    }
    if cuts.is_empty() {
        return None;
    }
    cuts.sort_unstable();
    let mut parts = Vec::new();
    let mut from = 0;
    for (start, end) in cuts {
        if start >= from {
            parts.extend(item.get(from..start).map(str::trim));
            from = end;
        }
    }
    parts.extend(item.get(from..).map(str::trim));
    parts.retain(|p| !p.is_empty());
    (parts.len() > 1).then_some(parts)
}

/// How many leading words of an item are tried as a name.
const MAX_WORDS: usize = 8;

/// An item as the formulary knows it: see [`named_part`]; unknown when no part names anything.
/// A formulary drug's form written after its name (`diclofenac gel 1%`) is the form the name
/// implies, as a product name's is (`Voltaren gel`); of several, a systemic one (`diclofenac
/// gel and tablets` acts on the whole body).
fn lookup_item<'f, 'r>(f: &'f Formulary, item: &'r str) -> Named<'f, 'r> {
    let known = |part: &str| Some(f.lookup_name(part)).filter(KnownName::is_known);
    // A formulary drug misspelt, with words after it (`diclofenak tablets`), is that drug.
    let misspelt = |part: &str| {
        let meant = f.misspelt_drug(part)?;
        known(&meant)
    };
    let (text, mut known) = named_part(item, known)
        .or_else(|| named_part(item, misspelt))
        .unwrap_or((item, KnownName::default()));
    if let Some(named) = known.drug.as_mut() {
        let start = text.as_ptr() as usize - item.as_ptr() as usize;
        let before = item.get(..start).unwrap_or("");
        let rest = item.get(start + text.len()..).unwrap_or("");
        if let Some(drug) = f.drugs.get(named.drug) {
            named.product = form_written(drug, rest, before).or(named.product);
        }
    }
    let topical = known.drug.is_none() && known.substance.is_some() && written_topical(item);
    Named {
        text,
        known,
        topical,
    }
}

/// Words of a product applied to the skin (`gel`, `cream`, `мазь`), or of that route
/// (`topical`).
/// A spray is not among them: a nasal spray acts on the whole body.
const TOPICAL_PRODUCT_WORDS: [&str; 18] = [
    "gel",
    "emulgel",
    "cream",
    "ointment",
    "oint",
    "lotion",
    "foam",
    "liniment",
    "balm",
    "patch",
    "plaster",
    "topical",
    "external",
    "transdermal",
    "мазь",
    "гель",
    "крем",
    "пластырь",
];

/// Words of a product or route acting on the whole body (`tablets`, `oral`, `inj`).
const SYSTEMIC_PRODUCT_WORDS: [&str; 28] = [
    "tab",
    "tabs",
    "tablet",
    "tablets",
    "cap",
    "caps",
    "capsule",
    "capsules",
    "inj",
    "injection",
    "susp",
    "suspension",
    "syrup",
    "syp",
    "sachet",
    "granules",
    "supp",
    "suppository",
    "suppositories",
    "drops",
    "nasal",
    "inh",
    "табл",
    "таблетки",
    "капсулы",
    "уколы",
    "свечи",
    "капли",
];

/// Whether a drug outside the formulary is written as a topical product: a word of one
/// (`ketoprofen gel`, `Fastum gel`, `topical ibuprofen`), and no word of a product or route
/// acting on the whole body (`ibuprofen gel and tablets`; `drops` may be taken by mouth).
pub fn written_topical(item: &str) -> bool {
    let mut words = item
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    let is = |list: &[&str], w: &str| word_place(w, list.iter().copied()).is_some();
    let (mut topical, mut systemic) = (false, false);
    for word in words.by_ref() {
        topical |= is(&TOPICAL_PRODUCT_WORDS, word);
        systemic |= is(&SYSTEMIC_PRODUCT_WORDS, word) || is(&SYSTEMIC_ROUTES, word);
    }
    topical && !systemic
}

/// Words of a systemic route (`diclofenac gel + oral`).
const SYSTEMIC_ROUTES: [&str; 9] = [
    "oral",
    "orally",
    "po",
    "im",
    "intramuscular",
    "iv",
    "per",
    "внутрь",
    "перорально",
];

/// Words of topical products that are forms of no formulary drug (`diclofenac patch`).
const TOPICAL_WORDS: [&str; 8] = [
    "patch",
    "plaster",
    "drops",
    "spray",
    "пластырь",
    "капли",
    "спрей",
    "emulgel",
];

/// The form written with a drug's name, after it (`rest`) or before it (`before`): a
/// systemic one if any word names one or a systemic route (`gel and tablets`, `gel + oral`,
/// `Tab. diclofenac`); else a topical form named first after it, past a strength (`gel 1%`,
/// `50 mg gel`, `patch`; a salt is part of the name the formulary knows, `diclofenac
/// diethylamine`), not a word that only describes (`75 mg (external prescriber)`), or a
/// topical form or word before it (`topical diclofenac`); `None` when none is written.
fn form_written(drug: &Drug, rest: &str, before: &str) -> Option<FormRef> {
    fn words_of(text: &str) -> Vec<&str> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().any(char::is_alphabetic))
            .collect()
    }
    let (words, words_before) = (words_of(rest), words_of(before));
    let is = |list: &[&str], w: &str| word_place(w, list.iter().copied()).is_some();
    let systemic_form = |at: &FormRef| drug.forms.get(at.form).is_some_and(|f| f.systemic);
    let any_topical_form = || {
        drug.forms
            .iter()
            .position(|f| !f.systemic)
            .map(|form| FormRef {
                form,
                equivalent: None,
            })
    };
    let described = ["external", "topical", "local", "transdermal"];
    let systemic = words.iter().chain(&words_before).find_map(|w| {
        let form = drug.find_form(w).filter(systemic_form);
        let route = || is(&SYSTEMIC_ROUTES, w).then(|| drug.forms.iter().position(|f| f.systemic));
        form.or_else(|| {
            route().flatten().map(|form| FormRef {
                form,
                equivalent: None,
            })
        })
    });
    let topical_after = || {
        let first = words.iter().find(|w| physical_unit(w).is_none())?;
        let form = drug.find_form(first).filter(|_| !is(&described, first));
        form.or_else(|| is(&TOPICAL_WORDS, first).then(any_topical_form).flatten())
    };
    let topical_before = || {
        words_before.iter().find_map(|w| {
            let topical_word = is(&TOPICAL_WORDS, w) || is(&described, w);
            drug.find_form(w)
                .or_else(|| topical_word.then(any_topical_form).flatten())
        })
    };
    systemic.or_else(topical_after).or_else(topical_before)
}

/// Words of forms and routes besides those of [`SYSTEMIC_PRODUCT_WORDS`],
/// [`TOPICAL_PRODUCT_WORDS`] and [`SYSTEMIC_ROUTES`], as prescriptions write them before a
/// drug's name (`Amp. Diclofenac`, `comp. ibuprofeno`) or after it (`salbutamol inh`).
const OTHER_FORM_WORDS: [&str; 19] = [
    "amp",
    "syr",
    "rectal",
    "local",
    "comp",
    "comprimido",
    "comprimidos",
    "crema",
    "pomada",
    "таб",
    "капс",
    "inhaler",
    "inhal",
    "neb",
    "nebs",
    "puff",
    "puffs",
    "mdi",
    "spray",
];

/// Whether a word (a trailing `.` aside) is one of a form or route: no drug's name, though a
/// vocabulary may hold one (`inh` is also isoniazid's).
fn is_form_word(word: &str) -> bool {
    let word = word.trim_end_matches('.');
    let lists: [&[&str]; 4] = [
        &SYSTEMIC_PRODUCT_WORDS,
        &TOPICAL_PRODUCT_WORDS,
        &SYSTEMIC_ROUTES,
        &OTHER_FORM_WORDS,
    ];
    lists
        .iter()
        .any(|list| word_place(word, list.iter().copied()).is_some())
}

/// The words of a form or route written before a drug's name, with the rest of the text:
/// `Tab. ` and `Nimesulide 100 mg` for `Tab. Nimesulide 100 mg`; `None` when it starts with
/// no such word.
fn leading_form_words(written: &str) -> Option<(&str, &str)> {
    let mut rest = written.trim_start();
    while let Some((word, after)) = rest.split_once(char::is_whitespace) {
        if !is_form_word(word) {
            break;
        }
        rest = after.trim_start();
    }
    let before = written.get(..written.len() - rest.len())?;
    (!before.trim().is_empty() && !rest.is_empty()).then_some((before, rest))
}

/// The first word of a name as written, past the words of a form or route before it
/// (`Omeprazole` of `Cap. Omeprazole 20 mg`).
pub fn first_word(written: &str) -> &str {
    let rest = leading_form_words(written).map_or(written, |(_, rest)| rest);
    rest.split_whitespace().next().unwrap_or(rest)
}

/// The part of a drug as written that names something (`find` says what): the whole of it, or
/// else its longest run of leading words that does, as drugs written with a salt, strength or
/// form read (`methotrexate sodium`, `methotrexate 2.5 mg weekly`, `Ibuprofen 400 MG Oral
/// Tablet`, `Diclofenac-Teva`), past the words of a form or route ([`is_form_word`]) before
/// it (`Tab. Nimesulide`); with what it names.
pub fn named_part<'w, T>(
    written: &'w str,
    find: impl Fn(&str) -> Option<T>,
) -> Option<(&'w str, T)> {
    let found = |part: &'w str| find(part).map(|it| (part, it));
    let leading_words = |written: &'w str| {
        // Words end at blanks, and at a hyphen before a maker's name (`Diclofenac-Teva`).
        let word_ends: Vec<usize> = written
            .char_indices()
            .filter(|&(i, c)| (c.is_whitespace() || c == '-') && i > 0)
            .map(|(i, _)| i)
            .take(MAX_WORDS)
            .collect();
        word_ends
            .iter()
            .rev()
            .filter_map(|&end| written.get(..end))
            .map(|part| {
                part.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '-' | ':'))
            })
            .filter(|part| !part.is_empty())
            .find_map(found)
    };
    found(written)
        .or_else(|| leading_words(written))
        .or_else(|| {
            let (_, rest) = leading_form_words(written)?;
            found(rest).or_else(|| leading_words(rest))
        })
}
