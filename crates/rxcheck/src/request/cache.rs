//! What a batch parses again and again, remembered on one thread: an export repeats the same
//! drugs, doses and condition lists row after row. Each entry keeps the `invalid` findings its
//! parse recorded, and a hit records them again, in the same order and words.

use super::names::{self, Named};
use super::patient::{self, GivenCondition};
use super::regimen::{self, Range, StrengthGiven};
use super::{Input, Prescription, Target, target};
use crate::fasthash::WordMap;
use crate::finding::Assessment;
use crate::formulary::{DrugRef, FormRef, Formulary, KnownName};
use std::ops::Range as Span;

/// How many entries a table keeps before it starts afresh, and the longest key it keeps (so
/// that memory stays bounded on any input; real keys are a few dozen bytes).
const ENTRIES_KEPT: usize = 4096;
const KEY_BYTES_KEPT: usize = 256;

/// The `invalid` findings one parse recorded, in order.
type Recorded = Box<[(Input, String)]>;

/// Values by key, each with the findings its parse recorded.
type Table<T> = WordMap<Box<[u8]>, (T, Recorded)>;

/// Conditions, each with where the name it was given by is in the list.
type Listed = Box<[(usize, Span<usize>)]>;

/// Each name's place in the list, what it is known as, and whether it is written as topical.
type Names = Box<[(Span<usize>, Known, bool)]>;

/// What a name is known as ([`KnownName`]), its substance kept by name.
#[derive(Debug)]
struct Known {
    drug: Option<DrugRef>,
    /// Where its substance is among the formulary's ([`Formulary::substance_index`]).
    substance: Option<usize>,
    class: Option<usize>,
    allergen: Option<usize>,
}

/// Parses remembered per thread, for one formulary at a time. Keys are the fields exactly as
/// written, so a hit stands for the very parse it replays.
#[derive(Debug, Default)]
pub struct ParseCache {
    /// The formulary the entries were worked out with.
    formulary: Option<u64>,
    /// Scratch space for building keys.
    key: Vec<u8>,
    /// By drug and form: the drug and form found.
    targets: Table<Option<(DrugRef, FormRef)>>,
    /// By drug, form, strength, unit volume and dose: the strength and the single dose.
    doses: Table<(StrengthGiven, Option<Range>)>,
    /// By condition list: each condition with where its name is in the list.
    conditions: Table<Listed>,
    /// By allergy or co-medication list: each name, where it is in the list, as known.
    names: Table<Names>,
}

impl ParseCache {
    /// Forgets every entry when `formulary` is not the one they were worked out with.
    pub(super) fn use_formulary(&mut self, formulary: &Formulary) {
        if self.formulary != Some(formulary.identity()) {
            *self = ParseCache {
                formulary: Some(formulary.identity()),
                ..ParseCache::default()
            };
        }
    }

    /// The drug form prescribed ([`target::find`], remembered, then [`target::at`]).
    pub(super) fn target<'f>(
        &mut self,
        f: &'f Formulary,
        rx: &Prescription<'_>,
        out: &mut Assessment<'f>,
    ) -> Option<Target<'f>> {
        set_key(&mut self.key, &[rx.drug, rx.form]);
        let (found, written) = remembered(
            &mut self.targets,
            &self.key,
            out,
            |out| target::find(f, rx, out),
            |found| *found,
        )?;
        target::at(f, found, written, out)
    }

    /// [`regimen::strength_and_dose`], remembered.
    pub(super) fn strength_and_dose(
        &mut self,
        rx: &Prescription<'_>,
        t: &Target<'_>,
        out: &mut Assessment<'_>,
    ) -> (StrengthGiven, Option<Range>) {
        set_key(
            &mut self.key,
            &[rx.drug, rx.form, rx.strength, rx.unit_volume, rx.dose],
        );
        remembered(
            &mut self.doses,
            &self.key,
            out,
            |out| regimen::strength_and_dose(rx, t, out),
            |parsed| *parsed,
        )
    }

    /// [`patient::conditions`], remembered.
    pub(super) fn conditions<'r>(
        &mut self,
        f: &Formulary,
        text: &'r str,
        out: &mut Assessment<'_>,
    ) -> Vec<GivenCondition<'r>> {
        if text.is_empty() {
            return Vec::new();
        }
        set_key(&mut self.key, &[text]);
        let listed = |out: &mut Assessment<'_>| -> Listed {
            patient::conditions(f, text, out)
                .iter()
                .map(|c| (c.condition, span(text, c.given)))
                .collect()
        };
        remembered(&mut self.conditions, &self.key, out, listed, |listed| {
            listed
                .iter()
                .map(|(condition, at)| GivenCondition {
                    condition: *condition,
                    given: text.get(at.clone()).unwrap_or_default(),
                })
                .collect()
        })
    }

    /// [`names::resolve`], remembered.
    pub(super) fn names<'f, 'r>(&mut self, f: &'f Formulary, text: &'r str) -> Vec<Named<'f, 'r>> {
        if text.is_empty() {
            return Vec::new();
        }
        set_key(&mut self.key, &[text]);
        let resolve = |_: &mut Assessment<'_>| {
            names::resolve(f, text)
                .iter()
                .map(|named| {
                    let known = Known {
                        drug: named.known.drug,
                        substance: named.known.substance.and_then(|s| f.place_of(s)),
                        class: named.known.class,
                        allergen: named.known.allergen,
                    };
                    (span(text, named.text), known, named.topical)
                })
                .collect()
        };
        let mut none = Assessment::default();
        remembered(&mut self.names, &self.key, &mut none, resolve, |names| {
            names
                .iter()
                .map(|(at, known, topical)| Named {
                    text: text.get(at.clone()).unwrap_or_default(),
                    topical: *topical,
                    known: KnownName {
                        drug: known.drug,
                        substance: known.substance.and_then(|i| f.substance_at(i)),
                        class: known.class,
                        allergen: known.allergen,
                    },
                })
                .collect()
        })
    }
}

/// Where `part`, a slice of `whole`, is in it.
fn span(whole: &str, part: &str) -> Span<usize> {
    let start = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    start..start + part.len()
}

/// Sets `key` to `parts`, each preceded by its length, so that no two lists of parts share a
/// key.
fn set_key(key: &mut Vec<u8>, parts: &[&str]) {
    key.clear();
    for part in parts {
        key.extend_from_slice(&part.len().to_le_bytes());
        key.extend_from_slice(part.as_bytes());
    }
}

/// What `give` makes of the value `table` has for `key`, with its findings recorded again in
/// `out`; else of the value `parse` works out (recording its findings in `out`), which is kept
/// when every finding it recorded is an input rule's.
fn remembered<T, R>(
    table: &mut Table<T>,
    key: &[u8],
    out: &mut Assessment<'_>,
    parse: impl FnOnce(&mut Assessment<'_>) -> T,
    give: impl FnOnce(&T) -> R,
) -> R {
    if let Some((value, recorded)) = table.get(key) {
        for (input, message) in recorded {
            input.invalid(out, message.clone());
        }
        return give(value);
    }
    let start = out.findings.len();
    let value = parse(out);
    let given = give(&value);
    if key.len() > KEY_BYTES_KEPT {
        return given;
    }
    let recorded: Option<Recorded> = out
        .findings
        .get(start..)
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let input = Input::ALL.into_iter().find(|i| i.rule() == f.rule)?;
            Some((input, f.message.to_string()))
        })
        .collect();
    if let Some(recorded) = recorded {
        if table.len() >= ENTRIES_KEPT {
            table.clear();
        }
        table.insert(key.into(), (value, recorded));
    }
    given
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Dates, Request, parse, parse_cached, parse_regimen_cached};

    /// What a request says of the fields the cache remembers.
    fn remembered_parts(r: &Request<'_, '_>) -> String {
        let names = |list: &[Named<'_, '_>]| {
            list.iter()
                .map(|n| {
                    let k = &n.known;
                    let substance = k.substance.map(|s| s as *const _);
                    format!(
                        "{} {:?} {:?} {:?} {substance:?}",
                        n.text, k.drug, k.class, k.allergen
                    )
                })
                .collect::<Vec<_>>()
        };
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            r.target
                .map(|t| (t.drug_index, t.form_index, t.brand, t.written)),
            r.strength,
            r.single,
            r.daily,
            r.conditions,
            names(&r.allergies),
            names(&r.co_medications),
        )
    }

    #[test]
    fn a_hit_gives_and_records_what_the_parse_did() {
        let f = Formulary::embedded().unwrap();
        let dates = Dates::iso(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        let rows = [
            Prescription {
                drug: "Diclofenac",
                form: "tablet",
                strength: "7 mg",
                dose: "lots",
                times_per_day: "2",
                conditions: "K25.4; nonsense",
                allergies: "aspirin; zzz",
                co_medications: "NSAIDs",
                ..Default::default()
            },
            Prescription {
                drug: "diclofenac",
                form: "tablet",
                dose: "50 mg",
                times_per_day: "3",
                conditions: "K25.4; nonsense",
                ..Default::default()
            },
            Prescription {
                drug: "diclofnac",
                form: "tablet",
                dose: "50 mg",
                ..Default::default()
            },
            Prescription {
                drug: "diclofenac",
                form: "tablte",
                dose: "1 tablet",
                ..Default::default()
            },
        ];
        let mut cache = ParseCache::default();
        for _ in 0..2 {
            for rx in &rows {
                let mut plain = Assessment::default();
                let expected = remembered_parts(&parse(&f, rx, &dates, &mut plain));
                let mut cached = Assessment::default();
                let got = parse_cached(&f, rx, &dates, &mut cached, &mut cache);
                assert_eq!(remembered_parts(&got), expected);
                assert!(!plain.findings.is_empty());
                assert_eq!(cached, plain);
                // The regimen alone is what the whole parse made of it.
                let mut regimen_only = Assessment::default();
                let regimen = parse_regimen_cached(&f, rx, &mut regimen_only, &mut cache);
                let target = |t: Option<&Target<'_>>| {
                    t.map(|t| (t.drug_index, t.form_index, t.brand, t.written))
                };
                assert_eq!(target(regimen.target.as_ref()), target(got.target.as_ref()));
                assert_eq!(regimen.daily, got.daily);
            }
        }
    }
}
