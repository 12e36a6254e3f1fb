//! FHIR input: a MedicationRequest (or a Bundle of one with the patient's resources), read
//! into the same prescription fields a CSV row gives, so FHIR orders get the same checks and
//! verdicts. Reading is tolerant of the shapes real senders use and fails closed: anything
//! needed that cannot be read is an `invalid` finding (rule `input.fhir`) naming its JSON path.

mod model;
mod order;
mod patient;
mod text;

use crate::finding::{Assessment, Category, Finding, Severity};
use crate::formulary::Formulary;
use crate::request::{Dates, Field, Prescription, parse};
use crate::validate::courses::{Course, CrossCheck};
use crate::validate::validate_into;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The rule of every finding about FHIR input that cannot be read, and its source.
pub const RULE: &str = "input.fhir";
pub const SOURCE: &str = "rxcheck input rules: FHIR R4 JSON: a MedicationRequest with its medication, dose and timing, and the patient's Patient, Condition, AllergyIntolerance and Observation resources";

/// A finding about the FHIR input itself.
pub fn finding(severity: Severity, message: String) -> Finding<'static> {
    Finding::new(severity, Category::Input, RULE, message, SOURCE)
}

/// One resource of the input, with where it was found.
#[derive(Debug, Clone)]
pub struct Located {
    /// Its JSON path in the document (`entry[2].resource`).
    pub path: String,
    /// The Bundle entry's `fullUrl`, when it has one.
    pub full_url: Option<String>,
    pub value: Value,
}

impl Located {
    /// A resource at `path`.
    pub fn new(path: impl Into<String>, value: Value) -> Self {
        Located {
            path: path.into(),
            full_url: None,
            value,
        }
    }

    /// The resource's `resourceType`.
    pub fn kind(&self) -> &str {
        self.value
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The resource's `id`.
    pub fn id(&self) -> Option<&str> {
        self.value.get("id").and_then(Value::as_str)
    }

    /// The resource's `status` (a MedicationRequest's: `draft`, `active`, ...).
    pub fn status(&self) -> &str {
        self.value
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Whether `reference` names this resource: its `fullUrl`, or `Type/id` (relative, or at
    /// the end of an absolute URL), a version (`/_history/2`) aside; the id is its own, or
    /// the one its absolute `fullUrl` ends with.
    pub fn is_named_by(&self, reference: &str) -> bool {
        let reference = unversioned(reference);
        let url_id = self
            .full_url
            .as_deref()
            .and_then(|url| referenced_id(unversioned(url), self.kind()));
        self.full_url.as_deref() == Some(reference)
            || self
                .id()
                .or(url_id)
                .is_some_and(|id| referenced_id(reference, self.kind()) == Some(id))
    }

    /// The reference to the patient it is about (`subject`, or an AllergyIntolerance's
    /// `patient`).
    fn subject(&self) -> Option<&str> {
        ["subject", "patient"].iter().find_map(|key| {
            self.value
                .get(*key)
                .and_then(|s| s.get("reference"))
                .and_then(Value::as_str)
        })
    }

    /// The id of the Patient it is about, when its subject names one.
    pub fn patient_id(&self) -> Option<&str> {
        referenced_id(self.subject()?, "Patient")
    }

    /// The resource as a typed struct, or an `invalid` finding naming the path that failed.
    fn read<T: DeserializeOwned>(&self) -> Result<T, Finding<'static>> {
        serde_path_to_error::deserialize(&self.value).map_err(|e| {
            let at = e.path().to_string();
            let at = if at == "." {
                self.path.clone()
            } else {
                format!("{}.{at}", self.path)
            };
            finding(
                Severity::Invalid,
                format!("`{at}` cannot be read: {}", e.into_inner()),
            )
        })
    }
}

/// A reference without its version (`Patient/p1/_history/2` is `Patient/p1`).
fn unversioned(reference: &str) -> &str {
    let reference = reference.trim();
    match reference.rsplit_once("/_history/") {
        Some((head, version)) if !version.contains('/') => head,
        _ => reference,
    }
}

/// The id a reference gives a resource of type `kind`: `Patient/p1`, or an absolute URL that
/// ends in `/Patient/p1`, a version aside.
fn referenced_id<'a>(reference: &'a str, kind: &str) -> Option<&'a str> {
    let mut segments = unversioned(reference).rsplit('/');
    let id = segments.next().filter(|id| !id.is_empty())?;
    (segments.next()? == kind).then_some(id)
}

/// Parses a JSON document (a UTF-8 byte order mark is skipped); `Err` says why it is not JSON.
pub fn parse_json(text: &str) -> Result<Value, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))
}

/// Adds the resources of `value`: the resource itself, or each entry of a Bundle (and of the
/// Bundles inside it), each with its path.
pub fn collect(value: Value, path: &str, out: &mut Vec<Located>) {
    if value.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        out.push(Located::new(path, value));
        return;
    }
    let Some(Value::Array(entries)) = value.get("entry").cloned() else {
        return;
    };
    for (i, mut entry) in entries.into_iter().enumerate() {
        let full_url = entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .map(str::to_string);
        let resource = entry.get_mut("resource").map(Value::take);
        let at = format!("{path}.entry[{i}].resource");
        let at = at.strip_prefix('.').unwrap_or(&at).to_string();
        match resource {
            Some(resource)
                if resource.get("resourceType").and_then(Value::as_str) == Some("Bundle") =>
            {
                collect(resource, &at, out);
            }
            Some(resource) => out.push(Located {
                path: at,
                full_url,
                value: resource,
            }),
            None => {}
        }
    }
}

/// The MedicationRequests of a document that are the orders to check: those in `draft`, or,
/// when none is, every one.
pub fn orders(resources: &[Located]) -> Vec<usize> {
    let requests: Vec<usize> = (0..resources.len())
        .filter(|&i| {
            resources
                .get(i)
                .is_some_and(|r| r.kind() == "MedicationRequest")
        })
        .collect();
    let drafts: Vec<usize> = requests
        .iter()
        .copied()
        .filter(|&i| resources.get(i).is_some_and(|r| r.status() == "draft"))
        .collect();
    if drafts.is_empty() { requests } else { drafts }
}

/// One checked order.
#[derive(Debug)]
pub struct Checked<'f> {
    /// The order's id (its `id`, an identifier, or its path).
    pub rx_id: String,
    /// The formulary drug it is, when it is one.
    pub drug: Option<usize>,
    /// Whether no drug could be read from it at all (a reference to a Medication that is not
    /// there, or no medication): it may be a formulary drug's order, unchecked.
    pub unidentified: bool,
    pub assessment: Assessment<'f>,
    /// The fingerprint of the prescription read from it (what acknowledgements record).
    pub inputs: String,
}

/// A MedicationRequest read into prescription fields, with the findings of reading it.
struct Read {
    fields: [String; Field::COUNT],
    findings: Vec<Finding<'static>>,
    drug: Option<usize>,
}

impl Read {
    fn prescription(&self) -> Prescription<'_> {
        Prescription::from_fields(self.fields.each_ref().map(String::as_str))
    }
}

/// The ids of the patient the orders are for: `patient` (a hook's `context.patientId`) and
/// those the orders' subjects name; when neither names one, the Patient resource's.
fn patient_ids<'a>(
    resources: &'a [Located],
    orders: &[usize],
    patient: Option<&'a str>,
) -> Vec<&'a str> {
    let subjects = orders
        .iter()
        .filter_map(|&i| resources.get(i)?.subject())
        .filter_map(|s| referenced_id(s, "Patient"));
    let named: Vec<&str> = patient.into_iter().chain(subjects).collect();
    if !named.is_empty() {
        return named;
    }
    let patients = resources.iter().filter(|r| r.kind() == "Patient");
    patients.filter_map(Located::id).collect()
}

/// Whether a resource is about another patient: a Patient whose id is not one of `ids`, or a
/// resource whose subject names such a Patient. One with no subject, or one not named by id,
/// is taken as the patient's.
fn about_another(r: &Located, ids: &[&str]) -> bool {
    let other = |id: &str| !ids.contains(&id);
    !ids.is_empty()
        && match r.kind() {
            "Patient" => r.id().is_some_and(other),
            _ => r
                .subject()
                .and_then(|s| referenced_id(s, "Patient"))
                .is_some_and(other),
        }
}

/// Checks the orders `orders` (indices into `resources`) against the formulary and against
/// the patient's other current MedicationRequests among `resources` (active, on hold, or
/// draft): each order alone, then with the others for cumulative dose, duplicate therapy and
/// interactions. The patient's Patient, Condition, AllergyIntolerance and Observation
/// resources are read from `resources` too; those about another patient than `patient` (a
/// hook's `context.patientId`), the Patient resource or the orders' subjects are not.
pub fn check<'f>(
    formulary: &'f Formulary,
    resources: &[Located],
    orders: &[usize],
    patient: Option<&str>,
    dates: &Dates,
) -> Vec<Checked<'f>> {
    let ids = patient_ids(resources, orders, patient);
    let theirs = resources.iter().filter(|r| !about_another(r, &ids));
    let chart = patient::read(formulary, theirs, dates.as_of);
    // Other current requests, and what the patient says they take (a MedicationStatement:
    // an over-the-counter NSAID among them).
    let current = (0..resources.len()).filter(|i| {
        !orders.contains(i)
            && resources.get(*i).is_some_and(|r| {
                let current = match r.kind() {
                    "MedicationRequest" => matches!(r.status(), "active" | "on-hold" | "draft"),
                    "MedicationStatement" => {
                        matches!(r.status(), "active" | "intended" | "on-hold" | "unknown")
                    }
                    _ => false,
                };
                current
                    && !about_another(r, &ids)
                    && !orders.iter().any(|o| {
                        let id = resources.get(*o).and_then(Located::id);
                        id.is_some() && id == r.id()
                    })
            })
    });
    // The orders, then the patient's others: what each row of `read` was read from.
    let sources: Vec<&Located> = orders
        .iter()
        .copied()
        .chain(current)
        .filter_map(|i| resources.get(i))
        .collect();
    let mut read: Vec<Read> = sources
        .iter()
        .map(|r| {
            let mut one = order::read(formulary, r, resources);
            for (field, value) in &chart.fields {
                if let Some(slot) = one.fields.get_mut(field.index()) {
                    slot.clone_from(value);
                }
            }
            one
        })
        .collect();
    let courses: Vec<Course<'f>> = read
        .iter()
        .enumerate()
        .filter_map(|(row, r)| {
            let rx = r.prescription();
            let mut scratch = Assessment::default();
            let request = parse(formulary, &rx, dates, &mut scratch);
            Course::from_request(&request, u32::try_from(row).ok()?, rx.rx_id)
        })
        .collect();
    let mut cross = Vec::new();
    CrossCheck::default().check(formulary, &courses, |f| cross.push(f));
    // The patient's other requests (drafts among them) whose drug cannot be read may be of
    // any drug: what they would find with an order is said to be unchecked.
    let unread: Vec<(usize, Finding<'static>)> = (0..)
        .zip(&read)
        .filter(|(_, r)| r.prescription().drug.trim().is_empty())
        .map(|(at, r)| {
            let id = r.fields.get(Field::RxId.index()).map_or("", String::as_str);
            let kind = sources.get(at).map_or("MedicationRequest", |r| r.kind());
            let finding = finding(
                Severity::Warn,
                format!("the patient's other {kind} `{id}` names no drug rxcheck can read, so duplicate therapy and interactions with it cannot be checked: check it by hand"),
            );
            (at, finding)
        })
        .collect();
    read.truncate(orders.len());
    read.into_iter()
        .enumerate()
        .map(|(row, r)| {
            let mut assessment = Assessment::default();
            let rx = r.prescription();
            let inputs = rx.fingerprint();
            let unidentified = rx.drug.trim().is_empty();
            // An order whose drug cannot be read says only why (reading it found that).
            if !unidentified {
                validate_into(formulary, &rx, dates, &mut assessment);
            }
            if r.drug.is_some() {
                let row = u32::try_from(row).unwrap_or(u32::MAX);
                let of_row = cross
                    .iter()
                    .filter(|f| courses.get(f.course()).is_some_and(|c| c.row == row));
                assessment
                    .findings
                    .extend(of_row.map(|f| f.finding(formulary, &courses, false)));
                assessment.findings.extend(chart.findings.iter().cloned());
                let others = unread.iter().filter(|(at, _)| *at != row as usize);
                assessment.findings.extend(others.map(|(_, f)| f.clone()));
            }
            assessment.findings.extend(r.findings);
            formulary.regrade(&mut assessment);
            Checked {
                inputs,
                rx_id: r
                    .fields
                    .get(Field::RxId.index())
                    .cloned()
                    .unwrap_or_default(),
                drug: r.drug,
                unidentified,
                assessment,
            }
        })
        .collect()
}

/// Checks a whole document (a MedicationRequest, or a Bundle with the patient's resources):
/// every order in it; a document without one is a single `invalid` record.
pub fn check_document<'f>(formulary: &'f Formulary, text: &str, dates: &Dates) -> Vec<Checked<'f>> {
    let problem = |message: String| {
        let mut assessment = Assessment::default();
        assessment
            .findings
            .push(finding(Severity::Invalid, message));
        vec![Checked {
            rx_id: String::new(),
            drug: None,
            unidentified: true,
            assessment,
            inputs: String::new(),
        }]
    };
    let value = match parse_json(text) {
        Ok(value) => value,
        Err(e) => return problem(e),
    };
    let kind = value
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if kind != "Bundle" && kind != "MedicationRequest" {
        return problem(match kind.as_str() {
            "" => "`resourceType` is missing: give a MedicationRequest or a Bundle".to_string(),
            other => format!("`resourceType` is `{other}`: give a MedicationRequest or a Bundle"),
        });
    }
    let mut resources = Vec::new();
    collect(value, "", &mut resources);
    for r in &mut resources {
        if r.path.is_empty() {
            r.path = "(the MedicationRequest)".to_string();
        }
    }
    let orders = orders(&resources);
    if orders.is_empty() {
        return problem("the Bundle holds no MedicationRequest".to_string());
    }
    check(formulary, &resources, &orders, None, dates)
}
