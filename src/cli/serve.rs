//! `rxcheck serve`: the CDS Hooks service an EHR calls when an order is selected or about to
//! be signed. The formulary is loaded once at start; each call is answered by the library's
//! `cds` module; feedback goes to an append-only JSON-lines audit file, synced before the
//! answer. Bounded bodies, a timeout per request and per idle connection, a panic answered as
//! 500 (the server stays up), and a graceful stop on SIGTERM or Ctrl-C.

use super::{DateArgs, Fatal, FormularyArgs, load_formulary};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rxcheck::Formulary;
use rxcheck::cds::{self, Answer, IssuedCard};
use rxcheck::fhir::parse_json;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_io_timeout::TimeoutStream;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  rxcheck serve
  rxcheck serve --listen 127.0.0.1:8080 --audit cds-feedback.jsonl
  curl -s http://127.0.0.1:8080/cds-services")]
pub struct Args {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the address is printed on stderr)
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: String,
    /// Append each feedback outcome to this JSON-lines file (synced before answering);
    /// without it, feedback is refused with 501
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    /// Also answer `info` cards (advice); without it only with `?info=1` on a call
    #[arg(long)]
    info_cards: bool,
    /// The largest request body accepted, in bytes
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
    max_body_bytes: usize,
    /// Time allowed for one request, in seconds; a connection that sends nothing for twice as
    /// long (headers never finished, a kept-alive connection unused) is closed
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    timeout: u64,
    /// For tests of panic handling: a call with this hookInstance panics in its handler
    #[arg(long, hide = true, value_name = "ID")]
    panic_on_hook_instance: Option<String>,
    #[command(flatten)]
    dates: DateArgs,
    #[command(flatten)]
    formulary: FormularyArgs,
}

/// How many issued cards are remembered for the feedback that names them.
const CARDS_REMEMBERED: usize = 100_000;

struct Service {
    formulary: Formulary,
    dates: DateArgs,
    info_cards: bool,
    max_body_bytes: usize,
    panic_on: Option<String>,
    audit: Option<Mutex<File>>,
    cards: Mutex<(HashMap<String, IssuedCard>, VecDeque<String>)>,
}

type Shared = Arc<Service>;

pub fn run(args: Args) -> Result<i32, Fatal> {
    let formulary = load_formulary(&args.formulary)?;
    let audit = match &args.audit {
        Some(path) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Fatal(format!("cannot open audit file `{}`: {e}", path.display())))?,
        )),
        None => None,
    };
    let service = Arc::new(Service {
        formulary,
        dates: args.dates.clone(),
        info_cards: args.info_cards,
        max_body_bytes: args.max_body_bytes,
        panic_on: args.panic_on_hook_instance.clone(),
        audit,
        cards: Mutex::new((HashMap::new(), VecDeque::new())),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal(format!("cannot start the server: {e}")))?;
    runtime.block_on(serve(args, service))
}

async fn serve(args: Args, service: Shared) -> Result<i32, Fatal> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| Fatal(format!("cannot listen on `{}`: {e}", args.listen)))?;
    let address = listener
        .local_addr()
        .map_err(|e| Fatal(format!("cannot listen on `{}`: {e}", args.listen)))?;
    let app = Router::new()
        .route("/cds-services", get(discovery))
        .route("/cds-services/{id}", post(hook))
        .route("/cds-services/{id}/feedback", post(feedback))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(service)
        .layer(DefaultBodyLimit::max(args.max_body_bytes))
        .layer(axum::middleware::from_fn(move |request, next| {
            declared_size(args.max_body_bytes, request, next)
        }))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(args.timeout.max(1)),
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        // CDS Hooks asks services to answer browsers too (the sandbox, SMART apps): any origin,
        // with its bearer token.
        .layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        );
    // Written so that a closed stderr never stops the server.
    let _ = writeln!(
        std::io::stderr(),
        "rxcheck serve: listening on http://{address}"
    );
    // Past a request's own timeout, so that a request stalled in its body is answered 408.
    let listener = IdleTimeout {
        listener,
        timeout: Duration::from_secs(args.timeout.max(1).saturating_mul(2)),
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop_signal())
        .await
        .map_err(|e| Fatal(format!("server error: {e}")))?;
    let _ = writeln!(std::io::stderr(), "rxcheck serve: stopped");
    Ok(0)
}

/// Accepts connections whose reads time out: a client that leaves one idle, or never finishes
/// its headers, does not hold it open.
struct IdleTimeout {
    listener: tokio::net::TcpListener,
    timeout: Duration,
}

impl axum::serve::Listener for IdleTimeout {
    type Io = std::pin::Pin<Box<TimeoutStream<tokio::net::TcpStream>>>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, address) = axum::serve::Listener::accept(&mut self.listener).await;
        let mut stream = TimeoutStream::new(stream);
        stream.set_read_timeout(Some(self.timeout));
        (Box::pin(stream), address)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// Resolves on SIGTERM or Ctrl-C: requests in flight then finish, new ones are refused.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn outcome(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &cds::operation_outcome(code, message))
}

/// A body whose declared length is over `limit` is refused before it is read (413), rather
/// than waited for.
async fn declared_size(limit: usize, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => too_large(limit),
        _ => next.run(request).await,
    }
}

fn too_large(limit: usize) -> Response {
    outcome(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-costly",
        &format!("the request body is over the limit of {limit} bytes (--max-body-bytes)"),
    )
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    outcome(
        StatusCode::INTERNAL_SERVER_ERROR,
        "exception",
        "rxcheck failed while answering this call; it was not checked, and the server goes on",
    )
}

async fn not_found() -> Response {
    outcome(
        StatusCode::NOT_FOUND,
        "not-found",
        "no such endpoint: see GET /cds-services",
    )
}

async fn method_not_allowed() -> Response {
    outcome(
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
        "this endpoint does not take that method: GET /cds-services, POST a hook call or its feedback",
    )
}

async fn discovery(State(service): State<Shared>) -> Response {
    json_response(StatusCode::OK, &cds::discovery(&service.formulary))
}

fn service_hook(id: &str) -> Option<&'static str> {
    cds::SERVICES
        .iter()
        .find(|(service, _)| *service == id)
        .map(|(_, hook)| *hook)
}

async fn hook(
    State(service): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(hook) = service_hook(&id) else {
        return not_found().await;
    };
    let call = match read_call(&headers, body, service.max_body_bytes) {
        Ok(call) => call,
        Err(response) => return *response,
    };
    if service.panic_on.is_some()
        && call.get("hookInstance").and_then(Value::as_str) == service.panic_on.as_deref()
    {
        panic!("panic asked for by --panic-on-hook-instance");
    }
    let info = service.info_cards || query.get("info").is_some_and(|v| v == "1" || v == "true");
    let dates = service.dates.dates();
    let options = cds::Options {
        dates: &dates,
        info,
    };
    let mut new_uuid = || uuid::Uuid::new_v4().to_string();
    match cds::answer(&service.formulary, hook, &call, &options, &mut new_uuid) {
        Answer::Cards(body, issued) => {
            remember(&service, issued);
            json_response(StatusCode::OK, &body)
        }
        Answer::Precondition(body) => json_response(StatusCode::PRECONDITION_FAILED, &body),
        Answer::BadRequest(body) => json_response(StatusCode::BAD_REQUEST, &body),
    }
}

/// A request body as JSON; a 415 when it is not sent as JSON (a form or plain text, which a
/// browser may send to another site unasked) or is compressed, a 413 when it is over `limit`
/// bytes, a 400 naming the problem when it is not JSON.
fn read_call(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Value, Box<Response>> {
    let unsupported = |message: String| {
        Box::new(outcome(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            &message,
        ))
    };
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json") => {}
        Some(json) if json.starts_with("application/") && json.ends_with("+json") => {}
        other => {
            return Err(unsupported(format!(
                "the request body is sent as {}: send it as `Content-Type: application/json`",
                other.map_or_else(|| "nothing named".to_string(), |t| format!("`{t}`"))
            )));
        }
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|e| !e.eq_ignore_ascii_case("identity"));
    if let Some(encoding) = encoding {
        return Err(unsupported(format!(
            "the request body is encoded `{encoding}`: send it uncompressed"
        )));
    }
    let body = body.map_err(|rejection| {
        Box::new(match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => too_large(limit),
            status => outcome(status, "invalid", &rejection.body_text()),
        })
    })?;
    std::str::from_utf8(&body)
        .map_err(|e| format!("not UTF-8: {e}"))
        .and_then(parse_json)
        .map_err(|e| {
            Box::new(outcome(
                StatusCode::BAD_REQUEST,
                "invalid",
                &format!("the request body is {e}"),
            ))
        })
}

fn remember(service: &Service, issued: Vec<IssuedCard>) {
    let Ok(mut cards) = service.cards.lock() else {
        return;
    };
    let (by_id, order) = &mut *cards;
    for card in issued {
        order.push_back(card.uuid.clone());
        by_id.insert(card.uuid.clone(), card);
        if order.len() > CARDS_REMEMBERED {
            if let Some(old) = order.pop_front() {
                by_id.remove(&old);
            }
        }
    }
}

async fn feedback(
    State(service): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if service_hook(&id).is_none() {
        return not_found().await;
    }
    let call = match read_call(&headers, body, service.max_body_bytes) {
        Ok(call) => call,
        Err(response) => return *response,
    };
    let lines = match audit_lines(&service, &id, &call) {
        Ok(lines) => lines,
        Err(message) => return outcome(StatusCode::BAD_REQUEST, "invalid", &message),
    };
    if service.audit.is_none() {
        return outcome(
            StatusCode::NOT_IMPLEMENTED,
            "not-supported",
            "feedback is not recorded by this server: start it with --audit FILE",
        );
    }
    let worker = Arc::clone(&service);
    let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let Some(audit) = &worker.audit else {
            return Ok(());
        };
        let mut file = audit
            .lock()
            .map_err(|_| std::io::Error::other("audit file lock poisoned"))?;
        file.write_all(lines.as_bytes())?;
        file.flush()?;
        file.sync_data()
    })
    .await;
    match written {
        Ok(Ok(())) => json_response(StatusCode::OK, &json!({})),
        Ok(Err(e)) => outcome(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            &format!("the feedback could not be written to the audit file: {e}"),
        ),
        Err(_) => outcome(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            "the feedback could not be written to the audit file",
        ),
    }
}

/// The audit file's lines for a feedback call, one JSON object per outcome; `Err` says what
/// is malformed (nothing is written then).
fn audit_lines(service: &Service, id: &str, call: &Value) -> Result<String, String> {
    let Some(items) = call.get("feedback").and_then(Value::as_array) else {
        return Err("`feedback` is missing or not a list".into());
    };
    let received = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let cards = service
        .cards
        .lock()
        .map_err(|_| "the card memory is unavailable".to_string())?;
    let mut lines = String::new();
    for (i, item) in items.iter().enumerate() {
        let text = |key: &str| item.get(key).and_then(Value::as_str);
        let card = text("card").ok_or_else(|| format!("`feedback[{i}].card` is missing"))?;
        let outcome = text("outcome")
            .filter(|o| matches!(*o, "accepted" | "overridden"))
            .ok_or_else(|| format!("`feedback[{i}].outcome` must be `accepted` or `overridden`"))?;
        let time = text("outcomeTimestamp")
            .ok_or_else(|| format!("`feedback[{i}].outcomeTimestamp` is missing"))?;
        if chrono::DateTime::parse_from_rfc3339(time).is_err() {
            return Err(format!(
                "`feedback[{i}].outcomeTimestamp` `{time}` is not an instant, such as `2026-06-01T10:00:00Z`"
            ));
        }
        let reason = item.get("overrideReason");
        // A reason is one of those the cards offer: a Coding of `overrideReasons`, its system
        // and code.
        if let Some(coding) = reason.and_then(|r| r.get("reason")) {
            let field = |key: &str| coding.get(key).and_then(Value::as_str);
            let offered = field("system") == Some(rxcheck::ack::REASON_SYSTEM)
                && field("code")
                    .is_some_and(|code| rxcheck::ack::REASONS.iter().any(|(c, _)| *c == code));
            if !offered {
                return Err(format!(
                    "`feedback[{i}].overrideReason.reason` is not one of the card's `overrideReasons` (its system and code)"
                ));
            }
        }
        let issued = cards.0.get(card);
        let line = json!({
            "received": received,
            "service": id,
            "card": card,
            "outcome": outcome,
            "outcome_time": time,
            "override_reason": reason.and_then(|r| r.get("reason")).cloned().unwrap_or(Value::Null),
            "comment": reason.and_then(|r| r.get("userComment")).cloned().unwrap_or(Value::Null),
            "accepted_suggestions": item.get("acceptedSuggestions").cloned().unwrap_or(Value::Null),
            "order": issued.map_or(Value::Null, |c| Value::from(c.order.clone())),
            "rules": issued.map_or_else(Vec::new, |c| c.rules.clone()),
            // The same record as an acknowledgement (`--acknowledged`) reads it.
            "rx_id": issued.map_or(Value::Null, |c| Value::from(c.order.clone())),
            "inputs": issued.map_or(Value::Null, |c| Value::from(c.inputs.clone())),
            "reason": reason
                .and_then(|r| r.get("reason"))
                .and_then(|c| c.get("code"))
                .cloned()
                .unwrap_or(Value::Null),
            "by": issued.and_then(|c| c.user.clone()).map_or(Value::Null, Value::from),
            "at": time,
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    Ok(lines)
}
