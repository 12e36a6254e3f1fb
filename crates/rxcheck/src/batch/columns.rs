//! The header row: which column holds which prescription field, worked out once per file.
//! Names match after normalising (case, spaces, hyphens, underscores, a parenthesised note and
//! a trailing plural), known synonyms are accepted, a mapping names any other export's
//! columns, and a column that nearly names a field stops the run rather than being ignored.

use crate::formulary::closest;
use crate::request::Field;

/// What a column may hold: a prescription field, or the patient id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnTarget {
    Field(Field),
    PatientId,
}

impl ColumnTarget {
    /// Every target, fields first.
    fn all() -> impl Iterator<Item = ColumnTarget> {
        Field::ALL
            .into_iter()
            .map(ColumnTarget::Field)
            .chain([ColumnTarget::PatientId])
    }

    /// The column's own name (`times_per_day`, `patient_id`).
    pub fn name(self) -> &'static str {
        match self {
            ColumnTarget::Field(f) => f.name(),
            ColumnTarget::PatientId => "patient_id",
        }
    }

    /// A target by its column name (after normalising).
    pub fn from_name(name: &str) -> Option<ColumnTarget> {
        let key = normalize_header(name);
        Self::all().find(|t| normalize_header(t.name()) == key)
    }

    /// Whether a normalised header (`key`) is this target's name or one of its synonyms.
    fn is_named(self, key: &str) -> bool {
        normalize_header(self.name()) == key
            || self.synonyms().iter().any(|s| normalize_header(s) == key)
    }

    /// Other header names that mean the same column, as exports write them.
    pub fn synonyms(self) -> &'static [&'static str] {
        match self {
            ColumnTarget::Field(field) => match field {
                Field::RxId => &["id", "rx", "prescription_id", "order_id", "rx_number"],
                Field::Drug => &[
                    "medication",
                    "medicine",
                    "drug_name",
                    "medication_name",
                    "drug_product",
                ],
                Field::Form => &["dosage_form", "dose_form", "formulation"],
                Field::Strength => &["drug_strength", "product_strength"],
                Field::UnitVolume => &[
                    "ampoule_volume",
                    "volume_per_unit",
                    "unit_volume_ml",
                    "container_volume",
                ],
                Field::Dose => &["single_dose", "dose_per_administration", "dose_amount"],
                Field::TimesPerDay => &["frequency", "freq", "doses_per_day", "times_daily"],
                Field::DurationDays => &["duration", "days", "course_days", "days_supply"],
                Field::AgeYears => &["age", "patient_age"],
                Field::BirthDate => &["dob", "date_of_birth", "birthdate", "birthday"],
                Field::Sex => &[
                    "gender",
                    "patient_sex",
                    "sex_at_birth",
                    "administrative_gender",
                ],
                Field::Date => &[
                    "prescription_date",
                    "rx_date",
                    "order_date",
                    "date_written",
                    "start_date",
                ],
                Field::Pregnant => &["pregnancy", "is_pregnant", "pregnancy_status"],
                Field::GestationalWeek => &[
                    "gestational_age",
                    "gestation_week",
                    "pregnancy_week",
                    "weeks_pregnant",
                ],
                Field::Breastfeeding => &["lactation", "lactating", "nursing"],
                Field::Conditions => &[
                    "diagnosis",
                    "diagnoses",
                    "icd10",
                    "icd10_codes",
                    "comorbidities",
                    "problems",
                ],
                Field::Allergies => &["allergens", "drug_allergies", "allergy_list"],
                Field::CoMedications => &[
                    "comedication",
                    "concomitant_medications",
                    "current_medications",
                    "other_medications",
                    "other_drugs",
                ],
            },
            ColumnTarget::PatientId => &["patient", "mrn", "subject_id", "person_id"],
        }
    }
}

/// Names a user gives for columns the header matching does not find on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    /// Each target with the header(s) that hold it; several headers are joined by a space
    /// (a dose split into value and unit columns).
    pub map: Vec<(ColumnTarget, Vec<String>)>,
    /// Headers to ignore even though they look like a field's.
    pub ignore: Vec<String>,
}

/// Why a mapping could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("`{0}` is not FIELD=HEADER (such as `drug=drug_name`)")]
    NotAPair(String),
    #[error("`{given}` is not a column rxcheck reads{hint}; it reads {known}")]
    UnknownTarget {
        given: String,
        hint: String,
        known: String,
    },
    #[error("column mapping file: {0}")]
    File(String),
}

impl ColumnMap {
    /// Adds `FIELD=HEADER` (`--column`).
    pub fn add_pair(&mut self, pair: &str) -> Result<(), MappingError> {
        let (target, header) = pair
            .split_once('=')
            .ok_or_else(|| MappingError::NotAPair(pair.to_string()))?;
        let target = target_named(target)?;
        self.map.push((target, vec![header.trim().to_string()]));
        Ok(())
    }

    /// Reads a mapping file (`--columns`): `FIELD = "HEADER"` or `FIELD = ["HEADER", ...]`,
    /// and `ignore = ["HEADER", ...]`.
    pub fn from_toml(text: &str) -> Result<ColumnMap, MappingError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let (message, _) = crate::formulary::toml_message(&e, text);
            let line = crate::formulary::line_of(text, e.span().map_or(0, |s| s.start));
            MappingError::File(format!("line {line}: {message}"))
        })?;
        let mut map = ColumnMap::default();
        for (key, value) in table {
            let headers = match value {
                toml::Value::String(s) => vec![s],
                toml::Value::Array(items) => items
                    .into_iter()
                    .map(|i| match i {
                        toml::Value::String(s) => Ok(s),
                        other => Err(MappingError::File(format!(
                            "`{key}`: `{other}` is not a header name (write it in quotes)"
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
                other => {
                    return Err(MappingError::File(format!(
                        "`{key}`: `{other}` is not a header name or a list of them"
                    )));
                }
            };
            if key == "ignore" {
                map.ignore.extend(headers);
                continue;
            }
            let target = target_named(&key)?;
            if headers.is_empty() {
                return Err(MappingError::File(format!("`{key}` names no header")));
            }
            if headers.len() > 1 && target == ColumnTarget::PatientId {
                return Err(MappingError::File(
                    "`patient_id` is one column; it cannot be joined from several".into(),
                ));
            }
            map.map.push((target, headers));
        }
        Ok(map)
    }
}

fn target_named(name: &str) -> Result<ColumnTarget, MappingError> {
    ColumnTarget::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = ColumnTarget::all().map(ColumnTarget::name).collect();
        MappingError::UnknownTarget {
            given: name.trim().to_string(),
            hint: closest(name.trim(), names.iter().copied())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default(),
            known: names.join(", "),
        }
    })
}

/// Normalises a header name for matching: a parenthesised note dropped (`Conditions (ICD-10)`),
/// lower case, only letters and digits kept, and a trailing plural taken off (`Allergies` and
/// `allergy` are one name).
pub fn normalize_header(name: &str) -> String {
    let without_note = match (name.find('('), name.rfind(')')) {
        (Some(open), Some(close)) if open < close && open > 0 => {
            let before = name.get(..open).unwrap_or_default();
            let after = name.get(close + 1..).unwrap_or_default();
            format!("{before}{after}")
        }
        _ => name.to_string(),
    };
    let mut key: String = without_note
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    if key.ends_with("ies") && key.len() > 4 {
        key.truncate(key.len() - 3);
        key.push('y');
    } else if key.ends_with('s') && !key.ends_with("ss") && key.len() > 3 {
        key.pop();
    }
    key
}

/// Column positions of the prescription fields in a header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// The column of each field, in the order of [`Field::ALL`].
    fields: [Option<usize>; Field::COUNT],
    /// Fields made of several columns joined by a space, each with its columns.
    pub joined: Vec<(Field, Vec<usize>)>,
    pub patient_id: Option<usize>,
    /// How many fields the header has.
    pub width: usize,
    /// Columns no field took, as written: listed once in the summary.
    pub ignored: Vec<String>,
    /// Columns the header gives no name (a row's value there cannot be told what it is).
    pub nameless: Vec<usize>,
}

/// A header rxcheck cannot read safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error(
        "the header has no `{missing}` column (it has: {found}); map one with --column {field}=HEADER, or check the delimiter with --delimiter"
    )]
    Missing {
        missing: &'static str,
        field: &'static str,
        found: String,
    },
    #[error(
        "column `{column}` is not one rxcheck reads, but it looks like `{field}`: did you mean `{field}`? Map it with --column {field}=\"{column}\" (a --columns file joins it to another: {field} = [\"A\", \"{column}\"]), or skip it with --ignore-column \"{column}\""
    )]
    NearMiss { column: String, field: &'static str },
    #[error(
        "column `{column}` means `{field}`, but the mapping reads `{field}` from `{other}`, so `{column}` would go unread; join both with a --columns file ({field} = [\"{column}\", \"{other}\"]), or skip it with --ignore-column \"{column}\""
    )]
    Displaced {
        column: String,
        field: &'static str,
        other: String,
    },
    #[error(
        "columns `{first}` and `{second}` both mean `{field}`; keep one with --column {field}=HEADER and --ignore-column for the other"
    )]
    Twice {
        field: &'static str,
        first: String,
        second: String,
    },
    #[error("the mapping names column `{0}`, which the header does not have")]
    MappedNotFound(String),
    #[error(
        "the mapping reads column `{column}` as both `{first}` and `{second}`; a column holds one field: map it to one"
    )]
    MappedTwice {
        column: String,
        first: &'static str,
        second: &'static str,
    },
    #[error(
        "column `{column}` gives {field} in {unit}, but rxcheck reads {field} in {expected}; convert the column to {expected}, or skip it with --ignore-column \"{column}\""
    )]
    OtherUnit {
        column: String,
        field: &'static str,
        unit: &'static str,
        expected: &'static str,
    },
}

impl Columns {
    /// Maps header names, with a user's mapping on top; see the module comment.
    pub fn from_header<'a>(
        names: impl IntoIterator<Item = &'a str>,
        mapping: &ColumnMap,
    ) -> Result<Columns, HeaderError> {
        let written: Vec<&str> = names.into_iter().map(str::trim).collect();
        let keys: Vec<String> = written.iter().map(|n| normalize_header(n)).collect();
        let position = |header: &str| {
            written
                .iter()
                .position(|w| w.eq_ignore_ascii_case(header.trim()))
                .or_else(|| {
                    let key = normalize_header(header);
                    keys.iter().position(|k| *k == key)
                })
        };
        let mut taken: Vec<Option<ColumnTarget>> = vec![None; written.len()];
        // A column holds one field: a mapping that reads it as two is refused.
        let claim =
            |taken: &mut Vec<Option<ColumnTarget>>, at: usize, target: ColumnTarget| match taken
                .get_mut(at)
            {
                Some(Some(other)) if *other != target => Err(HeaderError::MappedTwice {
                    column: written.get(at).copied().unwrap_or("").to_string(),
                    first: other.name(),
                    second: target.name(),
                }),
                Some(t) => {
                    *t = Some(target);
                    Ok(())
                }
                None => Ok(()),
            };
        let mut columns = Columns {
            width: written.len(),
            ..Columns::default()
        };
        let place = |columns: &mut Columns,
                     taken: &mut Vec<Option<ColumnTarget>>,
                     target: ColumnTarget,
                     at: usize|
         -> Result<(), HeaderError> {
            let slot = match target {
                ColumnTarget::Field(f) => columns.fields.get_mut(f.index()),
                ColumnTarget::PatientId => Some(&mut columns.patient_id),
            };
            claim(taken, at, target)?;
            if let Some(slot) = slot {
                if let Some(first) = *slot {
                    return Err(HeaderError::Twice {
                        field: target.name(),
                        first: written.get(first).copied().unwrap_or("").to_string(),
                        second: written.get(at).copied().unwrap_or("").to_string(),
                    });
                }
                *slot = Some(at);
            }
            Ok(())
        };
        let ignored: Vec<usize> = mapping.ignore.iter().filter_map(|h| position(h)).collect();
        for (target, headers) in &mapping.map {
            let mut at = Vec::new();
            for header in headers {
                at.push(
                    position(header).ok_or_else(|| HeaderError::MappedNotFound(header.clone()))?,
                );
            }
            match (target, at.as_slice()) {
                (_, [one]) => place(&mut columns, &mut taken, *target, *one)?,
                (ColumnTarget::Field(field), several) => {
                    for &column in several {
                        claim(&mut taken, column, *target)?;
                    }
                    columns.joined.push((*field, several.to_vec()));
                }
                (ColumnTarget::PatientId, _) => {}
            }
        }
        let mapped = |target: ColumnTarget| mapping.map.iter().any(|(t, _)| *t == target);
        let mut unknown = Vec::new();
        let mut displaced = Vec::new();
        for (at, key) in keys.iter().enumerate() {
            if taken.get(at).copied().flatten().is_some() || ignored.contains(&at) {
                continue;
            }
            let column = written.get(at).copied().unwrap_or("");
            // A field of time named with its unit (`duration_in_days`) is that field; in
            // another unit (`duration_weeks`), it stops the run (below).
            let target = ColumnTarget::all()
                .find(|t| t.is_named(key))
                .or_else(|| named_with_a_unit(column));
            match target {
                // A user's mapping for the target wins over a column that merely looks like it.
                Some(t) if mapped(t) => displaced.push((at, t)),
                Some(t) => {
                    other_unit(column, t)?;
                    place(&mut columns, &mut taken, t, at)?;
                }
                None => unknown.push(at),
            }
        }
        // A column named for a field the mapping reads from elsewhere may hold what that field
        // does (a list's items): it is not left unread in silence.
        for (at, target) in displaced {
            let column = written.get(at).copied().unwrap_or("");
            let list = matches!(
                target,
                ColumnTarget::Field(Field::Allergies | Field::Conditions | Field::CoMedications)
            );
            if list {
                let other = mapping.map.iter().find(|(t, _)| *t == target);
                return Err(HeaderError::Displaced {
                    column: column.to_string(),
                    field: target.name(),
                    other: other.map_or(String::new(), |(_, headers)| headers.join("\", \"")),
                });
            }
            unknown.push(at);
        }
        for at in unknown {
            let column = written.get(at).copied().unwrap_or("");
            // A nameless first column is a row number, as data frames write one (`,rx_id,...`).
            // A name a tool made up for a nameless column (`Unnamed: 9`) is no name either.
            if (column.is_empty() || made_up_name(column, at)) && at > 0 {
                columns.nameless.push(at);
            }
            let key = keys.get(at).map_or("", String::as_str);
            if !ignored.contains(&at) {
                let field =
                    speaks_of(column, columns.patient_id.is_some()).or_else(|| near_miss(key));
                if let Some(field) = field {
                    return Err(HeaderError::NearMiss {
                        column: column.to_string(),
                        field,
                    });
                }
            }
            columns.ignored.push(column.to_string());
        }
        let found = || {
            written
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let has = |c: &Columns, field: Field| {
            c.get(field).is_some() || c.joined.iter().any(|(f, _)| *f == field)
        };
        for field in Field::ALL.into_iter().filter(|f| f.info().column_required) {
            if !has(&columns, field) {
                return Err(HeaderError::Missing {
                    missing: field.name(),
                    field: field.name(),
                    found: found(),
                });
            }
        }
        if !has(&columns, Field::AgeYears) && !has(&columns, Field::BirthDate) {
            return Err(HeaderError::Missing {
                missing: "birth_date` or `age_years",
                field: "age_years",
                found: found(),
            });
        }
        Ok(columns)
    }

    /// Each column's place in [`Field::ALL`] when it holds one of `fields` on its own, for
    /// reading a row's fields in one pass.
    pub fn slots(&self, fields: &[Field]) -> Vec<Option<usize>> {
        let mut slots = vec![None; self.width];
        for &field in fields {
            if let Some(slot) = self.get(field).and_then(|column| slots.get_mut(column)) {
                *slot = Some(field.index());
            }
        }
        slots
    }

    /// The column of a field, if the header has one.
    pub fn get(&self, field: Field) -> Option<usize> {
        self.fields.get(field.index()).copied().flatten()
    }

    /// Where a row's rx id is as written: its column, or the first of those it is joined
    /// from; the first column when there is none.
    pub fn rx_id_at(&self) -> usize {
        self.first(Field::RxId).unwrap_or(0)
    }

    /// The column of a field, or the first of the columns it is joined from.
    pub fn first(&self, field: Field) -> Option<usize> {
        self.get(field).or_else(|| {
            let (_, parts) = self.joined.iter().find(|(f, _)| *f == field)?;
            parts.first().copied()
        })
    }
}

/// Units of time as headers write them in a note (`age (months)`, `Duration, weeks`), each
/// with its name; lower case.
const TIME_UNITS: [(&str, &[&str]); 6] = [
    (
        "years",
        &[
            "y", "yr", "yrs", "year", "years", "лет", "год", "года", "anos", "ans", "jahre",
        ],
    ),
    (
        "months",
        &[
            "m",
            "mo",
            "mos",
            "mon",
            "mth",
            "mths",
            "mnth",
            "mnths",
            "month",
            "months",
            "мес",
            "месяцев",
            "месяца",
            "meses",
            "mois",
            "monate",
        ],
    ),
    (
        "weeks",
        &[
            "w",
            "wk",
            "wks",
            "week",
            "weeks",
            "нед",
            "недель",
            "недели",
            "semanas",
            "semaine",
            "semaines",
            "wochen",
        ],
    ),
    (
        "days",
        &[
            "d",
            "day",
            "days",
            "дн",
            "дней",
            "дни",
            "сут",
            "суток",
            "dias",
            "jours",
            "tage",
        ],
    ),
    (
        "hours",
        &[
            "h",
            "hr",
            "hrs",
            "hour",
            "hours",
            "ч",
            "час",
            "часов",
            "horas",
            "heures",
            "stunden",
        ],
    ),
    (
        "minutes",
        &["min", "mins", "minute", "minutes", "мин", "минут"],
    ),
];

/// The fields of time, each with the unit rxcheck reads it in (times a day: per day).
const TIME_FIELDS: [(Field, &str); 4] = [
    (Field::AgeYears, "years"),
    (Field::DurationDays, "days"),
    (Field::GestationalWeek, "weeks"),
    (Field::TimesPerDay, "days"),
];

/// Stops a header that gives a field of time in another unit than rxcheck reads it in (`age
/// (months)` read as years, `duration (weeks)` as days).
fn other_unit(column: &str, target: ColumnTarget) -> Result<(), HeaderError> {
    let words = header_words(column);
    // A dose per kg of body weight is not the dose given.
    if target == ColumnTarget::Field(Field::Dose) && words.iter().any(|w| w == "kg") {
        return Err(HeaderError::OtherUnit {
            column: column.to_string(),
            field: target.name(),
            unit: "an amount per kg of body weight",
            expected: "the amount given, with its unit (`50 mg`)",
        });
    }
    let Some(&(_, expected)) = TIME_FIELDS
        .iter()
        .find(|(field, _)| target == ColumnTarget::Field(*field))
    else {
        return Ok(());
    };
    let unit = TIME_UNITS.iter().find_map(|(unit, names)| {
        let named = words.iter().any(|w| names.contains(&w.as_str()));
        // Times in 24 hours are times a day.
        let a_day = *unit == "hours" && words.iter().any(|w| w == "24");
        (named && *unit != expected && !a_day).then_some(*unit)
    });
    match unit {
        Some(unit) => Err(HeaderError::OtherUnit {
            column: column.to_string(),
            field: target.name(),
            unit,
            expected,
        }),
        None => Ok(()),
    }
}

/// The field of time a header names with a unit in its words (`duration_weeks`,
/// `age_in_months`, `times_per_week`): the words without the unit (and its `in` or `per`),
/// or with the field's own unit in its place, name it. Its unit is then checked
/// ([`other_unit`]). `None` when they name no field of time.
fn named_with_a_unit(column: &str) -> Option<ColumnTarget> {
    let words = header_words(column);
    let is_unit = |w: &str| TIME_UNITS.iter().any(|(_, names)| names.contains(&w));
    if !words.iter().any(|w| is_unit(w)) {
        return None;
    }
    let without: Vec<&str> = (words.iter().map(String::as_str))
        .filter(|w| !is_unit(w) && !matches!(*w, "in" | "per"))
        .collect();
    let without = normalize_header(&without.join("_"));
    TIME_FIELDS.iter().find_map(|&(field, own_unit)| {
        let target = ColumnTarget::Field(field);
        let replaced: Vec<&str> = (words.iter().map(String::as_str))
            .map(|w| if is_unit(w) { own_unit } else { w })
            .collect();
        let replaced = normalize_header(&replaced.join("_"));
        (target.is_named(&without) || target.is_named(&replaced)).then_some(target)
    })
}

/// Stems a word of a header starts with when it names a list whose column, unread, would hide
/// a rule: a patient's allergies, conditions and other drugs. Lower case.
const SPEAKS_OF: [(&str, &[&str]); 3] = [
    (
        "allergies",
        &[
            "allerg",
            "аллерг",
            "intoleran",
            "непереносим",
            "hypersensitiv",
            "гиперчувствит",
            "drugsensitivit",
            "sensitivities",
            "adversereaction",
            "adversedrug",
            "contraindicateddrug",
            "alergi",
            "intoler",
            "unvertr",
            "reaccionadversa",
            "reaccionesadversa",
            "arzneimittelallerg",
            "cave",
        ],
    ),
    (
        "conditions",
        &[
            "diagnos",
            "диагноз",
            "icd",
            "мкб",
            "problem",
            "condition",
            "comorbid",
            "disease",
            "заболеван",
            "болезн",
            "dx",
            "medicalhistor",
            "pastmedical",
            "pmh",
            "anamnes",
            "анамнез",
            "illnesses",
            "pastillness",
            "chronicillness",
            "contraindicat",
            "history",
            "vorerkrank",
            "begleiterkrank",
            "krankheit",
            "enfermedad",
            "patolog",
            "patholog",
            "antecedent",
            "maladie",
            "doenca",
            "renal",
            "kidney",
            "hepat",
            "liver",
            "cardiac",
            "bleed",
            "hx",
            "diag",
            "nebendiag",
            "противопоказ",
        ],
    ),
    (
        "co_medications",
        &[
            "comed",
            "concomitant",
            "currentmed",
            "homemed",
            "othermed",
            "activemed",
            "medlist",
            "medicationlist",
            "сопутств",
            "concurrentmed",
            "concurrentdrug",
            "currentdrug",
            "ongoingmed",
            "ongoingdrug",
            "otherdrug",
            "interactingdrug",
            "текущиепрепарат",
            "принимаем",
            "лекарств",
            "concurrenttherap",
            "begleitmed",
            "begleittherap",
            "otrosmedicament",
            "otrosfarmaco",
            "autresmedicament",
            "druglist",
            "currentrx",
            "komedik",
            "medikament",
            "препараты",
            "medicamentos",
        ],
    ),
];

/// Whether a header is the name a tool gives the column at `at` (0-based) that had none:
/// pandas' `Unnamed: 9` and Spark's `_c9` count from 0, R's `V10` and spreadsheet imports'
/// `Field10` and `Column10` from 1. A name of that shape elsewhere is a real column's.
fn made_up_name(column: &str, at: usize) -> bool {
    let lower = column.trim().to_ascii_lowercase();
    let number = |prefix: &str| {
        let n = lower
            .strip_prefix(prefix)?
            .trim_start_matches([':', '_', ' ']);
        n.parse::<usize>().ok()
    };
    [
        ("unnamed", 0),
        ("_c", 0),
        ("v", 1),
        ("field", 1),
        ("column", 1),
        ("col", 1),
    ]
    .iter()
    .any(|&(prefix, from)| number(prefix) == Some(at + from))
}

/// Words that, beside `medications` or `drugs`, make them a patient's others.
const OTHER_DRUGS: [&str; 9] = [
    "other",
    "current",
    "home",
    "list",
    "active",
    "concomitant",
    "concurrent",
    "additional",
    "regular",
];

/// Headers that name a person's identifier on their own: a medical record number, national
/// health and insurance numbers, a full name (`ФИО`).
const IDENTIFIERS: [&str; 7] = ["mrn", "nhs", "snils", "снилс", "ssn", "фио", "pid"];

/// Words that make a header about a list something other than the list (`dx_date`,
/// `allergy_reviewed_by`, `current_drug_price`, `history_id`, `renal_dose_adjusted`,
/// `family_history`, `order_history`, `refill_history`, `dx_version`, `diag_seq`,
/// `med_rec_done`).
const ABOUT_THE_LIST: [&str; 44] = [
    "date",
    "dt",
    "time",
    "datetime",
    "timestamp",
    "updated",
    "reviewed",
    "verified",
    "by",
    "review",
    "price",
    "cost",
    "flag",
    "severity",
    "count",
    "форма",
    "стоимость",
    "id",
    "checked",
    "override",
    "alert",
    "adjusted",
    "score",
    "family",
    "travel",
    "smoking",
    "order",
    "refill",
    "claim",
    "dispense",
    "dispensing",
    "fill",
    "version",
    "type",
    "system",
    "seq",
    "sequence",
    "pointer",
    "rec",
    "reconciliation",
    "reconciled",
    "done",
    "zip",
    "postcode",
];

/// Words that name a person, endings that make a header their id, and other words such an id
/// header may hold (`ehr_patient_id`, `member_no`).
const PERSON: [&str; 13] = [
    "insurance",
    "insured",
    "patient",
    "pat",
    "pt",
    "member",
    "subject",
    "person",
    "enrollee",
    "beneficiary",
    "client",
    "customer",
    "пациент",
];
const ID_ENDINGS: [&str; 16] = [
    "id",
    "number",
    "no",
    "num",
    "nr",
    "code",
    "ид",
    "код",
    "номер",
    "hash",
    "token",
    "key",
    "ref",
    "uuid",
    "guid",
    "name",
];
const ID_WORDS: [&str; 8] = [
    "ehr", "emr", "internal", "unique", "medical", "record", "account", "master",
];

/// A header's words, lower case: split at anything but letters and digits, and where a lower
/// case letter meets a capital (`knownAllergies`).
fn header_words(column: &str) -> Vec<String> {
    let mut words = vec![String::new()];
    let mut previous_lower = false;
    for c in column.chars() {
        let split = !c.is_alphanumeric() || (previous_lower && c.is_uppercase());
        if split && words.last().is_some_and(|w| !w.is_empty()) {
            words.push(String::new());
        }
        if let (true, Some(word)) = (c.is_alphanumeric(), words.last_mut()) {
            word.extend(c.to_lowercase().map(without_accent));
        }
        previous_lower = c.is_lowercase();
    }
    words.retain(|w| !w.is_empty());
    words
}

/// A Latin letter without its accent (`é` is `e`, `ä` `a`), as headers in other languages
/// write the words [`SPEAKS_OF`] lists.
fn without_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        other => other,
    }
}

/// The field a header speaks of ([`SPEAKS_OF`], `meds`, and a person's id when the header has
/// no `patient_id`), if any.
fn speaks_of(column: &str, has_patient_id: bool) -> Option<&'static str> {
    let words = header_words(column);
    let pairs = words.windows(2).map(|w| w.concat());
    let candidates: Vec<String> = words.iter().cloned().chain(pairs).collect();
    let about_the_list = words.iter().any(|w| ABOUT_THE_LIST.contains(&w.as_str()));
    let list = SPEAKS_OF
        .iter()
        .find(|(_, stems)| {
            candidates
                .iter()
                .any(|c| stems.iter().any(|stem| c.starts_with(stem)))
        })
        .map(|(field, _)| *field)
        .or_else(|| {
            let meds = words.iter().any(|w| w == "meds" || w == "med");
            // Medications or drugs said to be other, current, home or listed, in any order
            // (`medications_other`).
            let drugs = |w: &String| w.starts_with("medication") || w.starts_with("drug");
            let whose = |w: &String| OTHER_DRUGS.contains(&w.as_str());
            let others = words.iter().any(drugs) && words.iter().any(whose);
            // Over-the-counter drugs as a list of their own (`otc`, not `otc_status`).
            let otc = words.len() == 1 && words.first().is_some_and(|w| w == "otc");
            (meds || others || otc).then_some("co_medications")
        })
        .or_else(|| {
            // Adverse drug reactions, as exports shorten them (not `address`).
            let adr = words.iter().any(|w| w == "adr" || w == "adrs");
            adr.then_some("allergies")
        })
        .filter(|_| !about_the_list);
    let is_person = |w: &str| PERSON.contains(&w);
    let person_id = match words.as_slice() {
        // `memberid`, `pid`, or a person alone (`member`, `Пациент`; not `pt`, which may be a
        // prothrombin time).
        [one] => PERSON.iter().any(|p| {
            one.strip_prefix(p)
                .is_some_and(|rest| ID_ENDINGS.contains(&rest) || (rest.is_empty() && p.len() > 3))
        }),
        // Words in either order, as Russian headers put them (`ИД пациента`, `Код пациента`).
        [first, rest @ ..]
            if ID_ENDINGS.contains(&first.as_str())
                && rest.iter().any(|w| PERSON.iter().any(|p| w.starts_with(p))) =>
        {
            true
        }
        [rest @ .., last] => {
            ID_ENDINGS.contains(&last.as_str())
                && rest.iter().any(|w| is_person(w))
                && rest.iter().all(|w| {
                    is_person(w)
                        || ID_ENDINGS.contains(&w.as_str())
                        || ID_WORDS.contains(&w.as_str())
                })
        }
        [] => false,
    } || words.iter().any(|w| IDENTIFIERS.contains(&w.as_str()))
        || words.first().is_some_and(|w| w == "full") && words.get(1).is_some_and(|w| w == "name");
    list.or((person_id && !has_patient_id).then_some("patient_id"))
}

/// The field a normalised header nearly names (one edit from a short name, two from a long
/// one, same first letter), if any.
fn near_miss(key: &str) -> Option<&'static str> {
    if key.len() < 3 {
        return None;
    }
    ColumnTarget::all()
        .flat_map(|t| {
            std::iter::once(t.name())
                .chain(t.synonyms().iter().copied())
                .map(move |name| (t, normalize_header(name)))
        })
        .filter(|(_, name)| name.chars().next() == key.chars().next())
        // Two edits only with the first two letters alike (`alergies`, not `location` for
        // `lactation`).
        .map(|(t, name)| {
            let alike = name.chars().take(2).eq(key.chars().take(2));
            let most = if name.len() < 7 || !alike { 1 } else { 2 };
            (strsim::damerau_levenshtein(key, &name), most, t)
        })
        .filter(|&(d, most, _)| d > 0 && d <= most)
        .min_by_key(|&(d, _, _)| d)
        .map(|(_, _, t)| t.name())
}

/// Picks the delimiter of a header line: whichever of `,`, `;`, tab and `|` it holds most
/// (`,` when it holds none).
pub fn detect_delimiter(header: &[u8]) -> u8 {
    let count = |d: u8| header.iter().filter(|&&b| b == d).count();
    [b',', b';', b'\t', b'|']
        .into_iter()
        .rev()
        .max_by_key(|&d| (count(d), d == b','))
        .filter(|&d| count(d) > 0)
        .unwrap_or(b',')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(header: &str) -> Result<Columns, HeaderError> {
        Columns::from_header(header.split(','), &ColumnMap::default())
    }

    #[test]
    fn names_match_after_normalising_and_synonyms() {
        let c = columns("RX ID,Medication,Dosage form,Dose,Frequency,Age,Allergy,co-medications,Conditions (ICD-10),Duration,MRN,Notes").unwrap();
        assert_eq!(c.get(Field::Drug), Some(1));
        assert_eq!(c.get(Field::TimesPerDay), Some(4));
        assert_eq!(c.get(Field::Allergies), Some(6));
        assert_eq!(c.get(Field::CoMedications), Some(7));
        assert_eq!(c.get(Field::Conditions), Some(8));
        assert_eq!(c.get(Field::DurationDays), Some(9));
        assert_eq!(c.patient_id, Some(10));
        assert_eq!(c.ignored, vec!["Notes".to_string()]);
    }

    #[test]
    fn a_column_that_speaks_of_a_list_or_a_person_id_stops() {
        let base = "rx_id,drug,form,dose,times_per_day,age_years";
        for (column, field) in [
            ("known_allergies", "allergies"),
            ("Allergies_2", "allergies"),
            ("Аллергии", "allergies"),
            ("diagnosis_codes", "conditions"),
            ("dx", "conditions"),
            ("problem_list", "conditions"),
            ("МКБ-10", "conditions"),
            ("current_meds", "co_medications"),
            ("meds", "co_medications"),
            ("member_id", "patient_id"),
            ("pat_no", "patient_id"),
            ("knownAllergies", "allergies"),
            ("ehr_patient_id", "patient_id"),
            ("hypersensitivity", "allergies"),
            ("adverse_drug_reactions", "allergies"),
            ("ADRs", "allergies"),
            ("drug_sensitivities", "allergies"),
            ("contraindicated_drugs", "allergies"),
            ("concurrent_medications", "co_medications"),
            ("current_drugs", "co_medications"),
            ("ongoing_medications", "co_medications"),
            ("interacting_drugs", "co_medications"),
            ("Текущие препараты", "co_medications"),
            ("принимаемые препараты", "co_medications"),
            ("Текущие лекарства", "co_medications"),
            ("Sensitivities", "allergies"),
            ("chronic_illness", "conditions"),
            ("concurrent_therapy", "co_medications"),
            ("PMHx", "conditions"),
            ("past_medical_history", "conditions"),
            ("anamnesis", "conditions"),
            ("анамнез", "conditions"),
            ("illnesses", "conditions"),
            ("Пациент", "patient_id"),
            ("ИД пациента", "patient_id"),
            ("Код пациента", "patient_id"),
            ("client_id", "patient_id"),
            ("customer_id", "patient_id"),
            ("pid", "patient_id"),
            ("member", "patient_id"),
        ] {
            assert_eq!(
                columns(&format!("{base},{column}")),
                Err(HeaderError::NearMiss {
                    column: column.into(),
                    field
                }),
                "{column}"
            );
        }
        // A person's id next to a patient id is not one the checks need.
        assert!(columns(&format!("{base},patient_id,member_id")).is_ok());
        for quiet in [
            "notes",
            "prescriber",
            "store_id",
            "ndc",
            "generic_drug_name",
            "clinic_dept",
            "patient_zip_code",
            "member_group_number",
            "pathway_code",
            "dx_date",
            "allergy_verified_date",
            "pt",
            "address",
            "pharmacy_code",
            "culture_sensitivity",
            "sensitivity_analysis",
            "illness_severity",
            "mental_illness_flag",
            "concurrent_review",
            "current_drug_price",
            "Форма лекарства",
            "Стоимость лекарств",
        ] {
            assert!(columns(&format!("{base},{quiet}")).is_ok(), "{quiet}");
        }
    }

    #[test]
    fn a_list_column_the_mapping_reads_from_elsewhere_stops() {
        let header = "rx_id,drug,form,dose,times_per_day,age_years,allergies,known_allergies";
        let mut map = ColumnMap::default();
        map.add_pair("allergies=known_allergies").unwrap();
        assert_eq!(
            Columns::from_header(header.split(','), &map),
            Err(HeaderError::Displaced {
                column: "allergies".into(),
                field: "allergies",
                other: "known_allergies".into()
            })
        );
        map.ignore.push("allergies".into());
        assert!(Columns::from_header(header.split(','), &map).is_ok());
    }

    #[test]
    fn a_near_miss_stops_unless_ignored_or_mapped() {
        let header = "rx_id,drug,form,dose,times_per_day,age_years,alergies";
        assert_eq!(
            columns(header),
            Err(HeaderError::NearMiss {
                column: "alergies".into(),
                field: "allergies"
            })
        );
        let mut map = ColumnMap::default();
        map.ignore.push("alergies".into());
        assert!(Columns::from_header(header.split(','), &map).is_ok());
        let mut map = ColumnMap::default();
        map.add_pair("allergies=alergies").unwrap();
        let c = Columns::from_header(header.split(','), &map).unwrap();
        assert_eq!(c.get(Field::Allergies), Some(6));
        // Two edits from a name, but not alike from its start: another column.
        let c = columns("rx_id,drug,form,dose,times_per_day,age_years,location").unwrap();
        assert_eq!(c.ignored, ["location"]);
    }

    #[test]
    fn a_split_dose_is_joined_from_a_mapping_file() {
        let map = ColumnMap::from_toml(
            "drug = \"drug_name\"\ndose = [\"dose_val_rx\", \"dose_unit_rx\"]\nignore = [\"hadm_id\"]",
        )
        .unwrap();
        let header =
            "rx_id,hadm_id,drug_name,form,dose_val_rx,dose_unit_rx,times_per_day,age_years";
        let c = Columns::from_header(header.split(','), &map).unwrap();
        assert_eq!(c.get(Field::Drug), Some(2));
        assert_eq!(c.joined, vec![(Field::Dose, vec![4, 5])]);
    }
}
