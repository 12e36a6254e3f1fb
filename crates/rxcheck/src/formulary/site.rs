//! A site's overlay on the formulary (`--site FILE.toml`): it re-grades rules by id or
//! pattern, hides info findings, and tightens limits, each entry signed with a justification
//! and an author. Loaded in two stages like the formulary (the TOML with spans, then checked
//! against the formulary's rules, every problem a located diagnostic); every finding it
//! changes is marked with the entry's place.

use super::{Diagnostic, DoseRule, Formulary, Level, LoadError, Profile, SourceFile, closest};
use crate::fasthash::FastMap;
use crate::finding::{Assessment, Severity, SiteMark};
use crate::units::{Dimension, Unit, parse_quantity};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;
use wildmatch::WildMatch;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    site: Option<RawMeta>,
    #[serde(default)]
    rule: Vec<Spanned<RawEntry>>,
    hide_info: Option<Spanned<RawSignature>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(rename = "match")]
    pattern: Option<Spanned<String>>,
    severity: Option<Spanned<String>>,
    limit: Option<Spanned<RawLimit>>,
    #[serde(default)]
    allow_loosen: bool,
    justification: Option<Spanned<String>>,
    author: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    justification: Option<Spanned<String>>,
    author: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawLimit {
    Whole(i64),
    Text(String),
}

/// What an overlay entry makes of a rule's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade {
    /// Reported nowhere (still counted in the summary).
    Hidden,
    Severity(Severity),
}

impl Grade {
    fn parse(text: &str) -> Option<Grade> {
        match text {
            "hidden" => Some(Grade::Hidden),
            other => Severity::from_formulary(other).map(Grade::Severity),
        }
    }

    /// `hidden`, `info`, `warn` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Hidden => "hidden",
            Grade::Severity(s) => s.as_str(),
        }
    }

    /// Whether findings graded so are below `warn` (shown as info, or not at all).
    fn below_warn(self) -> bool {
        self != Grade::Severity(Severity::Warn) && self != Grade::Severity(Severity::Reject)
    }
}

/// One entry of the overlay: where it is, what it matches, and who made it and why.
#[derive(Debug, Clone)]
pub struct SiteEntry {
    /// `file:line` of the entry.
    pub at: String,
    pub pattern: String,
    pub justification: String,
    pub author: String,
}

/// What the overlay does to one rule.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// The entry that re-grades the rule, and the grade.
    pub grade: Option<(usize, Grade)>,
    /// Whether that entry may take reject findings below `warn`.
    pub allow_loosen: bool,
    /// The entry that tightened the rule's limit, with the formulary's limit and the new one.
    pub limit: Option<(usize, String, String)>,
}

/// An overlay, applied to a formulary.
#[derive(Debug, Default)]
pub struct Site {
    pub name: Option<String>,
    /// The overlay's file, as given.
    pub file: String,
    pub entries: Vec<SiteEntry>,
    /// The entry of `[hide_info]`, when info findings are hidden.
    pub hide_info: Option<usize>,
    changes: FastMap<String, Change>,
}

impl Site {
    /// What the overlay does to rule `id`, if anything.
    pub fn change(&self, id: &str) -> Option<&Change> {
        self.changes.get(id)
    }

    /// How many rules the overlay changes.
    pub fn changed_rules(&self) -> usize {
        self.changes.len()
    }

    /// What the overlay does to rule `id`, in words, for `formulary show`: each change with
    /// its entry's place, author and justification.
    pub fn describe(&self, id: &str) -> Option<String> {
        let change = self.changes.get(id)?;
        let signed = |index: usize, what: String| {
            self.entries
                .get(index)
                .map(|e| format!("{}: {what} ({}: {})", e.at, e.author, e.justification))
        };
        let grade = change
            .grade
            .and_then(|(i, grade)| signed(i, format!("graded {}", grade.as_str())));
        let limit = change
            .limit
            .as_ref()
            .and_then(|(i, was, now)| signed(*i, format!("limit {now}, formulary {was}")));
        let notes: Vec<String> = grade.into_iter().chain(limit).collect();
        (!notes.is_empty()).then(|| notes.join("; "))
    }

    /// Applies the overlay to one prescription's findings: each changed finding gets its new
    /// severity (or is hidden) and the place of the entry that changed it. `invalid` findings
    /// are never changed, and a reject finding goes below `warn` only where the entry allows.
    pub fn regrade<'f>(&'f self, assessment: &mut Assessment<'f>) {
        for finding in &mut assessment.findings {
            if finding.severity == Severity::Invalid {
                continue;
            }
            let before = finding.severity;
            let mut entry = None;
            let mut hidden = false;
            if let Some(change) = self.changes.get(finding.rule.as_ref()) {
                entry = change.limit.as_ref().map(|(at, _, _)| *at);
                if let Some((at, grade)) = change.grade {
                    let grade =
                        if before == Severity::Reject && grade.below_warn() && !change.allow_loosen
                        {
                            Grade::Severity(Severity::Warn)
                        } else {
                            grade
                        };
                    match grade {
                        Grade::Hidden => hidden = true,
                        Grade::Severity(severity) => finding.severity = severity,
                    }
                    // A finding the entry leaves as it was is not marked as changed.
                    if hidden || finding.severity != before {
                        entry = Some(at);
                    }
                }
            }
            if let (Some(at), Severity::Info, false) = (self.hide_info, finding.severity, hidden) {
                entry = Some(at);
                hidden = true;
            }
            let Some(at) = entry.and_then(|i| self.entries.get(i)) else {
                continue;
            };
            finding.overlay = Some(SiteMark {
                at: &at.at,
                formulary_severity: before,
                hidden,
            });
        }
    }
}

/// A limit an overlay may tighten, as it stands in the formulary.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    /// A dose, in the base unit of its dimension.
    Dose(Decimal, Dimension),
    /// Times a day, days of treatment, or years of age.
    Whole(u32, &'static str),
}

impl Limit {
    pub(crate) fn text(self) -> String {
        match self {
            Limit::Dose(v, Dimension::Count) => format!("{}", v.normalize()),
            Limit::Dose(v, d) => format!("{} {}", v.normalize(), d.base_unit()),
            Limit::Whole(v, unit) => format!("{v} {unit}"),
        }
    }
}

/// Every rule of the formulary a site may address (those of `formulary show rules` but the
/// input rules): its id, the most serious finding it gives, its limit (for limits) and whether
/// the limit is an upper one.
struct KnownRule {
    id: String,
    severity: Severity,
    limit: Option<(Limit, bool)>,
}

fn known_rules(f: &Formulary) -> Vec<KnownRule> {
    let limits = limits_by_id(f);
    super::describe::describe_rules(f)
        .into_iter()
        .filter(|r| r.kind != "input")
        .map(|r| KnownRule {
            limit: limits.get(r.rule.as_str()).copied(),
            id: r.rule,
            severity: r.severity,
        })
        .collect()
}

/// Every limit of the formulary, by rule id, with whether it is an upper one.
fn limits_by_id(f: &Formulary) -> FastMap<&str, (Limit, bool)> {
    let mut found = FastMap::default();
    for drug in &f.drugs {
        if let Some(max) = &drug.combined_daily_max {
            let limit = Limit::Dose(max.max_mg, Dimension::Mass);
            found.insert(max.rule.as_str(), (limit, true));
        }
        let profiles = drug
            .brands
            .iter()
            .flat_map(|b| b.overrides.values())
            .chain(drug.forms.iter().map(|form| &form.profile));
        for age in profiles.filter_map(|p| p.min_age.as_ref()) {
            found.insert(age.rule.as_str(), (Limit::Whole(age.years, "years"), false));
        }
        for form in &drug.forms {
            let super::Dosing::Known(dose_rules) = &form.dosing else {
                continue;
            };
            let dimension = form.dose_dimension.unwrap_or(Dimension::Mass);
            for (id, limit, upper, _) in dose_rules.iter().flat_map(|r| limits(r, dimension)) {
                found.insert(id, (limit, upper));
            }
        }
    }
    found
}

/// The limits a dosage statement sets: id, value, whether it is an upper limit, and the
/// severity of going past it.
pub(crate) fn limits(rule: &DoseRule, dimension: Dimension) -> Vec<(&str, Limit, bool, Severity)> {
    let ids = &rule.limit_ids;
    let dose = |v: Decimal| Limit::Dose(v, dimension);
    let candidates = [
        (
            &ids.single_min,
            rule.per_administration.min.map(dose),
            false,
            Severity::Warn,
        ),
        (
            &ids.single_usual_max,
            rule.per_administration.usual_max.map(dose),
            true,
            Severity::Warn,
        ),
        (
            &ids.single_max,
            rule.per_administration.max.map(dose),
            true,
            Severity::Reject,
        ),
        (
            &ids.daily_min,
            rule.per_day.min.map(dose),
            false,
            Severity::Warn,
        ),
        (
            &ids.daily_usual_max,
            rule.per_day.usual_max.map(dose),
            true,
            Severity::Warn,
        ),
        (
            &ids.daily_max,
            rule.per_day.max.map(dose),
            true,
            Severity::Reject,
        ),
        (
            &ids.times_min,
            rule.times_per_day.0.map(|v| Limit::Whole(v, "times a day")),
            false,
            Severity::Warn,
        ),
        (
            &ids.times_max,
            rule.times_per_day.1.map(|v| Limit::Whole(v, "times a day")),
            true,
            Severity::Reject,
        ),
        (
            &ids.duration,
            rule.max_duration_days.map(|v| Limit::Whole(v, "days")),
            true,
            Severity::Reject,
        ),
    ];
    candidates
        .into_iter()
        .filter_map(|(id, limit, upper, severity)| Some((id.as_str(), limit?, upper, severity)))
        .collect()
}

/// A limit value as the overlay gives it, read for a limit like `current`; `Err` says why not.
fn read_limit(raw: &RawLimit, current: Limit) -> Result<Limit, String> {
    match (raw, current) {
        (RawLimit::Whole(v), Limit::Whole(_, unit)) => u32::try_from(*v)
            .map(|v| Limit::Whole(v, unit))
            .map_err(|_| format!("`{v}` is not a whole number of {unit}")),
        (RawLimit::Text(text), Limit::Whole(_, unit)) => text
            .trim()
            .parse::<u32>()
            .map(|v| Limit::Whole(v, unit))
            .map_err(|_| format!("`{text}` is not a whole number of {unit}")),
        (RawLimit::Whole(v), Limit::Dose(_, dimension)) => Err(format!(
            "`{v}` has no unit: write it as a dose, such as \"{v} {}\"",
            dimension.base_unit()
        )),
        (RawLimit::Text(text), Limit::Dose(_, dimension)) => {
            let quantity = parse_quantity(text.trim()).map_err(|e| e.to_string())?;
            match (quantity.unit_kind(), quantity.to_amount()) {
                (Unit::Measure { .. }, Some(Ok(amount))) if amount.dimension == dimension => {
                    Ok(Limit::Dose(amount.value, dimension))
                }
                (Unit::Word, _) if dimension == Dimension::Count => {
                    Ok(Limit::Dose(quantity.value, dimension))
                }
                (_, Some(Err(e))) => Err(e.to_string()),
                _ => Err(format!(
                    "`{text}` is not a {} (in {})",
                    dimension.as_str(),
                    dimension.base_unit()
                )),
            }
        }
    }
}

/// Whether `new` is at least as strict as `old` for an upper (or lower) limit.
fn tightens(new: Limit, old: Limit, upper: bool) -> bool {
    let (new, old) = match (new, old) {
        (Limit::Dose(n, _), Limit::Dose(o, _)) => (n, o),
        (Limit::Whole(n, _), Limit::Whole(o, _)) => (Decimal::from(n), Decimal::from(o)),
        _ => return false,
    };
    if upper { new <= old } else { new >= old }
}

/// Sets the limit `id` to `value` wherever the formulary has it.
fn set_limit(f: &mut Formulary, id: &str, value: Limit) {
    let (dose, whole) = match value {
        Limit::Dose(v, _) => (Some(v), None),
        Limit::Whole(v, _) => (None, Some(v)),
    };
    let set_age = |p: &mut Profile| {
        if let (Some(age), Some(years)) = (&mut p.min_age, whole) {
            if age.rule == id {
                age.years = years;
            }
        }
    };
    for drug in &mut f.drugs {
        if let (Some(max), Some(v)) = (&mut drug.combined_daily_max, dose) {
            if max.rule == id {
                max.max_mg = v;
            }
        }
        for brand in &mut drug.brands {
            brand.overrides.values_mut().for_each(set_age);
        }
        for form in &mut drug.forms {
            set_age(&mut form.profile);
            let super::Dosing::Known(rules) = &mut form.dosing else {
                continue;
            };
            for rule in rules {
                let ids = &rule.limit_ids;
                let slots = [
                    (&ids.single_min, &mut rule.per_administration.min),
                    (
                        &ids.single_usual_max,
                        &mut rule.per_administration.usual_max,
                    ),
                    (&ids.single_max, &mut rule.per_administration.max),
                    (&ids.daily_min, &mut rule.per_day.min),
                    (&ids.daily_usual_max, &mut rule.per_day.usual_max),
                    (&ids.daily_max, &mut rule.per_day.max),
                ];
                for (slot_id, slot) in slots {
                    if slot_id == id && slot.is_some() {
                        *slot = dose.or(*slot);
                    }
                }
                let wholes = [
                    (&ids.times_min, &mut rule.times_per_day.0),
                    (&ids.times_max, &mut rule.times_per_day.1),
                    (&ids.duration, &mut rule.max_duration_days),
                ];
                for (slot_id, slot) in wholes {
                    if slot_id == id && slot.is_some() {
                        *slot = whole.or(*slot);
                    }
                }
            }
        }
    }
}

/// Collects an overlay's diagnostics.
struct Checker<'a> {
    file: &'a SourceFile,
    diagnostics: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: String, hint: Option<String>) {
        self.diagnostics
            .push(Diagnostic::at(Level::Error, self.file, span, message, hint));
    }

    /// The text of a required, non-blank key of an entry.
    fn required(
        &mut self,
        value: &Option<Spanned<String>>,
        key: &str,
        entry: Range<usize>,
    ) -> String {
        match value {
            Some(v) if !v.get_ref().trim().is_empty() => v.get_ref().trim().to_string(),
            Some(v) => {
                self.error(v.span(), format!("`{key}` is blank"), Some(why(key)));
                String::new()
            }
            None => {
                self.error(entry, format!("`{key}` is missing"), Some(why(key)));
                String::new()
            }
        }
    }

    fn line_of(&self, at: usize) -> usize {
        self.file
            .text
            .get(..at)
            .map_or(1, |before| before.matches('\n').count() + 1)
    }
}

fn why(key: &str) -> String {
    format!(
        "every overlay entry gives a `{key}`: `justification` says why the site departs from the formulary, `author` who decided it"
    )
}

impl Formulary {
    /// Applies the site overlay in `file`: checks it against this formulary's rules (every
    /// problem a located diagnostic) and, when it has no errors, tightens the limits it
    /// tightens and keeps the rest for [`Formulary::regrade`].
    pub fn apply_site(&mut self, file: &SourceFile) -> Result<(), LoadError> {
        let mut checker = Checker {
            file,
            diagnostics: Vec::new(),
        };
        let raw: RawSite = match toml::from_str(&file.text) {
            Ok(raw) => raw,
            Err(e) => {
                let (message, hint) = super::toml_message(&e, &file.text);
                let shape = "an overlay has `[site]`, `[hide_info]` and `[[rule]]` entries with `match`, `severity`, `limit`, `allow_loosen`, `justification` and `author`";
                checker.error(
                    e.span().unwrap_or(0..0),
                    message,
                    hint.or_else(|| Some(shape.into())),
                );
                return Err(LoadError {
                    diagnostics: checker.diagnostics,
                });
            }
        };
        let known = known_rules(self);
        let mut site = Site {
            name: raw.site.map(|s| s.name),
            file: file.name.clone(),
            ..Site::default()
        };
        let mut tightened: Vec<(String, Limit)> = Vec::new();
        if let Some(hide) = &raw.hide_info {
            let span = hide.span();
            let justification =
                checker.required(&hide.get_ref().justification, "justification", span.clone());
            let author = checker.required(&hide.get_ref().author, "author", span.clone());
            site.hide_info = Some(site.entries.len());
            site.entries.push(SiteEntry {
                at: format!("{}:{}", file.name, checker.line_of(span.start)),
                pattern: "[hide_info]".into(),
                justification,
                author,
            });
        }
        for entry in &raw.rule {
            let span = entry.span();
            let e = entry.get_ref();
            let justification = checker.required(&e.justification, "justification", span.clone());
            let author = checker.required(&e.author, "author", span.clone());
            let Some(pattern) = &e.pattern else {
                checker.error(
                    span,
                    "`match` is missing".into(),
                    Some("give the rule id, or a pattern such as `*.administration.*` (see `rxcheck formulary show`)".into()),
                );
                continue;
            };
            let index = site.entries.len();
            site.entries.push(SiteEntry {
                at: format!("{}:{}", file.name, checker.line_of(pattern.span().start)),
                pattern: pattern.get_ref().clone(),
                justification,
                author,
            });
            let text = pattern.get_ref().trim();
            let matched: Vec<&KnownRule> = if text.contains(['*', '?']) {
                let wild = WildMatch::new(text);
                known.iter().filter(|r| wild.matches(&r.id)).collect()
            } else {
                known.iter().filter(|r| r.id == text).collect()
            };
            if matched.is_empty() {
                let hint = closest(text, known.iter().map(|r| r.id.as_str())).map_or(
                    "`rxcheck formulary show rules` lists every rule id".to_string(),
                    |s| format!("did you mean `{s}`?"),
                );
                checker.error(
                    pattern.span(),
                    format!("`{text}` matches no rule of the formulary"),
                    Some(hint),
                );
                continue;
            }
            if e.severity.is_none() && e.limit.is_none() {
                checker.error(
                    span,
                    "the entry changes nothing".into(),
                    Some("give `severity` (hidden, info, warn or reject) or `limit`".into()),
                );
                continue;
            }
            if let Some(severity) = &e.severity {
                match Grade::parse(severity.get_ref().trim()) {
                    None => checker.error(
                        severity.span(),
                        format!("`{}` is not a severity an overlay can give", severity.get_ref()),
                        Some("use `hidden`, `info`, `warn` or `reject` (`invalid` findings are never changed)".into()),
                    ),
                    Some(grade) => {
                        let loosened = matched.iter().find(|r| r.severity == Severity::Reject && grade.below_warn());
                        match loosened {
                            Some(rule) if !e.allow_loosen => checker.error(
                                severity.span(),
                                format!("`{}` gives reject findings: making them `{}` loosens a reject below warn", rule.id, grade.as_str()),
                                Some("use `warn`, or add `allow_loosen = true` to the entry if the site really means it".into()),
                            ),
                            _ => {
                                for rule in &matched {
                                    let change = site.changes.entry(rule.id.clone()).or_default();
                                    change.grade = Some((index, grade));
                                    change.allow_loosen = e.allow_loosen;
                                }
                            }
                        }
                    }
                }
            }
            if let Some(limit) = &e.limit {
                for rule in &matched {
                    let Some((current, upper)) = rule.limit else {
                        checker.error(
                            limit.span(),
                            format!("`{}` is not a limit", rule.id),
                            Some("`limit` tightens dose, frequency, duration, age and combined daily limits; match those rules only".into()),
                        );
                        break;
                    };
                    match read_limit(limit.get_ref(), current) {
                        Err(message) => {
                            checker.error(
                                limit.span(),
                                format!("{message} (for `{}`)", rule.id),
                                None,
                            );
                            break;
                        }
                        Ok(new) if !tightens(new, current, upper) => {
                            checker.error(
                                limit.span(),
                                format!("{} loosens `{}` (the formulary's limit is {})", new.text(), rule.id, current.text()),
                                Some(format!("an overlay only tightens limits: {} a {} one; loosening a limit is an edit to the formulary", if upper { "a lower" } else { "a higher" }, if upper { "maximum needs" } else { "minimum needs" })),
                            );
                            break;
                        }
                        Ok(new) => {
                            let change = site.changes.entry(rule.id.clone()).or_default();
                            change.limit = Some((index, current.text(), new.text()));
                            tightened.push((rule.id.clone(), new));
                        }
                    }
                }
            }
        }
        if checker.diagnostics.iter().any(|d| d.level == Level::Error) {
            let mut diagnostics = checker.diagnostics;
            diagnostics.sort_by_key(|d| (d.line, d.column));
            return Err(LoadError { diagnostics });
        }
        for (id, value) in tightened {
            set_limit(self, &id, value);
        }
        self.site = Some(site);
        Ok(())
    }

    /// Applies the site overlay, if there is one, to one prescription's findings.
    pub fn regrade<'f>(&'f self, assessment: &mut Assessment<'f>) {
        if let Some(site) = &self.site {
            site.regrade(assessment);
        }
    }
}
