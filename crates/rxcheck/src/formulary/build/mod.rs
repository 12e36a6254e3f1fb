//! Stage two of loading: checks what the raw TOML means (references exist, ranges are sane,
//! units fit their form) and builds the typed [`Formulary`], reporting every problem found.

mod codes;
mod dosage;
mod drugs;
mod rules;
mod vocabulary;

use rules::merge_profile;
use vocabulary::icd_index;

use super::diagnostic::{Diagnostic, Level, LoadError, SourceFile};
use super::{
    AdministrationRule, AgeRule, Allergen, BelowMinimum, Brand, ClassRule, Condition,
    ConditionRule, DoseRule, Dosing, Drug, DrugClass, DrugRef, DuplicateRule, EquivalentForm, Form,
    FormRef, Formulary, Limits, PregnancyRule, Profile, Rule, Source, Substance, closest,
    normalize_icd10, normalize_name,
};
use crate::fasthash::FastMap;
use crate::finding::Severity;
use crate::formulary::raw::{
    RawAmountRange, RawBelowMinimum, RawDosage, RawDrug, RawFile, RawForm, RawRange, RawRules, Text,
};
use crate::units::{Amount, Dimension, Strength, parse_quantity, parse_strength};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use toml::Spanned;

use crate::request::{MAX_AGE_YEARS, MAX_GESTATIONAL_WEEK};

/// The tables of ids that rules refer to.
#[derive(Clone, Copy)]
enum Table {
    Sources,
    Conditions,
    Classes,
}

/// A table from one of the files, under its id.
struct Item<T> {
    file: usize,
    id: String,
    value: Spanned<T>,
}

struct Builder<'a> {
    files: &'a [SourceFile],
    diagnostics: Vec<Diagnostic>,
    source_ids: FastMap<String, usize>,
    /// Each source's citation, by index, for findings that cite two sentences at once.
    citations: Vec<String>,
    condition_ids: FastMap<String, usize>,
    class_ids: FastMap<String, usize>,
    rule_sets: HashMap<String, (usize, RawRules)>,
    /// Rule sets already compiled, and the ones being compiled (to catch cycles).
    compiled_sets: HashMap<String, Profile>,
    compiling: Vec<String>,
    /// Every drug name seen so far (normalised), with the drug it names.
    drug_names: FastMap<String, String>,
    /// Every class member as written: normalised name, file and span.
    class_members: Vec<(String, usize, Range<usize>)>,
    /// Every name of a condition (id, label, synonyms), normalised.
    condition_names: FastMap<String, usize>,
    /// Every name of a class itself, normalised.
    class_names: FastMap<String, usize>,
    /// Every allergen name, normalised.
    allergen_names: FastMap<String, usize>,
    /// Every code of another terminology seen so far (`RxNorm 855942`), with its owner.
    codes_seen: FastMap<String, String>,
    /// Where each name of `[codes]` is, to check once the vocabulary is built.
    code_spans: Vec<(usize, Range<usize>, String)>,
}

pub(super) fn build(files: &[SourceFile]) -> Result<Formulary, LoadError> {
    let mut b = Builder {
        files,
        diagnostics: Vec::new(),
        source_ids: FastMap::default(),
        citations: Vec::new(),
        condition_ids: FastMap::default(),
        class_ids: FastMap::default(),
        rule_sets: HashMap::new(),
        compiled_sets: HashMap::new(),
        compiling: Vec::new(),
        drug_names: FastMap::default(),
        class_members: Vec::new(),
        condition_names: FastMap::default(),
        class_names: FastMap::default(),
        allergen_names: FastMap::default(),
        codes_seen: FastMap::default(),
        code_spans: Vec::new(),
    };
    let mut parsed = Vec::new();
    for (index, file) in files.iter().enumerate() {
        if let Some(raw) = b.parse_file(index, file) {
            parsed.push((index, raw));
        }
    }
    if files.is_empty() {
        b.diagnostics.push(Diagnostic {
            level: Level::Error,
            file: "(formulary)".into(),
            line: 1,
            column: 1,
            message: "no formulary files found".into(),
            hint: Some("give a `.toml` file or a folder holding some".into()),
            snippet: String::new(),
            width: 1,
        });
    }
    // A file that could not be read as a whole would make what it defines look missing
    // everywhere else: its own errors are the ones to fix first.
    if parsed.is_empty() || parsed.len() < files.len() {
        return Err(b.finish_err());
    }
    let formulary = b.assemble(parsed);
    match formulary {
        Some(f) if !b.has_errors() => Ok(Formulary {
            warnings: b.diagnostics,
            ..f
        }),
        _ => Err(b.finish_err()),
    }
}

fn merge<T>(
    b: &mut Builder<'_>,
    kind: &str,
    parts: Vec<(usize, BTreeMap<String, Spanned<T>>)>,
) -> Vec<Item<T>> {
    let mut items: Vec<Item<T>> = Vec::new();
    for (file, map) in parts {
        for (id, value) in map {
            if items.iter().any(|i| i.id == id) {
                b.error(
                    file,
                    value.span(),
                    format!("{kind} `{id}` is defined twice"),
                    Some("give each one its own id, or merge them".into()),
                );
                continue;
            }
            items.push(Item { file, id, value });
        }
    }
    items
}

impl Builder<'_> {
    fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }

    fn finish_err(&mut self) -> LoadError {
        let mut diagnostics = std::mem::take(&mut self.diagnostics);
        diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        LoadError { diagnostics }
    }

    fn report(
        &mut self,
        level: Level,
        file: usize,
        span: Range<usize>,
        message: String,
        hint: Option<String>,
    ) {
        if let Some(source) = self.files.get(file) {
            self.diagnostics
                .push(Diagnostic::at(level, source, span, message, hint));
        }
    }

    fn error(&mut self, file: usize, span: Range<usize>, message: String, hint: Option<String>) {
        self.report(Level::Error, file, span, message, hint);
    }

    fn warning(&mut self, file: usize, span: Range<usize>, message: String, hint: Option<String>) {
        self.report(Level::Warning, file, span, message, hint);
    }

    /// Parses one file, reporting every schema error rather than the first: after an error
    /// the offending lines are blanked (keeping every offset) and the file is parsed again.
    fn parse_file(&mut self, index: usize, file: &SourceFile) -> Option<RawFile> {
        const MAX_ERRORS: usize = 50;
        let mut text = file.text.clone();
        let mut blanked_keys: Vec<String> = Vec::new();
        for _ in 0..MAX_ERRORS {
            match toml::from_str::<RawFile>(&text) {
                // With errors already reported, the rest is still checked for meaning.
                Ok(raw) => return Some(raw),
                Err(error) => {
                    let message = error.message();
                    // A key blanked for having a bad value is then missing: not a new error.
                    let artifact = blanked_keys
                        .iter()
                        .any(|k| message.starts_with(&format!("missing field `{k}`")));
                    if artifact {
                        return None;
                    }
                    self.toml_error(index, &error, &text);
                    if let Some(key) = error.span().and_then(|s| line_key(&text, s.start)) {
                        blanked_keys.push(key);
                    }
                    // The file stops at a missing key (reported on its table: blanking that
                    // would only move the table's keys elsewhere and report them again) and
                    // at a bracket or string left open (which says nothing sure of the lines
                    // after it). Any other error blanks the lines it touches: the line
                    // holding it, when it is at a point.
                    let stops = (["missing field"].iter())
                        .chain(&UNCLOSED)
                        .chain(&IN_AN_OPEN_ARRAY)
                        .any(|m| message.starts_with(m));
                    if stops || !blank_lines(&mut text, error.span()?) {
                        return None;
                    }
                }
            }
        }
        None
    }

    fn toml_error(&mut self, file: usize, error: &toml::de::Error, text: &str) {
        let (message, hint) = toml_message(error, text);
        self.error(file, error.span().unwrap_or(0..0), message, hint);
    }

    fn assemble(&mut self, parsed: Vec<(usize, RawFile)>) -> Option<Formulary> {
        let mut meta = None;
        let mut conditions = Vec::new();
        let mut classes = Vec::new();
        let mut allergens = Vec::new();
        let mut sources = Vec::new();
        let mut rule_sets = Vec::new();
        let mut drugs = Vec::new();
        let mut code_names = Vec::new();
        for (file, raw) in parsed {
            if let Some(m) = raw.formulary {
                if meta.is_some() {
                    self.error(
                        file,
                        0..0,
                        "`[formulary]` is given in more than one file".into(),
                        None,
                    );
                }
                meta = Some((file, m));
            }
            conditions.push((file, raw.conditions));
            classes.push((file, raw.classes));
            allergens.push((file, raw.allergens));
            sources.push((file, raw.sources));
            rule_sets.push((file, raw.rule_sets));
            drugs.push((file, raw.drugs));
            code_names.push((file, raw.codes));
        }
        let Some((meta_file, meta)) = meta else {
            self.error(
                0,
                0..0,
                "the formulary has no `[formulary]` table".into(),
                Some("add `[formulary]` with `name`, `version` and `reference`".into()),
            );
            return None;
        };
        // Without a range of its own, a formulary asks from 10 to 55 years.
        let childbearing_years = meta
            .childbearing_years
            .as_ref()
            .and_then(|r| self.range(meta_file, r, "childbearing_years", (0, MAX_AGE_YEARS)))
            .unwrap_or((10, 55));
        let sources = merge(self, "source", sources);
        let conditions = merge(self, "condition", conditions);
        let classes = merge(self, "class", classes);
        let allergens = merge(self, "allergen", allergens);
        let rule_sets = merge(self, "rule set", rule_sets);
        let drugs = merge(self, "drug", drugs);

        let sources = self.build_sources(sources);
        let conditions = self.build_conditions(conditions);
        let icd_prefixes = icd_index(&conditions);
        let classes = self.build_classes(classes);
        let allergens = self.build_allergens(allergens);
        let mut set_labels = Vec::new();
        for mut set in rule_sets {
            set_labels.push((set.id.clone(), set.value.get_ref().label.clone()));
            let rules = set.value.get_mut().take_rules();
            self.rule_sets.insert(set.id.clone(), (set.file, rules));
        }
        let set_ids: Vec<String> = self.rule_sets.keys().cloned().collect();
        for id in set_ids {
            self.compile_set(&id);
        }
        let drugs: Vec<Drug> = drugs
            .into_iter()
            .filter_map(|d| self.build_drug(d))
            .collect();
        if drugs.is_empty() {
            self.error(
                0,
                0..0,
                "the formulary has no drugs".into(),
                Some("add a `[drugs.NAME]` table with its forms".into()),
            );
        }
        self.check_class_members();
        let (drug_names, (substance_names, substances)) = self.name_indexes(&drugs, &classes);
        let mut codes = codes::code_index(&conditions, &drugs);
        codes.names = self.code_names(code_names);
        let formulary = Formulary {
            name: meta.name,
            version: meta.version,
            reference: meta.reference,
            childbearing_years,
            condition_ids: self.condition_ids.clone(),
            condition_names: std::mem::take(&mut self.condition_names),
            class_names: std::mem::take(&mut self.class_names),
            allergen_names: std::mem::take(&mut self.allergen_names),
            conditions,
            classes,
            allergens,
            drugs,
            sources,
            rule_sets: set_labels,
            warnings: Vec::new(),
            site: None,
            icd_prefixes,
            identity: crate::formulary::next_identity(),
            drug_names,
            substance_names,
            substances,
            codes,
        };
        self.check_code_names(&formulary);
        Some(formulary)
    }
}

/// How the TOML parser's errors that leave a bracket or a string open begin, besides
/// [`IN_AN_OPEN_ARRAY`].
const UNCLOSED: [&str; 2] = ["unclosed", "invalid multi-line"];

/// How the TOML parser's errors on a line read as part of an array begin (an array above it
/// may lack its `]`).
const IN_AN_OPEN_ARRAY: [&str; 2] = [
    "missing comma between array elements",
    "unexpected `=` in array",
];

/// A TOML error in `text` as a diagnostic says it: its first line, with `unknown field `x`,
/// expected one of ...` made `unknown key `x`` and the list moved into the hint, and a
/// duplicate key named.
pub(crate) fn toml_message(error: &toml::de::Error, text: &str) -> (String, Option<String>) {
    let message = error.message().trim();
    let hint = unknown_key_hint(message).or_else(|| {
        (IN_AN_OPEN_ARRAY.iter().any(|m| message.starts_with(m))).then(|| {
            "if this line is not part of an array, the array above it lacks its closing `]`".into()
        })
    });
    let first_line = message.lines().next().unwrap_or("");
    let key = (error.span().and_then(|s| text.get(s)))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let first_line = match (first_line.split_once(", expected"), key) {
        (Some((head, _)), _) if head.starts_with("unknown field") => {
            head.replacen("unknown field", "unknown key", 1)
        }
        (_, Some(key)) if first_line == "duplicate key" => format!("duplicate key `{key}`"),
        _ => first_line.to_string(),
    };
    (first_line, hint)
}

/// The key (`name` of `name = value`) on the line holding byte `at`, if the line has one.
fn line_key(text: &str, at: usize) -> Option<String> {
    let start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

/// Replaces the lines `span` touches with spaces (newlines kept, so every other offset stays
/// valid). Returns false when there was nothing left to blank.
fn blank_lines(text: &mut String, span: Range<usize>) -> bool {
    let start = text
        .get(..span.start)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let end = text
        .get(span.end.min(text.len())..)
        .and_then(|t| t.find('\n'))
        .map_or(text.len(), |i| span.end.min(text.len()) + i);
    let Some(region) = text.get(start..end) else {
        return false;
    };
    if region.trim().is_empty() {
        return false;
    }
    // Keep byte offsets: a multi-byte character becomes as many spaces as it had bytes.
    let blanked: String = region
        .chars()
        .map(|c| {
            if c == '\n' {
                "\n".to_string()
            } else {
                " ".repeat(c.len_utf8())
            }
        })
        .collect();
    text.replace_range(start..end, &blanked);
    true
}

fn is_snake_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && id.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
}

/// For `unknown field `x`, expected one of `a`, `b``: a "did you mean" hint.
fn unknown_key_hint(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    match closest(field, expected.iter().copied()) {
        Some(c) => Some(format!("did you mean `{c}`?")),
        None if !expected.is_empty() => Some(format!(
            "expected one of {}",
            expected
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => None,
    }
}
