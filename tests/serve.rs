//! `rxcheck serve` as an EHR meets it: the real server on a loopback port, a real HTTP client,
//! the CDS Hooks specification's own example and HL7 PDDI-CDS's NSAID order-sign request
//! (adapted to the formulary's drugs) as fixtures; a SIGTERM at the end, with the audit file
//! complete.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server {
    child: Child,
    base: String,
    audit: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let mut child = Command::new(env!("CARGO_BIN_EXE_rxcheck"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--as-of",
                "2026-03-01",
                "--audit",
            ])
            .arg(&audit)
            .args(extra)
            .env_remove("RXCHECK_FORMULARY")
            .env_remove("RXCHECK_SITE")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        // The rest of stderr is drained, as a terminal would.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let base = line
            .trim()
            .strip_prefix("rxcheck serve: listening on ")
            .unwrap()
            .to_string();
        Server {
            child,
            base,
            audit,
            _dir: dir,
        }
    }

    fn agent() -> ureq::Agent {
        ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(10))
            .build()
    }

    fn get(&self, path: &str) -> (u16, Value) {
        answer(Self::agent().get(&format!("{}{path}", self.base)).call())
    }

    fn post(&self, path: &str, body: &str) -> (u16, Value) {
        answer(
            Self::agent()
                .post(&format!("{}{path}", self.base))
                .set("Content-Type", "application/json")
                .send_string(body),
        )
    }

    /// SIGTERM, and the exit status.
    fn stop(&mut self) -> std::process::ExitStatus {
        let pid = i32::try_from(self.child.id()).unwrap();
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = response.status();
    (
        status,
        serde_json::from_str(&response.into_string().unwrap()).unwrap(),
    )
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/fhir/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

const SIGN: &str = "/cds-services/rxcheck-order-sign";

#[test]
fn the_cds_service_end_to_end() {
    let mut server = Server::start(&[]);

    // Discovery: both hooks, with the prefetch templates.
    let (status, body) = server.get("/cds-services");
    assert_eq!(status, 200);
    let services = body["services"].as_array().unwrap();
    let hooks: Vec<&str> = services
        .iter()
        .map(|s| s["hook"].as_str().unwrap())
        .collect();
    assert_eq!(hooks, ["order-select", "order-sign"]);
    for key in [
        "patient",
        "conditions",
        "allergies",
        "medications",
        "pregnancy",
    ] {
        assert!(services[1]["prefetch"][key].is_string(), "{key}");
    }
    // The templates ask for what is read: conditions of any clinical status (remission and
    // inactive count), and the on-hold and draft medication requests as well as the active.
    assert_eq!(
        services[1]["prefetch"]["conditions"],
        "Condition?patient={{context.patientId}}"
    );
    assert_eq!(
        services[1]["prefetch"]["medications"],
        "MedicationRequest?patient={{context.patientId}}&status=active,on-hold,draft"
    );

    // PDDI-CDS's order-sign call, diclofenac tablets for a patient with a SNOMED CT coded
    // bleeding duodenal ulcer: one critical card.
    let (status, body) = server.post(SIGN, &fixture("pddi-diclofenac-order-sign.json"));
    assert_eq!(status, 200, "{body}");
    let cards = body["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 1, "{body}");
    let card = &cards[0];
    assert_eq!(card["indicator"], "critical");
    assert!(card["summary"].as_str().unwrap().chars().count() < 140);
    assert!(
        card["summary"]
            .as_str()
            .unwrap()
            .starts_with("Do not give: Diclofenac")
    );
    let detail = card["detail"].as_str().unwrap();
    assert!(
        detail.contains("rule `nsaid_contraindications.contraindication.gi_bleeding`"),
        "{detail}"
    );
    assert!(
        detail.contains("> Nimesulide: \"The drug is not assigned"),
        "{detail}"
    );
    assert_eq!(card["source"]["label"], "rxcheck NSAID formulary 2026.11.1");
    assert!(
        card["overrideReasons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["code"].is_string() && r["display"].is_string())
    );
    let uuid = card["uuid"].as_str().unwrap().to_string();
    assert_eq!(uuid.len(), 36);

    // The specification's own order-sign example: amoxicillin, outside the formulary, no card
    // (and no prefetch needed for it).
    let (status, body) = server.post(SIGN, &fixture("cds-hooks-order-sign-r4.json"));
    assert_eq!((status, body), (200, json!({"cards": []})));

    // The same diclofenac order without its prefetch and with no fhirServer: 412.
    let mut call: Value =
        serde_json::from_str(&fixture("pddi-diclofenac-order-sign.json")).unwrap();
    call.as_object_mut().unwrap().remove("prefetch");
    let (status, body) = server.post(SIGN, &call.to_string());
    assert_eq!(status, 412);
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert!(
        body["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("`patient`, `conditions`, `allergies`, `medications`")
    );

    // Malformed JSON: 400 naming the problem.
    let (status, body) = server.post(SIGN, "{\"hook\": ");
    assert_eq!(status, 400);
    assert!(
        body["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("not JSON"),
        "{body}"
    );

    // order-select with the orders selected; a safe order has no card, unless info is asked.
    let mut select = call.clone();
    select["hook"] = json!("order-select");
    select["prefetch"] = json!({"patient": {"resourceType": "Patient", "gender": "male", "birthDate": "1970-05-01"},
        "conditions": null, "allergies": null, "medications": null});
    let order = &mut select["context"]["draftOrders"]["entry"][0]["resource"];
    order["id"] = json!("sel-1");
    order["dosageInstruction"][0]["timing"]["repeat"]["frequency"] = json!(2);
    select["context"]["selections"] = json!(["MedicationRequest/sel-1"]);
    let (status, body) = server.post("/cds-services/rxcheck-order-select", &select.to_string());
    assert_eq!((status, body), (200, json!({"cards": []})));
    let (_, body) = server.post(
        "/cds-services/rxcheck-order-select?info=1",
        &select.to_string(),
    );
    assert_eq!(body["cards"][0]["indicator"], "info", "{body}");

    // Feedback: written to the audit file before the answer, with the card's rules.
    let feedback = json!({"feedback": [{"card": uuid, "outcome": "overridden",
        "overrideReason": {"reason": {"code": "benefit-outweighs-risk", "system": "urn:rxcheck:override-reason"}, "userComment": "discussed with GI"},
        "outcomeTimestamp": "2026-03-01T10:05:31Z"}]});
    let (status, _) = server.post(&format!("{SIGN}/feedback"), &feedback.to_string());
    assert_eq!(status, 200);
    let (status, _) = server.post(
        &format!("{SIGN}/feedback"),
        r#"{"feedback":[{"card":"x","outcome":"maybe"}]}"#,
    );
    assert_eq!(status, 400);
    // A reason the cards never offered is refused, and nothing is written.
    let unoffered = json!({"feedback": [{"card": uuid, "outcome": "overridden",
        "overrideReason": {"reason": {"code": "zzz", "system": "urn:rxcheck:override-reason"}},
        "outcomeTimestamp": "2026-03-01T10:06:00Z"}]});
    let (status, _) = server.post(&format!("{SIGN}/feedback"), &unoffered.to_string());
    assert_eq!(status, 400);
    // So is an offered code of another system, and a time that is not an instant.
    for (reason, time) in [
        (
            json!({"code": "benefit-outweighs-risk", "system": "urn:other"}),
            "2026-03-01T10:06:00Z",
        ),
        (
            json!({"code": "benefit-outweighs-risk", "system": "urn:rxcheck:override-reason"}),
            "yesterday",
        ),
    ] {
        let item = json!({"feedback": [{"card": uuid, "outcome": "overridden",
            "overrideReason": {"reason": reason}, "outcomeTimestamp": time}]});
        let (status, body) = server.post(&format!("{SIGN}/feedback"), &item.to_string());
        assert_eq!(status, 400, "{body}");
    }

    let audit = server.audit.clone();
    let written = std::fs::read_to_string(&audit).unwrap();
    assert!(server.stop().success());
    assert_eq!(
        std::fs::read_to_string(&audit).unwrap(),
        written,
        "nothing is lost at the stop"
    );
    let lines: Vec<Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["card"], uuid.as_str());
    assert_eq!(line["outcome"], "overridden");
    assert_eq!(line["override_reason"]["code"], "benefit-outweighs-risk");
    assert_eq!(line["comment"], "discussed with GI");
    assert_eq!(line["service"], "rxcheck-order-sign");
    assert_eq!(line["outcome_time"], "2026-03-01T10:05:31Z");
    assert!(
        line["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "nsaid_contraindications.contraindication.gi_bleeding")
    );
}

#[test]
fn a_panic_or_an_oversized_body_does_not_take_the_server_down() {
    let mut server = Server::start(&[
        "--panic-on-hook-instance",
        "boom",
        "--max-body-bytes",
        "100000",
    ]);
    let (status, body) = server.post(SIGN, r#"{"hookInstance": "boom", "context": {}}"#);
    assert_eq!(status, 500);
    assert_eq!(body["resourceType"], "OperationOutcome");
    // A body over the limit gets 413. The client sends just past the limit and waits for the
    // answer (a client still writing when the server closes may see a reset instead).
    let status = raw_status(
        &server,
        "Content-Length: 200000\r\n\r\n",
        &"x".repeat(100_001),
    );
    assert_eq!(status, "HTTP/1.1 413");
    // A body declared over the limit is refused at once, before the client sends it, and one
    // sent in chunks when it passes the limit: both with an OperationOutcome.
    let started = std::time::Instant::now();
    let declared = raw_response(&server, "Content-Length: 100000000\r\n\r\n", "");
    assert!(started.elapsed() < Duration::from_secs(5));
    let chunk = "x".repeat(100_001);
    let chunked = raw_response(
        &server,
        "Transfer-Encoding: chunked\r\n\r\n",
        &format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len()),
    );
    for answer in [declared, chunked] {
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(
            answer.contains("application/json")
                && answer.contains("over the limit of 100000 bytes"),
            "{answer}"
        );
    }
    assert_eq!(server.get("/cds-services").0, 200);
    assert!(server.stop().success());
}

#[test]
fn a_broken_formulary_stops_the_start_with_exit_3() {
    let out = Command::new(env!("CARGO_BIN_EXE_rxcheck"))
        .args(["serve", "--listen", "127.0.0.1:0", "--formulary"])
        .arg(format!(
            "{}/tests/fixtures/formularies/consistency.toml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().count(),
        1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_request_that_outlasts_the_timeout_gets_408_and_the_server_goes_on() {
    let mut server = Server::start(&["--timeout", "1"]);
    // A client that sends its headers and part of the body, then stalls.
    let status = raw_status(&server, "Content-Length: 100\r\n\r\n", "{\"hook\":");
    assert_eq!(status, "HTTP/1.1 408");
    assert_eq!(server.get("/cds-services").0, 200);
    assert!(server.stop().success());
}

#[test]
fn a_connection_that_never_finishes_its_headers_is_closed() {
    let mut server = Server::start(&["--timeout", "1"]);
    let started = std::time::Instant::now();
    // No blank line after the headers: the request never starts.
    let answer = raw_response(&server, "X-Slow: 1\r\n", "");
    assert_eq!(answer, "", "closed without an answer");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.get("/cds-services").0, 200);
    assert!(server.stop().success());
}

/// Sends an order-sign request's headers (`Content-Type` and then `headers`) and `body` over a
/// plain connection, and returns the status line's first 12 bytes (`HTTP/1.1 413`).
fn raw_status(server: &Server, headers: &str, body: &str) -> String {
    raw_response(server, headers, body)
        .chars()
        .take(12)
        .collect()
}

/// Sends a request as [`raw_status`] does, and returns the answer read until it ends with
/// its JSON body, the connection closes, or ten seconds pass.
fn raw_response(server: &Server, headers: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let address = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {SIGN} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{headers}{body}"
    )
    .unwrap();
    stream.flush().unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(read @ 1..) = stream.read(&mut buffer) {
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer);
        let ended = text.ends_with('}') || text.ends_with("\r\n\r\n");
        if ended && text.contains("\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn an_overridden_card_in_the_audit_file_acknowledges_its_findings_in_check() {
    let mut server = Server::start(&[]);
    let mut call: Value =
        serde_json::from_str(&fixture("pddi-diclofenac-order-sign.json")).unwrap();
    call["context"]["userId"] = json!("Practitioner/dr-ivanova");
    call["context"]["draftOrders"]["entry"][0]["resource"]["id"] = json!("order-1");
    let (status, body) = server.post(SIGN, &call.to_string());
    assert_eq!(status, 200, "{body}");
    let uuid = body["cards"][0]["uuid"].as_str().unwrap().to_string();
    let feedback = json!({"feedback": [{"card": uuid, "outcome": "overridden",
        "overrideReason": {"reason": {"code": "benefit-outweighs-risk", "system": "urn:rxcheck:override-reason"}},
        "outcomeTimestamp": "2026-03-01T10:05:31Z"}]});
    let (status, _) = server.post(&format!("{SIGN}/feedback"), &feedback.to_string());
    assert_eq!(status, 200);
    let audit = server.audit.clone();
    assert!(server.stop().success());
    let line: Value =
        serde_json::from_str(std::fs::read_to_string(&audit).unwrap().trim()).unwrap();
    assert_eq!(line["reason"], "benefit-outweighs-risk");
    assert_eq!(line["by"], "Practitioner/dr-ivanova");
    assert_eq!(line["at"], "2026-03-01T10:05:31Z");
    assert_eq!(line["inputs"].as_str().unwrap().len(), 16);

    // The same order and chart, as a FHIR Bundle for `rxcheck check --fhir`.
    let mut entries = vec![json!({"resource": call["context"]["draftOrders"]})];
    for (_, resource) in call["prefetch"].as_object().unwrap() {
        entries.push(json!({ "resource": resource }));
    }
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("order.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    let run = |acknowledged: bool| {
        let mut cmd = assert_cmd::Command::cargo_bin("rxcheck").unwrap();
        cmd.env_remove("RXCHECK_SITE")
            .args([
                "check",
                "--as-of",
                "2026-03-01",
                "--format",
                "json",
                "--fhir",
            ])
            .arg(&path);
        if acknowledged {
            cmd.arg("--acknowledged").arg(&audit);
        }
        let out = cmd.output().unwrap();
        let record: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), record)
    };
    let (code, record) = run(false);
    assert_eq!(
        (code, record["verdict"].as_str()),
        (2, Some("reject")),
        "{record}"
    );
    let (code, record) = run(true);
    assert_eq!(
        (code, record["verdict"].as_str()),
        (0, Some("ok")),
        "{record}"
    );
    let bleeding = record["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "nsaid_contraindications.contraindication.gi_bleeding")
        .unwrap();
    assert_eq!(bleeding["acknowledged"]["by"], "Practitioner/dr-ivanova");
}

#[test]
fn a_site_overlay_regrades_the_cards() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.toml");
    std::fs::write(
        &site,
        "[[rule]]\nmatch = \"nsaid_contraindications.contraindication.*\"\nseverity = \"warn\"\njustification = \"GI review by the ward pharmacist\"\nauthor = \"M. Petrova\"\n",
    )
    .unwrap();
    let mut server = Server::start(&["--site", site.to_str().unwrap()]);
    let (status, body) = server.post(SIGN, &fixture("pddi-diclofenac-order-sign.json"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cards"][0]["indicator"], "warning", "{body}");
    assert!(
        body["cards"][0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Caution:")
    );
    assert!(server.stop().success());
}

#[test]
fn an_order_with_a_field_of_the_wrong_type_is_a_card_not_silence() {
    let server = Server::start(&[]);
    let order = json!({"resourceType": "MedicationRequest", "id": "mr1", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"text": "Diclofenac 50 mg oral tablet"},
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 3.0, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg", "code": "mg"}}]}]});
    let call = |order: &Value| {
        json!({"hook": "order-sign", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"userId": "Practitioner/1", "patientId": "p1",
                "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]}},
            "prefetch": {"patient": {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1986-05-01"},
                "conditions": null, "allergies": null, "medications": null, "pregnancy": null}})
        .to_string()
    };
    let (status, body) = server.post(SIGN, &call(&order));
    assert_eq!(status, 200);
    let cards = body["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 1, "{body}");
    assert_eq!(cards[0]["indicator"], "critical");
    assert!(
        cards[0]["detail"]
            .as_str()
            .unwrap()
            .contains("frequency` cannot be read"),
        "{body}"
    );
    // An order outside the formulary that cannot be read stays quiet.
    let mut other = order.clone();
    other["medicationCodeableConcept"] = json!({"text": "Amoxicillin 500 mg capsule"});
    let (_, body) = server.post(SIGN, &call(&other));
    assert_eq!(body["cards"], json!([]));

    // An order whose Medication is not in the call may be a formulary drug's: a warning card
    // says it went unchecked, whether or not a formulary drug is among the other orders.
    let mut unresolved = order.clone();
    unresolved["id"] = json!("mr2");
    unresolved
        .as_object_mut()
        .unwrap()
        .remove("medicationCodeableConcept");
    unresolved["medicationReference"] = json!({"reference": "Medication/zzz"});
    unresolved["dosageInstruction"][0]["timing"]["repeat"]["frequency"] = json!(2);
    for orders in [
        vec![unresolved.clone()],
        vec![other.clone(), unresolved.clone()],
    ] {
        let mut body = serde_json::from_str::<Value>(&call(&order)).unwrap();
        body["context"]["draftOrders"]["entry"] =
            orders.iter().map(|o| json!({ "resource": o })).collect();
        let (status, answer) = server.post(SIGN, &body.to_string());
        assert_eq!(status, 200);
        let cards = answer["cards"].as_array().unwrap();
        assert_eq!(cards.len(), 1, "{answer}");
        assert_eq!(cards[0]["indicator"], "warning");
        let summary = cards[0]["summary"].as_str().unwrap();
        assert!(
            summary.starts_with("Cannot identify the drug of order mr2")
                && summary.contains("Medication/zzz"),
            "{summary}"
        );
    }
    // Its display names it: an order outside the formulary, quiet.
    unresolved["medicationReference"]["display"] = json!("Amoxicillin 500 mg capsule");
    let (_, body) = server.post(SIGN, &call(&unresolved));
    assert_eq!(body["cards"], json!([]));
}

#[test]
fn an_observation_about_another_patient_is_not_the_patients() {
    let server = Server::start(&[]);
    let status = |subject: &str, date: &str, code: &str| {
        json!({"resourceType": "Observation", "status": "final", "subject": {"reference": subject},
            "effectiveDateTime": date, "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
            "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": code}]}})
    };
    let not_breastfeeding = json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-03-01",
        "code": {"coding": [{"system": "http://loinc.org", "code": "63895-7"}]}, "valueBoolean": false});
    // The patient is named only by the hook's context: her Patient resource and her order have
    // no id or subject.
    let call = |other: &str| {
        json!({"hook": "order-sign", "hookInstance": "0b4c07e4-5a4b-4e0f-9f43-6c1d0f6a8a11",
            "context": {"userId": "Practitioner/1", "patientId": "p1",
                "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": {
                    "resourceType": "MedicationRequest", "id": "mr1", "status": "draft", "intent": "order",
                    "medicationCodeableConcept": {"text": "Indomethacin 25 mg tablet"},
                    "dosageInstruction": [{"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                        "doseAndRate": [{"doseQuantity": {"value": 25, "unit": "mg", "code": "mg"}}]}]}}]}},
            "prefetch": {"patient": {"resourceType": "Patient", "gender": "female", "birthDate": "1990-05-01"},
                "conditions": null, "allergies": null, "medications": null,
                "pregnancy": {"resourceType": "Bundle", "entry": [
                    {"resource": status("Patient/p1", "2026-02-01", "77386006")},
                    {"resource": status(other, "2026-02-28", "60001007")},
                    {"resource": not_breastfeeding}]}}})
        .to_string()
    };
    // Another patient's later "not pregnant" does not hide hers.
    let (status, body) = server.post(SIGN, &call("Patient/other"));
    assert_eq!(status, 200);
    assert_eq!(body["cards"][0]["indicator"], "critical", "{body}");
    // Her own later one does.
    let (_, body) = server.post(SIGN, &call("Patient/p1"));
    assert_eq!(body["cards"], json!([]), "{body}");
}

#[test]
fn a_selection_names_its_draft_order_in_any_reference_form_or_the_call_is_refused() {
    let server = Server::start(&[]);
    let call = |full_url: &str, id: Option<&str>, selection: &str| {
        let mut order = json!({"resourceType": "MedicationRequest", "status": "draft", "intent": "order",
            "medicationCodeableConcept": {"text": "Diclofenac 75 mg oral tablet"},
            "dosageInstruction": [{"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 75, "unit": "mg", "code": "mg"}}]}]});
        if let Some(id) = id {
            order["id"] = json!(id);
        }
        json!({"hook": "order-select", "hookInstance": "5e0a3f55-0d0a-4d52-9d43-0f6b7e2c1a10",
            "context": {"userId": "Practitioner/1", "patientId": "p1", "selections": [selection],
                "draftOrders": {"resourceType": "Bundle", "entry": [{"fullUrl": full_url, "resource": order}]}},
            "prefetch": {"patient": {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1986-05-01"},
                "conditions": null, "allergies": null, "medications": null, "pregnancy": null}})
        .to_string()
    };
    let select = "/cds-services/rxcheck-order-select";
    let uuid = "urn:uuid:6a5c5c43-2d6c-4c1a-8a3b-7d1f2e0c9b11";
    for (id, selection) in [
        (Some("rx1"), "MedicationRequest/rx1"),
        (Some("rx1"), "rx1"),
        (
            Some("rx1"),
            "https://ehr.example/fhir/MedicationRequest/rx1",
        ),
        (Some("rx1"), "MedicationRequest/rx1/_history/2"),
        (None, uuid),
    ] {
        let (status, body) = server.post(select, &call(uuid, id, selection));
        assert_eq!(status, 200, "{selection}: {body}");
        assert_eq!(
            body["cards"][0]["indicator"], "critical",
            "{selection}: {body}"
        );
    }
    // An order with no id is named by the id its absolute fullUrl ends with.
    let url = "https://ehr.example/fhir/MedicationRequest/rxbad";
    let (status, body) = server.post(select, &call(url, None, "MedicationRequest/rxbad"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cards"][0]["indicator"], "critical", "{body}");
    // Another kind of draft order may be selected beside it: it is not checked.
    let mut with_lab: Value =
        serde_json::from_str(&call(uuid, Some("rx1"), "MedicationRequest/rx1")).unwrap();
    with_lab["context"]["selections"] = json!(["ServiceRequest/lab1", "MedicationRequest/rx1"]);
    with_lab["context"]["draftOrders"]["entry"]
        .as_array_mut()
        .unwrap()
        .push(
            json!({"resource": {"resourceType": "ServiceRequest", "id": "lab1", "status": "draft",
            "intent": "order", "code": {"text": "Complete blood count"}}}),
        );
    let (status, body) = server.post(select, &with_lab.to_string());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cards"][0]["indicator"], "critical", "{body}");
    // No selection at all checks nothing either: refused.
    let mut empty: Value = serde_json::from_str(&call(uuid, Some("rx1"), "rx1")).unwrap();
    empty["context"]["selections"] = json!([]);
    assert_eq!(server.post(select, &empty.to_string()).0, 400);
    // A selection that names no draft order checks nothing: the call is refused, naming it.
    let (status, body) = server.post(select, &call(uuid, Some("rx1"), "MedicationRequest/zzz"));
    assert_eq!(status, 400);
    assert_eq!(body["resourceType"], "OperationOutcome");
    let diagnostics = body["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(
        diagnostics.contains("`MedicationRequest/zzz`"),
        "{diagnostics}"
    );
}

#[test]
fn a_browser_may_call_the_service() {
    let server = Server::start(&[]);
    // The preflight a browser sends before its POST, as the CDS Hooks sandbox does.
    let preflight = Server::agent()
        .request("OPTIONS", &format!("{}{SIGN}", server.base))
        .set("Origin", "https://sandbox.cds-hooks.org")
        .set("Access-Control-Request-Method", "POST")
        .set(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .call()
        .unwrap();
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    let methods = preflight.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let headers = preflight.header("access-control-allow-headers").unwrap();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    let discovery = Server::agent()
        .get(&format!("{}/cds-services", server.base))
        .set("Origin", "https://sandbox.cds-hooks.org")
        .call()
        .unwrap();
    assert_eq!(discovery.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn a_prefetch_or_draft_order_that_cannot_be_read_whole_is_refused_not_read_as_none() {
    let server = Server::start(&[]);
    let call: Value = serde_json::from_str(&fixture("pddi-diclofenac-order-sign.json")).unwrap();
    let with = |pointer: &str, value: Value| {
        let mut changed = call.clone();
        *changed.pointer_mut(pointer).unwrap() = value;
        server.post(SIGN, &changed.to_string())
    };
    let diagnostics = |body: &Value| {
        body["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // A prefetch value that is no resource, or one page of a search: 412.
    let page = json!({"resourceType": "Bundle", "type": "searchset", "total": 3, "entry": [],
        "link": [{"relation": "next", "url": "https://ehr.example/fhir/Condition?page=2"}]});
    for (key, value) in [
        ("conditions", json!({})),
        ("allergies", json!("AllergyIntolerance?patient=f101")),
        ("allergies", json!([])),
        ("conditions", page),
        (
            "medications",
            json!({"resourceType": "Bundle", "entry": {"resource": {}}}),
        ),
    ] {
        let (status, body) = with(&format!("/prefetch/{key}"), value.clone());
        assert_eq!(status, 412, "{key} {value}: {body}");
        assert!(
            diagnostics(&body).contains(&format!("prefetch.{key}")),
            "{body}"
        );
    }
    // A draft order list that is not a list of resources: 400.
    let (status, body) = with("/context/draftOrders/entry", json!({"resource": {}}));
    assert_eq!(status, 400, "{body}");
    let (status, body) = with(
        "/context/draftOrders/entry/0/resource/resourceType",
        Value::Null,
    );
    assert_eq!(status, 400, "{body}");
    // Two dosages in one order: the summary names that, not the fields it leaves unread.
    let order = "/context/draftOrders/entry/0/resource/dosageInstruction";
    let dosage = call.pointer(&format!("{order}/0")).unwrap().clone();
    let (status, body) = with(order, json!([dosage.clone(), dosage]));
    assert_eq!(status, 200, "{body}");
    let summary = body["cards"][0]["summary"].as_str().unwrap().to_string();
    assert!(summary.contains("dosageInstruction` holds 2"), "{summary}");
    // Another patient's Patient resource does not give this patient's age.
    let other =
        json!({"resourceType": "Patient", "id": "p2", "gender": "male", "birthDate": "1986-01-01"});
    let (status, body) = with("/prefetch/patient", other);
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains("Cannot check"), "{body}");
}

#[test]
fn an_order_for_another_patient_than_the_call_s_is_refused_and_an_included_patient_is_the_same() {
    let server = Server::start(&[]);
    let call = |subject: &str, conditions: Value| {
        json!({"hook": "order-sign", "hookInstance": "5f1c07e4-5a4b-4e0f-9f43-6c1d0f6a8a12",
            "context": {"userId": "Practitioner/1", "patientId": "p1",
                "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": {
                    "resourceType": "MedicationRequest", "id": "mr1", "status": "draft", "intent": "order",
                    "subject": {"reference": subject},
                    "medicationCodeableConcept": {"text": "Nimesulide 100 mg tablet"},
                    "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                        "doseAndRate": [{"doseQuantity": {"value": 100, "code": "mg"}}]}]}}]}},
            "prefetch": {"patient": {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1980-01-01"},
                "conditions": conditions, "allergies": null, "medications": null, "pregnancy": null}})
        .to_string()
    };
    let (status, body) = server.post(SIGN, &call("Patient/p2", json!(null)));
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("Patient/p2"), "{body}");
    // A search that includes the patient's own Patient beside her Conditions.
    let with_patient = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J45.9"}]}}},
        {"resource": {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1980-01-01"},
            "search": {"mode": "include"}}]});
    let (status, body) = server.post(SIGN, &call("Patient/p1", with_patient));
    assert_eq!(status, 200, "{body}");
    let summary = body["cards"][0]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("asthma"), "{body}");
}

#[test]
fn a_body_not_sent_as_json_or_compressed_is_415_and_a_wrong_method_says_why() {
    let server = Server::start(&[]);
    let call = fixture("pddi-diclofenac-order-sign.json");
    let agent = Server::agent();
    let url = format!("{}{SIGN}", server.base);
    let (status, body) = answer(
        agent
            .post(&url)
            .set("Content-Type", "text/plain")
            .send_string(&call),
    );
    assert_eq!(status, 415, "{body}");
    let (status, _) = answer(agent.post(&url).send_string(&call));
    assert_eq!(status, 415);
    let (status, body) = answer(
        agent
            .post(&url)
            .set("Content-Type", "application/json")
            .set("Content-Encoding", "gzip")
            .send_string(&call),
    );
    assert_eq!(status, 415, "{body}");
    assert_eq!(server.post(SIGN, &call).0, 200);
    // A method an endpoint does not take: 405, with an OperationOutcome that says why.
    let (status, body) = answer(agent.get(&url).call());
    assert_eq!(status, 405);
    assert_eq!(body["resourceType"], "OperationOutcome");
    // order-select without its selections cannot tell which orders to check.
    let mut select: Value = serde_json::from_str(&call).unwrap();
    select["hook"] = json!("order-select");
    let (status, body) = server.post("/cds-services/rxcheck-order-select", &select.to_string());
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("selections"), "{body}");
}
