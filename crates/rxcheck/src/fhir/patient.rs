//! The patient's side of a prescription from FHIR: sex and birth date from Patient; active
//! conditions by ICD-10 code, SNOMED CT concept or name; active allergies by RxNorm code or
//! name; pregnancy, gestational age and breastfeeding from Observations (LOINC 82810-3,
//! 11449-6, 49051-6, 63895-7) or Patient extensions. The latest Observation of each kind
//! wins: instants compare as instants, dates by day, and of statements that cannot be
//! ordered the one that reports most (a pregnancy) wins. A pregnancy stated more than 45
//! weeks ago, or whose recorded week would now be past week 45, is over.

use super::model::{CodeableConcept, Observation, Patient, Quantity, Recorded, Value};
use super::order::date_part;
use super::text::{coded_name, find_words, is_system, texts};
use super::{Located, finding};
use crate::finding::{Finding, Severity};
use crate::formulary::{Formulary, normalize_icd10};
use crate::request::{
    BREASTFEEDING_ICD10, Field, MAX_GESTATIONAL_WEEK, PREGNANCY_ICD10, parse_date,
};
use chrono::{DateTime, FixedOffset, Months, NaiveDate};
use rust_decimal::Decimal;

/// The patient's prescription fields, and what could not be read of them.
pub(super) struct Chart {
    pub fields: Vec<(Field, String)>,
    pub findings: Vec<Finding<'static>>,
}

/// What an Observation or extension is about.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Pregnant,
    GestationalWeek,
    Breastfeeding,
}

/// One statement of a kind: its value, and the FHIR date or dateTime it was made on (empty
/// when it has none).
struct Statement {
    kind: Kind,
    value: String,
    date: String,
}

/// When a statement was made, as far as its date says.
#[derive(Clone, Copy)]
enum When {
    Undated,
    /// A date (or a dateTime without an offset): its first and last day, in no known zone.
    Days(NaiveDate, NaiveDate),
    /// A dateTime with an offset.
    Instant(DateTime<FixedOffset>),
}

impl When {
    fn of(text: &str) -> When {
        let text = text.trim();
        let instant = DateTime::parse_from_rfc3339(text)
            .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%#z"));
        match (instant, days(text)) {
            (Ok(t), _) => When::Instant(t),
            (_, Some((first, last))) => When::Days(first, last),
            _ => When::Undated,
        }
    }

    /// Its first and last day; an instant's is its date as written.
    fn days(self) -> Option<(NaiveDate, NaiveDate)> {
        match self {
            When::Undated => None,
            When::Days(first, last) => Some((first, last)),
            When::Instant(t) => Some((t.date_naive(), t.date_naive())),
        }
    }

    /// Whether it is certainly later than `other`: two instants compare as instants, anything
    /// else by days (a date is not later than an instant of its day, nor earlier), and a
    /// dated statement is later than an undated one.
    fn after(self, other: When) -> bool {
        match (self, other) {
            (When::Instant(a), When::Instant(b)) => a > b,
            (When::Undated, _) => false,
            (_, When::Undated) => true,
            _ => match (self.days(), other.days()) {
                (Some((first, _)), Some((_, last))) => first > last,
                _ => false,
            },
        }
    }
}

pub(super) fn read<'a>(
    formulary: &Formulary,
    resources: impl Iterator<Item = &'a Located>,
    as_of: NaiveDate,
) -> Chart {
    let mut chart = Chart {
        fields: Vec::new(),
        findings: Vec::new(),
    };
    let mut conditions = Vec::new();
    let mut allergies = Vec::new();
    let mut statements: Vec<Statement> = Vec::new();
    let mut patients = 0;
    let mut first_patient = None;
    // Pregnancy and breastfeeding recorded as active Conditions.
    let mut status_conditions = Vec::new();
    for at in resources {
        match at.kind() {
            "Patient" => {
                // The same Patient again (a search's `_include`, or another prefetch key's
                // copy) is no second patient.
                if at.id().is_some() && at.id() == first_patient {
                    continue;
                }
                patients += 1;
                first_patient = first_patient.or(at.id());
                if patients > 1 {
                    chart.findings.push(finding(
                        Severity::Invalid,
                        format!(
                            "`{}` is a second Patient: the input must be about one patient",
                            at.path
                        ),
                    ));
                    continue;
                }
                match at.read::<Patient>() {
                    Ok(p) => patient(&p, at, &mut chart, &mut statements),
                    Err(e) => chart.findings.push(e),
                }
            }
            "Condition" => match at.read::<Recorded>() {
                Ok(c) => match c.code.as_ref().and_then(status_coded) {
                    Some(kind) if c.is_active() => {
                        let when = c.onset_date_time.or(c.recorded_date);
                        status_conditions.push((kind, when));
                    }
                    Some(_) => {}
                    None if c.is_current() => condition(
                        formulary,
                        c.code.as_ref(),
                        at,
                        &mut conditions,
                        &mut chart.findings,
                    ),
                    None => {}
                },
                Err(e) => chart.findings.push(e),
            },
            "AllergyIntolerance" => match at.read::<Recorded>() {
                Ok(a) if a.code.as_ref().is_some_and(says_no_allergy) => {}
                Ok(a) if a.is_active() => allergies.push(allergen(formulary, a.code.as_ref(), at)),
                Ok(_) => {}
                Err(e) => chart.findings.push(e),
            },
            "Observation" => match at.read::<Observation>() {
                Ok(o) => observation(&o, at, &mut chart, &mut statements),
                Err(e) => chart.findings.push(e),
            },
            _ => {}
        }
    }
    // An active Condition says what held when it began (or was recorded), or else on the day
    // of the check: an older Observation does not outweigh it, one of the same day ties (the
    // status that reports most wins), and a pregnancy that began over 45 weeks ago is over.
    let today = as_of.format("%Y-%m-%d").to_string();
    for (kind, when) in status_conditions {
        remember(
            &mut statements,
            kind,
            when.as_deref().unwrap_or(&today),
            "yes".into(),
        );
    }
    let week = latest(&statements, Kind::GestationalWeek)
        .map(|w| (When::of(&w.date), weeks_on(&w.value, &w.date, as_of)));
    // Stated more than 45 weeks ago.
    let stale = |when: When| {
        when.days().is_some_and(|(_, last)| {
            (as_of - last).num_days() > i64::from(MAX_GESTATIONAL_WEEK) * 7
        })
    };
    // A "no" over 45 weeks old, or of no known date, says nothing of today (a pregnancy or
    // breastfeeding may have begun since): the status is unknown.
    let silent_no = |s: &Statement| {
        let when = When::of(&s.date);
        s.value == "no" && (stale(when) || matches!(when, When::Undated))
    };
    // A pregnancy stated so long ago that it must be over is none now: its status is unknown.
    let over = |p: &Statement| {
        let when = When::of(&p.date);
        // A week recorded no earlier than the statement, past the last week by now.
        let past = week
            .as_ref()
            .is_some_and(|(recorded, now)| now.is_empty() && !when.after(*recorded));
        (p.value == "yes" && (stale(when) || past)) || silent_no(p)
    };
    if let Some(p) = latest(&statements, Kind::Pregnant).filter(|p| !over(p)) {
        chart.fields.push((Field::Pregnant, p.value.clone()));
    }
    if let Some((_, now)) = week {
        chart.fields.push((Field::GestationalWeek, now));
    }
    let breastfeeding = latest(&statements, Kind::Breastfeeding);
    if let Some(b) = breastfeeding.filter(|b| !silent_no(b)) {
        chart.fields.push((Field::Breastfeeding, b.value.clone()));
    }
    chart.fields.push((Field::Conditions, conditions.join(";")));
    chart.fields.push((Field::Allergies, allergies.join(";")));
    chart
}

/// A FHIR birth date as the birth_date field takes it. A partial one (`1980`, `1980-07`, as
/// FHIR allows) is read as its last possible day: the youngest the patient can be, the safer
/// reading for the minimum ages the rules set.
fn latest_birth_date(birth: &str) -> String {
    let birth = birth.trim();
    days(birth)
        .filter(|_| matches!(birth.len(), 4 | 7))
        .map_or_else(
            || birth.to_string(),
            |(_, last)| last.format("%Y-%m-%d").to_string(),
        )
}

/// The first and last day of a FHIR date (`1980`, `1980-07`, `1980-07-15`) or of the date of
/// a dateTime.
fn days(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    let text = text.trim();
    let (first, months) = match text.len() {
        4 => (parse_date(&format!("{text}-01-01"))?, 12),
        7 => (parse_date(&format!("{text}-01"))?, 1),
        _ => {
            let day = parse_date(&date_part(text))?;
            return Some((day, day));
        }
    };
    let last = first.checked_add_months(Months::new(months))?.pred_opt()?;
    Some((first, last))
}

fn patient(p: &Patient, at: &Located, chart: &mut Chart, statements: &mut Vec<Statement>) {
    if let Some(gender) = &p.gender {
        chart.fields.push((Field::Sex, gender.clone()));
    }
    if let Some(birth) = &p.birth_date {
        chart
            .fields
            .push((Field::BirthDate, latest_birth_date(birth)));
    }
    for (i, e) in p.extension.iter().enumerate() {
        let Some(kind) = e.url.as_deref().and_then(extension_kind) else {
            continue;
        };
        let path = format!("{}.extension[{i}]", at.path);
        match status_value(kind, e.value()) {
            Some(value) => remember(statements, kind, "", value),
            None => chart.findings.push(finding(
                Severity::Invalid,
                format!("`{path}` cannot be read as {}", describe(kind)),
            )),
        }
    }
}

/// The kind of a Patient extension, by the last segment of its URL (`.../pregnancyStatus`).
fn extension_kind(url: &str) -> Option<Kind> {
    let last = url
        .rsplit(['/', '#'])
        .next()?
        .to_ascii_lowercase()
        .replace(['-', '_'], "");
    match last.as_str() {
        "pregnant" | "pregnancy" | "pregnancystatus" => Some(Kind::Pregnant),
        "gestationalage" | "gestationalweek" => Some(Kind::GestationalWeek),
        "breastfeeding" | "breastfeedingstatus" | "lactation" | "lactationstatus" => {
            Some(Kind::Breastfeeding)
        }
        _ => None,
    }
}

/// A statement of `kind` read from a value: weeks from a quantity or a whole number; a
/// status from a boolean, a coded concept, or a code or text.
fn status_value(kind: Kind, v: Value<'_>) -> Option<String> {
    match kind {
        Kind::GestationalWeek => v
            .quantity
            .and_then(weeks)
            .or_else(|| v.integer.map(|w| w.to_string())),
        Kind::Pregnant | Kind::Breastfeeding => v
            .boolean
            .map(yes_no)
            .or_else(|| v.concept.and_then(|c| flag_concept(kind, c)))
            .or_else(|| v.code.or(v.string).and_then(|t| flag_text(kind, t))),
    }
}

fn describe(kind: Kind) -> &'static str {
    match kind {
        Kind::Pregnant => "a pregnancy status (yes, no or unknown)",
        Kind::GestationalWeek => "a gestational age in weeks or days",
        Kind::Breastfeeding => "a breastfeeding status (yes, no or unknown)",
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn remember(statements: &mut Vec<Statement>, kind: Kind, date: &str, value: String) {
    statements.push(Statement {
        kind,
        value,
        date: date.to_string(),
    });
}

/// The statement of `kind` that holds: of those no other is certainly later than, the one
/// that reports most (fail closed when times cannot be ordered, as a date and an instant of
/// the same day).
fn latest(statements: &[Statement], kind: Kind) -> Option<&Statement> {
    let dated = || {
        statements
            .iter()
            .filter(move |s| s.kind == kind)
            .map(|s| (s, When::of(&s.date)))
    };
    dated()
        .filter(|(_, when)| !dated().any(|(_, other)| other.after(*when)))
        .max_by_key(|(s, _)| concern(kind, &s.value))
        .map(|(s, _)| s)
}

/// How much a value reports: yes over unknown over no; a later gestational week.
fn concern(kind: Kind, value: &str) -> u32 {
    match (kind, value) {
        (Kind::GestationalWeek, weeks) => weeks.parse().unwrap_or(0),
        (_, "yes") => 2,
        (_, "unknown") => 1,
        _ => 0,
    }
}

fn observation(o: &Observation, at: &Located, chart: &mut Chart, statements: &mut Vec<Statement>) {
    if matches!(o.status.as_deref(), Some("entered-in-error" | "cancelled")) {
        return;
    }
    let Some(code) = &o.code else {
        return;
    };
    let kind = code
        .coding
        .iter()
        .filter(|c| is_system(c.system.as_deref(), "loinc"))
        .find_map(|c| match c.code.as_deref()? {
            "82810-3" | "11449-6" => Some(Kind::Pregnant),
            "49051-6" => Some(Kind::GestationalWeek),
            "63895-7" => Some(Kind::Breastfeeding),
            _ => None,
        });
    let Some(kind) = kind else {
        return;
    };
    let value = status_value(kind, o.value());
    match value {
        Some(value) => {
            // When it held: its effective[x] (a period's end, or its start), else when issued.
            let period = o.effective_period.as_ref();
            let date = (o.effective_date_time.as_ref())
                .or(o.effective_instant.as_ref())
                .or(period.and_then(|p| p.end.as_ref().or(p.start.as_ref())))
                .or(o.issued.as_ref())
                .cloned()
                .unwrap_or_default();
            // A week of no known date may be far on by now: a pregnancy of unknown week.
            match (kind, When::of(&date)) {
                (Kind::GestationalWeek, When::Undated) => {
                    remember(statements, Kind::Pregnant, &date, "yes".into());
                }
                _ => remember(statements, kind, &date, value),
            }
        }
        None => chart.findings.push(finding(
            Severity::Invalid,
            format!(
                "`{}.value[x]` cannot be read as {}",
                at.path,
                describe(kind)
            ),
        )),
    }
}

/// A gestational age of `weeks` completed weeks recorded on `recorded` (a FHIR date or
/// dateTime), moved on to `as_of` at the latest it can be by then (the record's week may have
/// been six days from ending): 20 weeks recorded 120 days ago is read as 38 (37 weeks 1 day to
/// 38 weeks). As recorded when the record has no readable date or is not earlier; empty (a
/// pregnancy of unknown week) when it would pass the last week a pregnancy can reach.
fn weeks_on(weeks: &str, recorded: &str, as_of: NaiveDate) -> String {
    let days = parse_date(&date_part(recorded)).map(|on| (as_of - on).num_days());
    match (weeks.parse::<i64>(), days) {
        (Ok(weeks), Some(days)) if days > 0 => {
            let now = weeks.saturating_add((days + 6) / 7);
            match now <= i64::from(MAX_GESTATIONAL_WEEK) {
                true => now.to_string(),
                false => String::new(),
            }
        }
        _ => weeks.to_string(),
    }
}

/// Completed weeks from a Quantity in weeks or days.
fn weeks(q: &Quantity) -> Option<String> {
    let value = q.value?;
    let unit = q
        .code
        .as_deref()
        .or(q.unit.as_deref())
        .unwrap_or("wk")
        .trim()
        .to_ascii_lowercase();
    let weeks = match unit.as_str() {
        "wk" | "week" | "weeks" | "w" => value,
        "d" | "day" | "days" => value.checked_div(Decimal::from(7))?,
        _ => return None,
    };
    let whole = u32::try_from(weeks.floor())
        .ok()
        .filter(|w| *w <= MAX_GESTATIONAL_WEEK * 2)?;
    Some(whole.to_string())
}

/// A yes / no / unknown status from a coded answer (SNOMED CT 77386006 pregnant, 60001007
/// not pregnant, 413712001 breastfeeding, 169750002 not breastfeeding, 261665006 unknown,
/// 152231000119106 pregnancy not yet confirmed, 271903000 pregnancy ruled out; LOINC
/// answers LA15173-0, LA26683-5, LA4489-6) or its text.
fn flag_concept(kind: Kind, c: &CodeableConcept) -> Option<String> {
    let coded = c
        .coding
        .iter()
        .find_map(|coding| match (kind, coding.code.as_deref()?) {
            (_, "261665006" | "LA4489-6") | (Kind::Pregnant, "152231000119106") => Some("unknown"),
            (Kind::Pregnant, "77386006" | "LA15173-0") => Some("yes"),
            (Kind::Pregnant, "60001007" | "LA26683-5" | "271903000") => Some("no"),
            (Kind::Breastfeeding, "413712001") => Some("yes"),
            (Kind::Breastfeeding, "169750002") => Some("no"),
            _ => None,
        });
    coded
        .map(str::to_string)
        .or_else(|| texts(c).find_map(|t| flag_text(kind, t)))
}

/// Words that say a status is not so, whatever else the text names: "Pregnancy ruled out",
/// "Pregnancy test negative", "Denies pregnancy", "Postmenopausal".
const NEGATIVE: [&str; 8] = [
    "ruled out",
    "excluded",
    "negative",
    "denies",
    "denied",
    "absent",
    "postmenopaus",
    "not currently",
];

/// Words that leave a status open: "Pregnancy not yet confirmed", "possible pregnancy".
const OPEN: [&str; 10] = [
    "unknown",
    "not yet",
    "not confirmed",
    "unconfirmed",
    "possib",
    "suspect",
    "uncertain",
    "pending",
    "not sure",
    "unlikely",
];

/// A status from words: "not pregnant", "Currently breastfeeding", "yes", "unknown",
/// "Pregnancy not yet confirmed" (unknown).
fn flag_text(kind: Kind, text: &str) -> Option<String> {
    let t = text.trim().to_lowercase();
    let word = match kind {
        Kind::Pregnant => "pregnan",
        _ => "breast",
    };
    let answer = if NEGATIVE.iter().any(|w| t.contains(w)) || t.ends_with(": no") {
        "no"
    } else if OPEN.iter().any(|w| t.contains(w)) || t == "unk" || t == "?" {
        "unknown"
    } else if t.starts_with("no") || t.contains("not ") || t == "false" || t == "n" {
        "no"
    } else if t == "yes" || t == "true" || t == "y" || t.contains(word) || t.contains("lactat") {
        "yes"
    } else {
        return None;
    };
    Some(answer.to_string())
}

/// A current condition as the conditions field gives it: ICD-10 codes as written, SNOMED CT
/// concepts as the formulary conditions they are, else a name of the vocabulary. A concept
/// coded only in terminologies the formulary does not list is recorded as not checked.
fn condition(
    formulary: &Formulary,
    code: Option<&CodeableConcept>,
    at: &Located,
    out: &mut Vec<String>,
    findings: &mut Vec<Finding<'static>>,
) {
    let Some(code) = code else {
        findings.push(finding(
            Severity::Invalid,
            format!(
                "`{}.code` is missing: the condition cannot be checked",
                at.path
            ),
        ));
        return;
    };
    let before = out.len();
    for coding in &code.coding {
        let Some(value) = coding
            .code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        else {
            continue;
        };
        if is_system(coding.system.as_deref(), "icd-10") {
            out.push(value.replace(';', ""));
        } else if is_system(coding.system.as_deref(), "snomed") {
            for &c in formulary.conditions_for_snomed(value) {
                if let Some(condition) = formulary.conditions.get(c) {
                    out.push(condition.id.clone());
                }
            }
        }
    }
    if out.len() > before {
        return;
    }
    // A display named exactly, SNOMED CT's semantic tag aside (`Asthma (disorder)`).
    let untagged = |t: &str| {
        let t = t.trim();
        match t.strip_suffix(')').and_then(|rest| rest.rsplit_once(" (")) {
            Some((name, _)) => name.to_string(),
            None => t.to_string(),
        }
    };
    if let Some(id) = texts(code).find_map(|t| formulary.find_condition(&untagged(t))) {
        if let Some(condition) = formulary.conditions.get(id) {
            out.push(condition.id.clone());
        }
        return;
    }
    // A condition's name within the text (`Mild persistent asthma`) is a hint only (`Cardiac
    // asthma` is no asthma), unless the text is about someone else or the condition's absence.
    let about_the_patient = |t: &&str| {
        let t = t.to_lowercase();
        ![
            "family history",
            "history of no",
            "no history",
            "absence of",
            "ruled out",
            "denies",
        ]
        .iter()
        .any(|not| t.contains(not))
    };
    let hinted = texts(code)
        .filter(about_the_patient)
        .find_map(|t| {
            let about = |w: &str| {
                formulary
                    .find_condition(w)
                    .filter(|&id| formulary.has_rules_about(id))
            };
            find_words(t, about).map(|(_, id)| id)
        })
        .and_then(|id| formulary.conditions.get(id));
    let name = texts(code).next().map(str::to_string);
    match (code.coding.iter().any(|c| c.code.is_some()), name) {
        (true, Some(name)) => match hinted {
            // Its name speaks of a condition the rules are about: checked by hand.
            Some(condition) => findings.push(finding(
                Severity::Warn,
                format!(
                    "`{}` ({name}) is coded in no code the formulary lists for its conditions, and its name speaks of {} (`{}`): check it against the contraindications by hand",
                    at.path, condition.label, condition.id
                ),
            )),
            // Named as nothing the rules are about.
            None => findings.push(finding(
                Severity::Info,
                format!(
                    "`{}` ({name}) is coded in no code the formulary lists for its conditions; it is not checked",
                    at.path,
                ),
            )),
        },
        // Unnamed, it may be any condition, one the rules are about too.
        (true, None) => findings.push(finding(
            Severity::Warn,
            format!(
                "`{}` is coded in no code the formulary lists for its conditions and has no name, so it cannot be checked against the contraindications: check it by hand",
                at.path,
            ),
        )),
        // A name alone goes to the vocabulary as written: an unknown one is `invalid`.
        (false, Some(name)) => out.push(name.replace(';', ",")),
        (false, None) => findings.push(finding(
            Severity::Invalid,
            format!("`{}.code` gives neither a code nor a name", at.path),
        )),
    }
}

/// The status a Condition's code records, if it records one: a pregnancy (SNOMED CT
/// 77386006 pregnant or 72892002 normal pregnancy, or the ICD-10 codes of
/// [`PREGNANCY_ICD10`]) or breastfeeding (SNOMED CT 413712001, or ICD-10 Z39.1,
/// care of the lactating mother).
fn status_coded(code: &CodeableConcept) -> Option<Kind> {
    code.coding.iter().find_map(|c| {
        let k = c.code.as_deref()?.trim();
        let icd10 = |codes: &[&str]| {
            is_system(c.system.as_deref(), "icd-10")
                && normalize_icd10(k).is_some_and(|k| codes.iter().any(|p| k.starts_with(p)))
        };
        let snomed = |code: &str| is_system(c.system.as_deref(), "snomed") && k == code;
        if snomed("77386006") || snomed("72892002") || icd10(&PREGNANCY_ICD10) {
            Some(Kind::Pregnant)
        } else if snomed("413712001") || icd10(&BREASTFEEDING_ICD10) {
            Some(Kind::Breastfeeding)
        } else {
            None
        }
    })
}

/// SNOMED CT concepts that record no allergy: no known allergy, no known history of drug
/// allergy, no known environmental allergy, no known food allergy.
const NO_KNOWN_ALLERGY: [&str; 4] = ["716186003", "409137002", "428607008", "429625007"];

/// Whether an AllergyIntolerance's code records that there is none.
fn says_no_allergy(code: &CodeableConcept) -> bool {
    code.coding.iter().any(|c| {
        is_system(c.system.as_deref(), "snomed")
            && c.code
                .as_deref()
                .is_some_and(|k| NO_KNOWN_ALLERGY.contains(&k.trim()))
    })
}

/// An allergy's substance as the allergies field names it: the formulary drug of an RxNorm
/// code, the name an ingredient or substance code means, a known name found in its text, its
/// text as written, else its code (`RxNorm 723`) or, with none, where it is. A name the
/// vocabulary does not know is then reported as an allergy that could not be screened, as in
/// any prescription.
fn allergen(formulary: &Formulary, code: Option<&CodeableConcept>, at: &Located) -> String {
    let Some(code) = code else {
        return at.path.clone();
    };
    let by_code = code.coding.iter().find_map(|c| {
        if !is_system(c.system.as_deref(), "rxnorm") {
            return None;
        }
        let (drug, _) = formulary.rxnorm_product(c.code.as_deref()?)?;
        formulary.drugs.get(drug).map(|d| d.id.clone())
    });
    by_code
        .or_else(|| {
            let coded = code.coding.iter().find_map(|c| coded_name(formulary, c));
            coded.map(str::to_string)
        })
        .or_else(|| {
            texts(code).find_map(|t| {
                find_words(t, |w| formulary.lookup_name(w).is_known().then_some(())).map(|f| f.0)
            })
        })
        .or_else(|| texts(code).next().map(|t| t.replace(';', ",")))
        .or_else(|| {
            code.coding.iter().find_map(|c| {
                let value = c.code.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
                let system = c.system.as_deref();
                let label = if is_system(system, "rxnorm") {
                    "RxNorm"
                } else if is_system(system, "snomed") {
                    "SNOMED CT"
                } else {
                    system.unwrap_or("code")
                };
                Some(format!("{label} {value}").replace([';', ',', '|'], " "))
            })
        })
        .unwrap_or_else(|| at.path.clone())
}
