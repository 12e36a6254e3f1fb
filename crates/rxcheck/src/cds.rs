//! CDS Hooks: the discovery document, and the answer to an `order-select` or `order-sign`
//! call as cards. Every draft MedicationRequest of a formulary drug is checked, alone and
//! with the patient's active, on-hold and draft MedicationRequests; a reject or an input that cannot be checked
//! is a `critical` card, a warning a `warning` card, advice an `info` card only when asked
//! for. Orders of drugs outside the formulary get no card; an order whose drug cannot be
//! read at all (it may be a formulary drug's) gets a `warning` card saying why it went
//! unchecked. I/O-free: the server sends what this returns.

use crate::fhir;
use crate::finding::Severity;
use crate::formulary::Formulary;
use crate::request::Dates;
use serde_json::{Value, json};

/// The services, by id, with the hook each answers.
pub const SERVICES: [(&str, &str); 2] = [
    ("rxcheck-order-select", "order-select"),
    ("rxcheck-order-sign", "order-sign"),
];

/// The prefetch templates: the patient; all conditions (one in remission, inactive or of no
/// stated status counts too, and those resolved or refuted are set aside when read); active
/// allergies; the medication requests that count as current (active, on hold, draft); the
/// medications the patient says they take (over the counter ones among them); and
/// pregnancy-related observations.
const PREFETCH: [(&str, &str); 6] = [
    ("patient", "Patient/{{context.patientId}}"),
    ("conditions", "Condition?patient={{context.patientId}}"),
    (
        "allergies",
        "AllergyIntolerance?patient={{context.patientId}}&clinical-status=active",
    ),
    (
        "medications",
        "MedicationRequest?patient={{context.patientId}}&status=active,on-hold,draft",
    ),
    (
        "statements",
        "MedicationStatement?patient={{context.patientId}}&status=active,intended,on-hold,unknown",
    ),
    (
        "pregnancy",
        "Observation?patient={{context.patientId}}&code=http://loinc.org|82810-3,http://loinc.org|11449-6,http://loinc.org|49051-6,http://loinc.org|63895-7",
    ),
];

/// Prefetch keys without which a formulary drug cannot be checked (pregnancy may be absent:
/// an unknown status is then a warning of its own; statements too, which not every EHR
/// keeps).
const REQUIRED: [&str; 4] = ["patient", "conditions", "allergies", "medications"];

/// The discovery document (`GET /cds-services`).
pub fn discovery(formulary: &Formulary) -> Value {
    let prefetch: serde_json::Map<String, Value> = PREFETCH
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    let services: Vec<Value> = SERVICES
        .iter()
        .map(|(id, hook)| {
            json!({
                "hook": hook,
                "id": id,
                "title": format!("rxcheck: NSAID orders against {}", formulary.name),
                "description": format!("Checks each draft MedicationRequest of a formulary drug against {} {} (doses, frequency, course, age, pregnancy, breastfeeding, conditions, allergies) and against the patient's active, on-hold and draft MedicationRequests (cumulative dose, duplicate therapy, interactions)", formulary.name, formulary.version),
                "prefetch": prefetch,
            })
        })
        .collect();
    json!({ "services": services })
}

/// A FHIR OperationOutcome with one issue.
pub fn operation_outcome(code: &str, message: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": code, "diagnostics": message }],
    })
}

/// A card as issued, for the feedback that names it later.
#[derive(Debug, Clone)]
pub struct IssuedCard {
    pub uuid: String,
    pub order: String,
    pub rules: Vec<String>,
    /// The fingerprint of the order's prescription, for an acknowledgement of the card.
    pub inputs: String,
    /// The user the hook was called for (`context.userId`), who overrides the card.
    pub user: Option<String>,
}

/// The answer to a hook call.
#[derive(Debug)]
pub enum Answer {
    /// 200: the response body and the cards in it.
    Cards(Value, Vec<IssuedCard>),
    /// 412: data the check needs were not sent, and rxcheck does not fetch them.
    Precondition(Value),
    /// 400: the call itself is malformed.
    BadRequest(Value),
}

/// How a call is answered.
pub struct Options<'a> {
    pub dates: &'a Dates,
    /// Also give `info` cards.
    pub info: bool,
}

/// Answers a call to service `hook` (`order-select` or `order-sign`); `uuid` makes each
/// card's id.
pub fn answer(
    formulary: &Formulary,
    hook: &str,
    call: &Value,
    options: &Options<'_>,
    uuid: &mut dyn FnMut() -> String,
) -> Answer {
    let bad = |message: String| Answer::BadRequest(operation_outcome("invalid", &message));
    if !call.is_object() {
        return bad("the request body is not a JSON object".into());
    }
    if let Some(given) = call.get("hook") {
        if given.as_str() != Some(hook) {
            return bad(format!(
                "`hook` is {given}, but this service answers `{hook}`"
            ));
        }
    }
    let Some(context) = call.get("context").filter(|c| c.is_object()) else {
        return bad("`context` is missing or not an object".into());
    };
    let user = context
        .get("userId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(draft) = context
        .get("draftOrders")
        .filter(|d| d.get("resourceType").and_then(Value::as_str) == Some("Bundle"))
    else {
        return bad("`context.draftOrders` is missing or not a Bundle".into());
    };
    if let Some(problem) = unusable(draft, "context.draftOrders") {
        return bad(problem);
    }
    let mut resources = Vec::new();
    fhir::collect(draft.clone(), "context.draftOrders", &mut resources);
    // order-select names the orders selected; without them, which to check is not known.
    if hook == "order-select" && context.get("selections").is_none() {
        return bad(
            "`context.selections` is missing: order-select names the draft orders selected; nothing was checked".into(),
        );
    }
    let selected = match selections(context, &resources) {
        Ok(selected) => selected,
        Err(message) => return bad(message),
    };
    let orders: Vec<usize> = (0..resources.len())
        .filter(|&i| {
            resources.get(i).is_some_and(|r| {
                r.kind() == "MedicationRequest" && selected.as_ref().is_none_or(|s| s.contains(&i))
            })
        })
        .collect();
    // Without a formulary drug among the orders there is nothing to check, nor to fetch:
    // only the orders whose drug cannot be read are said to go unchecked.
    // The id alone, as the specification gives it (`Patient/p1` read as `p1`).
    let patient = context
        .get("patientId")
        .and_then(Value::as_str)
        .map(|id| id.trim().trim_start_matches("Patient/"));
    // An order for another patient than the call's: whose data would apply is not known.
    if let Some(patient) = patient {
        let other = orders.iter().find_map(|&i| {
            let order = resources.get(i)?;
            let subject = order.patient_id()?;
            (subject != patient).then(|| (order.path.clone(), subject.to_string()))
        });
        if let Some((path, subject)) = other {
            return bad(format!(
                "`{path}` is an order for Patient/{subject}, but context.patientId is `{patient}`: a call is about one patient"
            ));
        }
    }
    let first = fhir::check(formulary, &resources, &orders, patient, options.dates);
    if first.iter().all(|c| c.drug.is_none()) {
        return cards(formulary, first, options, user, uuid);
    }
    let prefetch = call.get("prefetch");
    // A prefetch value that is not a resource or a whole Bundle is no list of the patient's:
    // checking as if the patient had none would be silent.
    let unread = PREFETCH.iter().find_map(|(key, _)| {
        let value = prefetch.and_then(|p| p.get(key)).filter(|v| !v.is_null())?;
        unusable(value, &format!("prefetch.{key}"))
    });
    if let Some(problem) = unread {
        return Answer::Precondition(operation_outcome("incomplete", &problem));
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|key| match prefetch.and_then(|p| p.get(*key)) {
            None => true,
            Some(value) => {
                value.get("resourceType").and_then(Value::as_str) == Some("OperationOutcome")
            }
        })
        .collect();
    if !missing.is_empty() {
        let server = if call.get("fhirServer").is_some() {
            "; rxcheck does not query the FHIR server"
        } else {
            " and there is no fhirServer to fetch them from"
        };
        return Answer::Precondition(operation_outcome(
            "incomplete",
            &format!(
                "prefetch {} missing (or an OperationOutcome){server}: send them as the discovery document's templates ask",
                missing
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ));
    }
    // Every key's resources are read, the service's own and any other the EHR sends (its
    // own name for the patient's medication statements, say).
    for (key, value) in prefetch.and_then(Value::as_object).into_iter().flatten() {
        let readable = value.is_object()
            && value.get("resourceType").and_then(Value::as_str) != Some("OperationOutcome");
        if readable {
            fhir::collect(value.clone(), &format!("prefetch.{key}"), &mut resources);
        }
    }
    let checked = fhir::check(formulary, &resources, &orders, patient, options.dates);
    cards(formulary, checked, options, user, uuid)
}

/// Why a resource or Bundle sent at `path` cannot be read whole, if it cannot: not a
/// resource, a Bundle whose entries are not a list of resources, or only a page of a search
/// (a `next` link, or fewer entries than its `total`).
fn unusable(value: &Value, path: &str) -> Option<String> {
    let Some(kind) = value.get("resourceType").and_then(Value::as_str) else {
        return Some(format!("`{path}` is not a FHIR resource or Bundle"));
    };
    if kind != "Bundle" {
        return None;
    }
    let entries = match value.get("entry") {
        None => &[][..],
        Some(Value::Array(entries)) => entries.as_slice(),
        Some(_) => return Some(format!("`{path}.entry` is not a list")),
    };
    for (i, entry) in entries.iter().enumerate() {
        let resource = entry.get("resource");
        let typed =
            resource.is_some_and(|r| r.get("resourceType").and_then(Value::as_str).is_some());
        if !typed {
            return Some(format!("`{path}.entry[{i}]` holds no FHIR resource"));
        }
    }
    let links = value.get("link").and_then(Value::as_array);
    let paged = links.is_some_and(|links| {
        links
            .iter()
            .any(|l| l.get("relation").and_then(Value::as_str) == Some("next"))
    });
    let total = value.get("total").and_then(Value::as_u64);
    if paged || total.is_some_and(|t| t > entries.len() as u64) {
        return Some(format!(
            "`{path}` is one page of a search (it has a `next` link, or fewer entries than its `total`): send every entry"
        ));
    }
    None
}

/// The draft orders (indices into `resources`) that `context.selections` names, by
/// `Type/id`, bare id, `fullUrl` or absolute URL, a version aside; `None` when there is no
/// list. Any kind of draft order may be selected (a ServiceRequest too: it is not checked). A
/// selection that names no draft order is an error: checking nothing for it would be silent.
fn selections(context: &Value, resources: &[fhir::Located]) -> Result<Option<Vec<usize>>, String> {
    let Some(list) = context.get("selections").and_then(Value::as_array) else {
        return Ok(None);
    };
    if list.is_empty() {
        return Err(
            "`context.selections` is empty: it names the draft orders selected, at least one; nothing was checked".into(),
        );
    }
    let mut selected = Vec::new();
    for item in list {
        let before = selected.len();
        if let Some(name) = item.as_str() {
            selected.extend((0..resources.len()).filter(|&i| {
                resources
                    .get(i)
                    .is_some_and(|r| r.id() == Some(name.trim()) || r.is_named_by(name))
            }));
        }
        if selected.len() == before {
            let name = item
                .as_str()
                .map_or_else(|| item.to_string(), str::to_string);
            return Err(format!(
                "`context.selections` names `{name}`, which is no order of `context.draftOrders`: nothing was checked"
            ));
        }
    }
    Ok(Some(selected))
}

/// The cards for checked orders: one for each formulary drug's order with a finding to show,
/// and one for each order whose drug cannot be read.
fn cards(
    formulary: &Formulary,
    checked: Vec<fhir::Checked<'_>>,
    options: &Options<'_>,
    user: Option<String>,
    uuid: &mut dyn FnMut() -> String,
) -> Answer {
    let label = format!("{} {}", formulary.name, formulary.version);
    let mut cards = Vec::new();
    let mut issued = Vec::new();
    for c in checked {
        let drug = c.drug.and_then(|d| formulary.drugs.get(d));
        if drug.is_none() && !c.unidentified {
            continue;
        }
        let floor = if options.info {
            Severity::Info
        } else {
            Severity::Warn
        };
        let shown: Vec<_> = c
            .assessment
            .findings
            .iter()
            .filter(|f| f.is_shown() && f.severity >= floor)
            .collect();
        let Some(worst) = shown.iter().map(|f| f.severity).max() else {
            continue;
        };
        let (indicator, verb) = match worst {
            // Not known to be a formulary drug's: unchecked, which is not known to be harm.
            _ if drug.is_none() => ("warning", "Cannot identify the drug"),
            Severity::Invalid => ("critical", "Cannot check"),
            Severity::Reject => ("critical", "Do not give"),
            Severity::Warn => ("warning", "Caution"),
            Severity::Info => ("info", "Note"),
        };
        // Of the worst, a FHIR element that cannot be read is the cause of the fields it
        // leaves missing: it is the one the summary names.
        let first = shown
            .iter()
            .filter(|f| f.severity == worst)
            .min_by_key(|f| f.rule != fhir::RULE)
            .map_or("", |f| f.message.as_ref());
        let name = drug.map_or("drug not identified", |d| d.name.as_str());
        let summary = match drug {
            Some(drug) => format!("{verb}: {} order {}: {first}", drug.name, c.rx_id),
            None => format!("{verb} of order {}: {first}", c.rx_id),
        };
        let summary = shorten(&summary, 139);
        let mut detail = format!(
            "**rxcheck: {}** for order `{}` ({name})\n",
            c.assessment.verdict(),
            c.rx_id,
        );
        for f in &shown {
            detail.push_str(&format!(
                "\n- **{}** ({}): {}  \n  rule `{}`  \n  > {}\n",
                f.severity,
                f.category,
                f.message,
                f.shown_rule(),
                f.source
            ));
            if let Some(note) = f.overlay_note() {
                detail.push_str(&format!("\n  _{note}_\n"));
            }
        }
        let id = uuid();
        issued.push(IssuedCard {
            uuid: id.clone(),
            order: c.rx_id.clone(),
            rules: shown.iter().map(|f| f.shown_rule().into_owned()).collect(),
            inputs: c.inputs.clone(),
            user: user.clone(),
        });
        let reasons: Vec<Value> = crate::ack::REASONS
            .iter()
            .map(|(code, display)| json!({ "system": crate::ack::REASON_SYSTEM, "code": code, "display": display }))
            .collect();
        cards.push(json!({
            "uuid": id,
            "summary": summary,
            "detail": detail,
            "indicator": indicator,
            "source": { "label": label },
            "overrideReasons": reasons,
        }));
    }
    Answer::Cards(json!({ "cards": cards }), issued)
}

/// `text` cut to fewer than `max` characters, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
