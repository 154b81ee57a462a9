//! `halo outbox send`: delivers what is approved and not yet sent, over SMTP
//! (lettre, rustls) or as `.eml` files, and never twice.
//!
//! How a second copy is prevented: the send holds the output root's lease
//! (one sender at a time), and for each message it writes an `attempt`
//! entry to the `outbox_delivery` chain *before* it hands the message to
//! the server, then `accepted` (with the server's answer), `deferred` or
//! `failed` after. An attempt that no outcome follows (the process died
//! while talking to the server) is treated as sent: halo cannot ask an SMTP
//! server whether it took a message, and a duplicate is the worse error.
//! The one window this leaves is a crash after the attempt entry and before
//! the server's acceptance: that message is then not delivered though the
//! outbox calls it sent, with the reason in `status_reason`; the window is
//! one SMTP transaction long, and `status_reason` names the messages it may
//! have hit. Every message carries a `Message-ID` made from `message_id`,
//! which receiving systems use to drop duplicates.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{SmtpTransport, Transport as _};
use serde_json::Value;
use url::Url;

use super::decisions::{self, DECISIONS, DELIVERIES};
use super::message::Message;
use crate::error::{Error, Result};
use crate::ledger::{Ledger, NewEntry};
use crate::storage::Storage;

/// Where messages go.
pub enum Transport {
    /// An SMTP server.
    Smtp(Box<SmtpTransport>),
    /// `.eml` files in a folder, one per message, named by its id.
    Files(PathBuf),
}

/// What `send` is given.
pub struct Options {
    /// Where to deliver.
    pub transport: Transport,
    /// The sender (`HALO_MAIL_FROM`).
    pub from: Mailbox,
    /// List what would be sent; send nothing, record nothing.
    pub dry_run: bool,
    /// At most this many messages this run.
    pub limit: usize,
    /// At most this many messages a minute (none: no pause).
    pub per_minute: Option<u32>,
    /// Now (messages past their `send_by` date are not sent).
    pub now: DateTime<Utc>,
    /// How long a silent lease on the output root is waited for.
    pub lease_timeout: Duration,
}

/// What one message's delivery came to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    /// The message.
    pub message_id: String,
    /// `sent`, `would_send`, `deferred`, `failed` or `stale`.
    pub result: &'static str,
    /// The recipient.
    pub recipient: String,
    /// The server's answer, the file written, or the error.
    pub detail: String,
}

/// Reads the transport from the environment: `HALO_SMTP_URL` (lettre's URL
/// form: `smtps://user:pass@host:465`, `smtp://user:pass@host:587?tls=required`,
/// plain `smtp://host:port` only to a loopback address, or `file:///folder`
/// for `.eml` files), `HALO_SMTP_CA_FILE` (a PEM certificate the TLS
/// connection also trusts) and `HALO_MAIL_FROM`.
pub fn from_env() -> Result<(Transport, Mailbox)> {
    let from = std::env::var("HALO_MAIL_FROM").map_err(|_| {
        Error::Config(
            "HALO_MAIL_FROM is not set (the sender, e.g. 'Creator team <creators@brand.example>')"
                .into(),
        )
    })?;
    let from: Mailbox = from
        .parse()
        .map_err(|e| Error::Config(format!("HALO_MAIL_FROM {from:?}: {e}")))?;
    let raw = std::env::var("HALO_SMTP_URL")
        .map_err(|_| Error::Config("HALO_SMTP_URL is not set (e.g. smtps://user:pass@smtp.example.com:465, or file:///path for .eml files)".into()))?;
    let ca = std::env::var("HALO_SMTP_CA_FILE").ok();
    Ok((transport(&raw, ca.as_deref())?, from))
}

/// The transport a URL names (see [`from_env`]).
pub fn transport(raw: &str, ca_file: Option<&str>) -> Result<Transport> {
    let url = Url::parse(raw).map_err(|e| Error::Config(format!("HALO_SMTP_URL: {e}")))?;
    if url.scheme() == "file" {
        let dir = url
            .to_file_path()
            .map_err(|_| Error::Config(format!("HALO_SMTP_URL {raw}: not a local folder")))?;
        return Ok(Transport::Files(dir));
    }
    let host = url
        .host_str()
        .ok_or_else(|| Error::Config("HALO_SMTP_URL has no host".into()))?
        .trim_matches(['[', ']'])
        .to_string();
    let tls_mode = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.to_string());
    let params = || -> Result<TlsParameters> {
        let mut b = TlsParameters::builder(host.clone());
        if let Some(f) = ca_file {
            let pem = std::fs::read(f)
                .map_err(|e| Error::Config(format!("HALO_SMTP_CA_FILE {f}: {e}")))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| Error::Config(format!("HALO_SMTP_CA_FILE {f}: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls()
            .map_err(|e| Error::Config(format!("HALO_SMTP_URL: TLS: {e}")))
    };
    let (tls, port) = match (url.scheme(), tls_mode.as_deref()) {
        ("smtps", _) => (Tls::Wrapper(params()?), 465),
        ("smtp", Some("required")) => (Tls::Required(params()?), 587),
        ("smtp", Some("opportunistic")) => (Tls::Opportunistic(params()?), 587),
        ("smtp", None | Some("none")) => {
            let loopback = host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(Error::Config(format!(
                    "HALO_SMTP_URL {host}: plain SMTP is only for a loopback test server; use smtps:// or ?tls=required"
                )));
            }
            (Tls::None, 25)
        }
        (s, t) => {
            return Err(Error::Config(format!(
                "HALO_SMTP_URL: scheme {s} with tls={t:?} is not smtp, smtps or file"
            )));
        }
    };
    let mut b = SmtpTransport::builder_dangerous(host.clone())
        .port(url.port().unwrap_or(port))
        .tls(tls)
        .timeout(Some(Duration::from_secs(30)));
    if !url.username().is_empty() {
        let dec = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        b = b.credentials(Credentials::new(
            dec(url.username()),
            dec(url.password().unwrap_or("")),
        ));
    }
    Ok(Transport::Smtp(Box::new(b.build())))
}

/// The mail as the creator receives it: both bodies, a stable Message-ID.
pub fn email(m: &Message, from: &Mailbox) -> Result<lettre::Message> {
    let to: Mailbox = m
        .recipient
        .as_deref()
        .ok_or_else(|| Error::Internal(format!("message {} has no recipient", m.message_id)))?
        .parse()
        .map_err(|e| {
            Error::InvalidInput(format!(
                "outbox message {}: recipient {:?}: {e}",
                m.message_id, m.recipient
            ))
        })?;
    let domain = from.email.domain().to_string();
    lettre::Message::builder()
        .message_id(Some(format!("<{}@{domain}>", m.message_id)))
        .from(from.clone())
        .to(to)
        .subject(m.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            m.body_text.clone(),
            m.body_html.clone(),
        ))
        .map_err(|e| Error::Internal(format!("message {}: {e}", m.message_id)))
}

/// A message to deliver, with the outbox date it was read from.
struct Due {
    m: Message,
    dt: NaiveDate,
    send_by: NaiveDate,
    attempt: i64,
}

/// The messages the newest outbox holds that are approved (by a person, or
/// by the job for its automatic kinds), not rejected, not suppressed, and
/// not yet handed to a server, in the order they were built.
async fn due(
    storage: &Storage,
    output: &Url,
    decided: &Ledger,
    delivered: &Ledger,
) -> Result<Vec<Due>> {
    let ctx = decisions::session(storage, output, decided, delivered).await?;
    let rows = ctx
        .sql(
            "SELECT * FROM outbox WHERE dt = (SELECT max(dt) FROM outbox)
               AND status IN ('needs_approval', 'approved')
             ORDER BY built_for, message_id",
        )
        .await?
        .collect()
        .await?;
    let dt = decisions::partition_date(&rows);
    let mut out = Vec::new();
    for row in crate::ledger::rows_json(&rows)? {
        let id = row["message_id"].as_str().unwrap_or_default().to_string();
        let events: Vec<_> = delivered
            .as_of(NaiveDate::MAX)
            .filter(|e| decisions::delivered_message(e) == id)
            .collect();
        if let Some(last) = events.last()
            && last.decision != "deferred"
        {
            continue;
        }
        let decision = decided.decision(&id);
        let m = match decision {
            Some(e) if e.decision == "approve" => Message::from_content(&id, &e.content)
                .ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "outbox ledger entry {} does not hold the approved message {id}",
                        e.seq
                    ))
                })?,
            Some(_) => continue,
            None if row.get("needs_approval") == Some(&Value::Bool(false)) => {
                serde_json::from_value(row.clone()).map_err(|e| {
                    Error::Internal(format!("outbox row {id} is not a message: {e}"))
                })?
            }
            None => continue,
        };
        let send_by = row
            .get("send_by")
            .and_then(|v| v.as_str())
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .ok_or_else(|| Error::Internal(format!("outbox row {id} has no send_by")))?;
        out.push(Due {
            m,
            dt: dt.ok_or_else(|| Error::Internal("outbox without dt".into()))?,
            send_by,
            attempt: events.iter().filter(|e| e.decision == "attempt").count() as i64 + 1,
        });
    }
    Ok(out)
}

/// Delivers what is due, under the output root's lease. A transient failure
/// stops the run (the message stays approved for the next send; exit 75);
/// a permanent one marks the message failed and goes on (exit 65 at the
/// end, from the caller).
pub async fn send(storage: &Storage, output: &Url, o: &Options) -> Result<Vec<Outcome>> {
    crate::lease::holding(
        storage,
        output,
        "outbox send",
        o.lease_timeout,
        send_holding(storage, output, o),
    )
    .await
}

async fn record(
    ledger: &mut Ledger,
    storage: &Storage,
    output: &Url,
    d: &Due,
    event: &str,
    extra: serde_json::Map<String, Value>,
) -> Result<()> {
    let mut content = if event == "attempt" {
        d.m.to_content()
    } else {
        serde_json::Map::new()
    };
    content.insert("message_id".into(), Value::String(d.m.message_id.clone()));
    content.insert("attempt".into(), Value::from(d.attempt));
    content.extend(extra);
    ledger
        .append(
            storage,
            output,
            NewEntry {
                at: Utc::now(),
                decision: event.into(),
                subject_id: decisions::delivery_subject(&d.m.message_id, d.attempt, event),
                by: "halo outbox send".into(),
                note: None,
                as_of: d.dt,
                content,
            },
        )
        .await?;
    Ok(())
}

async fn send_holding(storage: &Storage, output: &Url, o: &Options) -> Result<Vec<Outcome>> {
    let decided = Ledger::verified(storage, output, DECISIONS).await?;
    let mut delivered = Ledger::verified(storage, output, DELIVERIES).await?;
    let today = o.now.date_naive();
    let mut out = Vec::new();
    let mut sent = 0usize;
    for d in due(storage, output, &decided, &delivered).await? {
        let recipient = d.m.recipient.clone().unwrap_or_default();
        if d.send_by < today {
            out.push(Outcome {
                message_id: d.m.message_id.clone(),
                result: "stale",
                recipient,
                detail: format!("built for {}, not sent by {}", d.m.built_for, d.send_by),
            });
            continue;
        }
        if sent >= o.limit {
            break;
        }
        let mail = email(&d.m, &o.from)?;
        if o.dry_run {
            out.push(Outcome {
                message_id: d.m.message_id.clone(),
                result: "would_send",
                recipient,
                detail: d.m.subject.clone(),
            });
            sent += 1;
            continue;
        }
        if sent > 0
            && let Some(r) = o.per_minute
        {
            tokio::time::sleep(Duration::from_secs_f64(60.0 / f64::from(r.max(1)))).await;
        }
        record(
            &mut delivered,
            storage,
            output,
            &d,
            "attempt",
            Default::default(),
        )
        .await?;
        crate::faults::point("outbox_before_send");
        let result = match &o.transport {
            Transport::Smtp(t) => {
                let t = t.clone();
                tokio::task::spawn_blocking(move || t.send(&mail))
                    .await
                    .map_err(|e| Error::Internal(format!("SMTP task: {e}")))?
                    .map(|r| r.message().collect::<Vec<_>>().join(" "))
                    .map_err(|e| (e.is_permanent(), e.to_string()))
            }
            Transport::Files(dir) => write_eml(dir, &d.m.message_id, &mail.formatted())
                .map_err(|e| (false, e.to_string())),
        };
        crate::faults::point("outbox_after_send");
        // (ledger event, its detail's key, what the run reports)
        let (event, key, reported, detail) = match result {
            Ok(answer) => ("accepted", "provider_message_id", "sent", answer),
            Err((true, e)) => ("failed", "error", "failed", e),
            Err((false, e)) => ("deferred", "error", "deferred", e),
        };
        let mut extra = serde_json::Map::new();
        extra.insert(key.into(), Value::String(detail.clone()));
        record(&mut delivered, storage, output, &d, event, extra).await?;
        out.push(Outcome {
            message_id: d.m.message_id.clone(),
            result: reported,
            recipient,
            detail,
        });
        match reported {
            "sent" => sent += 1,
            // The server or the network is down: the rest would fail the
            // same way.
            "deferred" => break,
            _ => {}
        }
    }
    Ok(out)
}

/// Writes `<dir>/<message_id>.eml`, create-only: an existing file is the
/// same message written before, never overwritten.
fn write_eml(dir: &std::path::Path, id: &str, bytes: &[u8]) -> std::io::Result<String> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{id}.eml"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(path.display().to_string())
}
