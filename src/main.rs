//! The `halo` command line. Every outcome maps to a documented exit code:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (or already committed) |
//! | 1 | internal error |
//! | 2 | usage |
//! | 65 | invalid input data |
//! | 66 | missing input |
//! | 75 | transient failure; safe to retry |
//! | 77 | refused: a person must approve first (or already decided) |
//! | 78 | bad configuration |

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use halo::runner::{self, Dates, RunOptions, job::Job};
use halo::session::SessionOptions;
use halo::storage::{Storage, parse_root};
use halo::{Error, ExitKind};

const EXIT_CODES: &str = "Exit codes: 0 success (or already committed), 1 internal error, 2 usage, \
65 invalid input data, 66 missing input, 75 transient (retry), 77 refused (approval needed or already decided), \
78 bad configuration.";

#[derive(Parser)]
#[command(name = "halo", version, about = "Batch analytics for creator affiliate programs", after_help = EXIT_CODES)]
struct Cli {
    /// Log format on stderr: text (default on a terminal) or json.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    /// Log level (error, warn, info, debug, trace); RUST_LOG overrides.
    #[arg(long, global = true, default_value = "info")]
    log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Clone)]
struct Roots {
    /// Input root: a path, file://, s3://, gs://, az://, abfss:// URL.
    #[arg(long, global = true, env = "HALO_INPUT", default_value = "sample-data")]
    input: String,
    /// Output root for result tables.
    #[arg(long, global = true, env = "HALO_OUTPUT", default_value = "results")]
    output: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run a job for a date or a range of dates (default: the last complete day).
    #[command(after_help = EXIT_CODES)]
    Run {
        /// The job spec (default: the nightly job bundled in halo).
        job: Option<PathBuf>,
        /// The date to run (YYYY-MM-DD).
        #[arg(long, conflicts_with_all = ["from", "to"])]
        date: Option<NaiveDate>,
        /// First date of a backfill.
        #[arg(long, requires = "to")]
        from: Option<NaiveDate>,
        /// Last date of a backfill (inclusive).
        #[arg(long, requires = "from")]
        to: Option<NaiveDate>,
        /// Plan every step and list inputs and outputs without writing.
        #[arg(long)]
        dry_run: bool,
        /// Threads for query execution (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Memory operators may hold before they spill to disk, e.g. 4G or 512M.
        #[arg(long, env = "HALO_MEMORY_LIMIT", default_value = "4G", value_parser = parse_bytes)]
        memory_limit: usize,
        #[command(flatten)]
        lease: LeaseArgs,
        #[command(flatten)]
        roots: Roots,
    },
    /// Check every input table against the data contract.
    #[command(after_help = EXIT_CODES)]
    Validate {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        roots: Roots,
    },
    /// Generate a realistic data set with planted ground truth.
    Generate {
        /// Where to write it.
        #[arg(long)]
        out: String,
        /// tiny, small, medium, large, events, overlap or program.
        #[arg(long, default_value = "small")]
        scale: String,
        /// RNG seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Days of data (default: the scale's).
        #[arg(long)]
        days: Option<u32>,
        /// First day after the data (default 2026-11-01).
        #[arg(long)]
        end: Option<NaiveDate>,
    },
    /// Payouts: list, show, approve, reject, verify the ledger, export, simulate.
    #[command(after_help = EXIT_CODES)]
    Payouts {
        #[command(subcommand)]
        action: PayoutsCmd,
        #[command(flatten)]
        lease: LeaseArgs,
        #[command(flatten)]
        roots: Roots,
    },
    /// Codes: list the leak evidence, show a code, confirm a leak or dismiss it.
    #[command(after_help = EXIT_CODES)]
    Codes {
        #[command(subcommand)]
        action: CodesCmd,
        #[command(flatten)]
        lease: LeaseArgs,
        #[command(flatten)]
        roots: Roots,
    },
    /// Compliance review: list the open flags, show one, resolve it.
    #[command(after_help = EXIT_CODES)]
    Review {
        #[command(subcommand)]
        action: ReviewCmd,
        #[command(flatten)]
        lease: LeaseArgs,
        #[command(flatten)]
        roots: Roots,
    },
    /// Messages to creators: list the outbox, show one, approve or reject it, send what is approved.
    #[command(after_help = EXIT_CODES)]
    Outbox {
        #[command(subcommand)]
        action: OutboxCmd,
        #[command(flatten)]
        lease: LeaseArgs,
        #[command(flatten)]
        roots: Roots,
    },
    /// Export a result table for finance (creator_roi: one row per creator).
    #[command(after_help = EXIT_CODES)]
    Export {
        /// The table: creator_roi.
        table: String,
        /// The period: YYYY-MM (month), YYYY-MM-DD (day) or "to_date".
        #[arg(long)]
        period: String,
        /// csv or parquet.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write here instead of stdout (needed for parquet).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        roots: Roots,
    },
    /// Run a read-only SQL query over result tables and raw.<table>.
    #[command(after_help = EXIT_CODES)]
    Sql {
        /// The query.
        query: String,
        /// table, csv, json or parquet.
        #[arg(long, default_value = "table")]
        format: String,
        /// Write the result here instead of stdout.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        roots: Roots,
    },
}

/// How long a writer waits before it takes over a silent lease.
#[derive(Args, Clone, Copy)]
struct LeaseArgs {
    /// A lease on the output root whose heartbeat is older than this is taken
    /// over (e.g. 10m, 90s).
    #[arg(long, global = true, env = "HALO_LEASE_TIMEOUT", default_value = "10m", value_parser = halo::lease::parse_duration)]
    lease_timeout: std::time::Duration,
}

/// Who decides what on which payout.
#[derive(Args)]
struct DecisionArgs {
    payout_id: String,
    /// Who decides.
    #[arg(long)]
    by: String,
    /// Why (required to reject).
    #[arg(long)]
    note: Option<String>,
}

#[derive(Subcommand)]
enum CodesCmd {
    /// The newest code_leaks rows, most suspicious first (decisions applied).
    List {
        /// Only codes with this status (ok, suspected, likely_leaked).
        #[arg(long)]
        status: Option<String>,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// One code: its evidence and its daily usage.
    Show {
        code: String,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Confirm that a code leaked (recorded in the ledger; final). Plans with
    /// leaked_redemptions = exclude stop paying its redemptions from --from.
    ConfirmLeak {
        code: String,
        /// Who decides.
        #[arg(long)]
        by: String,
        /// First day whose redemptions count as leaked (default: when the
        /// evidence says the change began).
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Why.
        #[arg(long)]
        note: Option<String>,
    },
    /// Dismiss the evidence against a code (recorded in the ledger; final; needs --note).
    Dismiss {
        code: String,
        /// Who decides.
        #[arg(long)]
        by: String,
        /// Why the evidence does not show a leak.
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Subcommand)]
enum OutboxCmd {
    /// The newest outbox, with what was decided and sent since applied.
    List {
        /// Only this status (needs_approval, approved, rejected, sent, failed, suppressed).
        #[arg(long)]
        status: Option<String>,
        /// Only this kind (reminder, overdue, checkin, compliance).
        #[arg(long)]
        kind: Option<String>,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// One message: every column, both bodies, its facts.
    Show {
        id: String,
        /// table, csv or json.
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Approve a message (recorded in the ledger; its content is frozen).
    Approve {
        id: String,
        /// Who approves it.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        note: Option<String>,
    },
    /// Reject a message (recorded in the ledger; it is never sent).
    Reject {
        id: String,
        /// Who rejects it.
        #[arg(long)]
        by: String,
        /// Why (required).
        #[arg(long)]
        note: Option<String>,
    },
    /// Deliver what is approved and not yet sent: over SMTP (HALO_SMTP_URL,
    /// HALO_MAIL_FROM, HALO_SMTP_CA_FILE) or as .eml files (file:///folder).
    /// Exit 75: the server is unreachable or deferred (retry later); 65: a
    /// message was refused for good.
    Send {
        /// Print what would be sent; send and record nothing.
        #[arg(long)]
        dry_run: bool,
        /// At most this many messages this run.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// At most this many messages a minute.
        #[arg(long)]
        per_minute: Option<u32>,
    },
}

#[derive(Subcommand)]
enum ReviewCmd {
    /// The newest compliance flags (not passes), most severe first, verdicts applied.
    List {
        /// open (default), resolved or all.
        #[arg(long, default_value = "open")]
        status: String,
        /// Only this rule (disclosure, link_owner, link_campaign, untracked_link, code_owner, code_validity).
        #[arg(long)]
        rule: Option<String>,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// One flag: its evidence, the post's compliance row, the verdict if any.
    Show {
        id: String,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Resolve a flag (recorded in the ledger; final).
    Resolve {
        id: String,
        /// Who reviewed it.
        #[arg(long)]
        by: String,
        /// ok (no breach) or violation.
        #[arg(long)]
        verdict: String,
        /// Why.
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Subcommand)]
enum PayoutsCmd {
    /// List the newest payouts (decisions from the ledger applied).
    List {
        /// Only payouts with this status (pending_approval, approved, rejected).
        #[arg(long)]
        status: Option<String>,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// One payout and its lines.
    Show {
        payout_id: String,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Approve a pending payout (recorded in the ledger; final).
    Approve(DecisionArgs),
    /// Reject a pending payout (recorded in the ledger; final; needs --note).
    Reject(DecisionArgs),
    /// Check the ledger's hash chain (exit 65 when it was edited).
    Verify,
    /// Export approved payouts for payment; refuses anything not approved.
    Export {
        /// Required: only approved payouts are ever exported.
        #[arg(long)]
        approved: bool,
        /// Only this period (YYYY-MM).
        #[arg(long)]
        period: Option<String>,
        /// Only this payout.
        #[arg(long)]
        payout: Option<String>,
        /// csv or parquet.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write here instead of stdout (needed for parquet).
        #[arg(long)]
        to: Option<String>,
    },
    /// What proposed plans would have paid on past orders, beside the current plans.
    Simulate {
        /// Parquet file of proposed plans (commission_plans contract).
        #[arg(long)]
        plans: PathBuf,
        /// First order date.
        #[arg(long)]
        from: NaiveDate,
        /// Last order date (inclusive).
        #[arg(long)]
        to: NaiveDate,
        /// The job whose SQL and parameters to use (default: the bundled nightly job).
        #[arg(long)]
        job: Option<PathBuf>,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
}

/// Writes batches to stdout in `format` (table, csv or json).
fn print(batches: &[arrow::array::RecordBatch], format: &str) -> anyhow::Result<()> {
    let format: halo::query::Format = format.parse()?;
    std::io::stdout().write_all(&halo::query::encode(batches, format)?)?;
    Ok(())
}

async fn payouts(
    action: PayoutsCmd,
    roots: Roots,
    lease: LeaseArgs,
    storage: Storage,
) -> anyhow::Result<u8> {
    use halo::payouts::{approval::Decision, decide};
    let output = parse_root(&roots.output)?;
    match action {
        PayoutsCmd::List { status, format } => {
            let ledger = decide::verified_ledger(&storage, &output).await?;
            let book = decide::load_book(&storage, &output, &ledger).await?;
            if book.payouts.is_empty() {
                eprintln!(
                    "halo: no payouts as of {}: a month's payout appears once the month has ended \
                     (payout_lines has the locked and eligible commissions)",
                    book.as_of
                );
            }
            print(&[decide::payouts_table(&book, status.as_deref())?], &format)?;
        }
        PayoutsCmd::Show { payout_id, format } => {
            let ledger = decide::verified_ledger(&storage, &output).await?;
            let book = decide::load_book(&storage, &output, &ledger).await?;
            let (p, l) = decide::show(&book, &payout_id)?;
            print(&[p], &format)?;
            print(&[l], &format)?;
        }
        PayoutsCmd::Approve(a) => {
            decide_cmd(&storage, &output, Decision::Approve, a, lease).await?
        }
        PayoutsCmd::Reject(a) => decide_cmd(&storage, &output, Decision::Reject, a, lease).await?,
        PayoutsCmd::Verify => {
            let ledger = decide::verified_ledger(&storage, &output).await?;
            let head = ledger.head();
            println!(
                "{}",
                serde_json::json!({"ledger": "ok", "entries": ledger.entries.len(), "head": head.hash, "head_seq": head.seq})
            );
        }
        PayoutsCmd::Export {
            approved,
            period,
            payout,
            format,
            to,
        } => {
            if !approved {
                return Err(Error::Refused("payouts are exported for payment only with --approved: nothing unapproved ever leaves halo".into()).into());
            }
            let format = export_format(&format, to.as_deref())?;
            let batch =
                decide::export_approved(&storage, &output, period.as_deref(), payout.as_deref())
                    .await?;
            let bytes = halo::query::encode(&[batch], format)?;
            emit(&storage, to.as_deref(), bytes).await?;
        }
        PayoutsCmd::Simulate {
            plans,
            from,
            to,
            job,
            format,
        } => {
            let opts = halo::runner::simulate::SimulateOptions {
                job: load_job(job.as_deref())?,
                input: parse_root(&roots.input)?,
                output,
                storage,
                plans,
                from,
                to,
                now: now()?,
            };
            let batch = halo::runner::simulate::simulate(&opts).await?;
            print(&[batch], &format)?;
        }
    }
    Ok(0)
}

async fn codes(
    action: CodesCmd,
    roots: Roots,
    lease: LeaseArgs,
    storage: Storage,
) -> anyhow::Result<u8> {
    use halo::health::decisions;
    let output = parse_root(&roots.output)?;
    let decide = |code: String,
                  decision: &'static str,
                  by: String,
                  note: Option<String>,
                  from: Option<NaiveDate>| {
        let storage = storage.clone();
        let output = output.clone();
        async move {
            let e = decisions::decide(
                &storage,
                &output,
                decisions::Request {
                    code: &code,
                    decision,
                    by: &by,
                    note,
                    from,
                    now: now()?,
                    lease_timeout: lease.lease_timeout,
                },
            )
            .await?;
            println!(
                "{}",
                serde_json::json!({"code": e.subject_id, "decision": e.decision, "leaked_from": e.content.get("leaked_from"), "by": e.by, "ledger_seq": e.seq, "hash": e.hash})
            );
            anyhow::Ok(())
        }
    };
    match action {
        CodesCmd::List { status, format } => {
            print(
                &decisions::list(&storage, &output, None, status.as_deref()).await?,
                &format,
            )?;
        }
        CodesCmd::Show { code, format } => {
            print(
                &decisions::list(&storage, &output, Some(&code), None).await?,
                &format,
            )?;
            print(
                &decisions::history(&storage, &output, &code).await?,
                &format,
            )?;
        }
        CodesCmd::ConfirmLeak {
            code,
            by,
            from,
            note,
        } => decide(code, "confirm_leak", by, note, from).await?,
        CodesCmd::Dismiss { code, by, note } => decide(code, "dismiss", by, note, None).await?,
    }
    Ok(0)
}

/// `halo outbox approve|reject`: one decision, printed as its ledger entry.
async fn outbox_decide(
    storage: &Storage,
    output: &url::Url,
    decision: &'static str,
    id: &str,
    by: &str,
    note: Option<String>,
    lease: &LeaseArgs,
) -> anyhow::Result<()> {
    use halo::outbox::decisions;
    let e = decisions::decide(
        storage,
        output,
        decisions::Request {
            message_id: id,
            decision,
            by,
            note,
            now: now()?,
            lease_timeout: lease.lease_timeout,
        },
    )
    .await?;
    println!(
        "{}",
        serde_json::json!({"message_id": e.subject_id, "decision": e.decision, "by": e.by, "ledger_seq": e.seq, "hash": e.hash})
    );
    Ok(())
}

async fn outbox(
    action: OutboxCmd,
    roots: Roots,
    lease: LeaseArgs,
    storage: Storage,
) -> anyhow::Result<u8> {
    use halo::outbox::{decisions, delivery};
    let output = parse_root(&roots.output)?;
    match action {
        OutboxCmd::List {
            status,
            kind,
            format,
        } => print(
            &decisions::list(
                &storage,
                &output,
                status.as_deref(),
                kind.as_deref(),
                None,
                false,
            )
            .await?,
            &format,
        )?,
        OutboxCmd::Show { id, format } => print(
            &decisions::list(&storage, &output, None, None, Some(&id), true).await?,
            &format,
        )?,
        OutboxCmd::Approve { id, by, note } => {
            outbox_decide(&storage, &output, "approve", &id, &by, note, &lease).await?
        }
        OutboxCmd::Reject { id, by, note } => {
            outbox_decide(&storage, &output, "reject", &id, &by, note, &lease).await?
        }
        OutboxCmd::Send {
            dry_run,
            limit,
            per_minute,
        } => {
            let (transport, from) = delivery::from_env()?;
            let outcomes = delivery::send(
                &storage,
                &output,
                &delivery::Options {
                    transport,
                    from,
                    dry_run,
                    limit,
                    per_minute,
                    now: now()?,
                    lease_timeout: lease.lease_timeout,
                },
            )
            .await?;
            for o in &outcomes {
                println!("{}", serde_json::to_string(o)?);
            }
            if outcomes.iter().any(|o| o.result == "deferred") {
                return Ok(ExitKind::TempFail as u8);
            }
            if outcomes.iter().any(|o| o.result == "failed") {
                return Ok(ExitKind::DataInvalid as u8);
            }
        }
    }
    Ok(0)
}

async fn review(
    action: ReviewCmd,
    roots: Roots,
    lease: LeaseArgs,
    storage: Storage,
) -> anyhow::Result<u8> {
    use halo::compliance::review;
    let output = parse_root(&roots.output)?;
    match action {
        ReviewCmd::List {
            status,
            rule,
            format,
        } => {
            let status = match status.as_str() {
                "open" => review::Status::Open,
                "resolved" => review::Status::Resolved,
                "all" => review::Status::All,
                other => {
                    return Err(halo::error::Error::Usage(format!(
                        "--status {other:?}: expected open, resolved or all"
                    ))
                    .into());
                }
            };
            print(
                &review::list(&storage, &output, status, rule.as_deref(), None).await?,
                &format,
            )?;
        }
        ReviewCmd::Show { id, format } => {
            print(
                &review::list(&storage, &output, review::Status::All, None, Some(&id)).await?,
                &format,
            )?;
            print(&review::post_of(&storage, &output, &id).await?, &format)?;
        }
        ReviewCmd::Resolve {
            id,
            by,
            verdict,
            note,
        } => {
            let verdict = match verdict.as_str() {
                "ok" => "ok",
                "violation" => "violation",
                other => {
                    return Err(halo::error::Error::Usage(format!(
                        "--verdict {other:?}: expected ok or violation"
                    ))
                    .into());
                }
            };
            let e = review::resolve(
                &storage,
                &output,
                review::Request {
                    flag_id: &id,
                    verdict,
                    by: &by,
                    note,
                    now: now()?,
                    lease_timeout: lease.lease_timeout,
                },
            )
            .await?;
            println!(
                "{}",
                serde_json::json!({"flag_id": e.subject_id, "verdict": e.decision, "by": e.by, "ledger_seq": e.seq, "hash": e.hash})
            );
        }
    }
    Ok(0)
}

/// Records a decision in the ledger and prints it as one JSON line.
async fn decide_cmd(
    storage: &Storage,
    output: &url::Url,
    decision: halo::payouts::approval::Decision,
    a: DecisionArgs,
    lease: LeaseArgs,
) -> anyhow::Result<()> {
    let e = halo::payouts::decide::decide(
        storage,
        output,
        halo::payouts::decide::Request {
            payout_id: &a.payout_id,
            decision,
            by: &a.by,
            note: a.note,
            now: now()?,
            lease_timeout: lease.lease_timeout,
        },
    )
    .await?;
    println!(
        "{}",
        serde_json::json!({"payout_id": e.subject_id, "status": decision.status(), "by": e.by, "ledger_seq": e.seq, "hash": e.hash})
    );
    Ok(())
}

/// The job file given, or the nightly job bundled in halo.
fn load_job(path: Option<&std::path::Path>) -> halo::Result<Job> {
    match path {
        Some(p) => Job::load(p),
        None => Job::bundled(halo::bundled::NIGHTLY),
    }
}

/// Writes a command's result to `to` (a path or URL), or to stdout.
async fn emit(storage: &Storage, to: Option<&str>, bytes: Vec<u8>) -> anyhow::Result<()> {
    match to {
        Some(to) => halo::query::write_to(storage, to, bytes).await?,
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}

/// The format of a finance export: CSV, or Parquet written to a file.
fn export_format(format: &str, to: Option<&str>) -> anyhow::Result<halo::query::Format> {
    let format: halo::query::Format = format.parse()?;
    match format {
        halo::query::Format::Csv => Ok(format),
        halo::query::Format::Parquet if to.is_some() => Ok(format),
        halo::query::Format::Parquet => {
            Err(Error::Usage("--format parquet needs --to FILE".into()).into())
        }
        _ => Err(Error::Usage("--format must be csv or parquet".into()).into()),
    }
}

/// Parses a byte size: a number with an optional K, M or G suffix (powers of 1024).
fn parse_bytes(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (digits, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1usize << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: usize = digits
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a size like 4G or 512M"))?;
    n.checked_mul(mult)
        .filter(|b| *b >= 1 << 20)
        .ok_or_else(|| format!("'{s}' must be at least 1M"))
}

fn init_logs(format: Option<LogFormat>, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "{level},deltalake=warn,deltalake_core=warn,datafusion=warn,buoyant_kernel=off"
        ))
    });
    let json = match format {
        Some(LogFormat::Json) => true,
        Some(LogFormat::Text) => false,
        None => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        builder.with_target(false).init();
    }
}

/// The run's wall-clock time; `HALO_NOW` (RFC 3339) pins it for tests and replays.
fn now() -> anyhow::Result<DateTime<Utc>> {
    match std::env::var("HALO_NOW") {
        Ok(v) => Ok(DateTime::parse_from_rfc3339(&v)
            .with_context(|| format!("HALO_NOW='{v}' is not an RFC 3339 time"))?
            .with_timezone(&Utc)),
        Err(_) => Ok(Utc::now()),
    }
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("halo: internal error (a bug; please report it): {info}");
        std::process::exit(ExitKind::Internal as i32);
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                ExitKind::Usage as u8
            } else {
                0
            });
        }
    };
    init_logs(cli.log_format, &cli.log_level);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("halo: cannot start the runtime: {e}");
            return ExitCode::from(ExitKind::Internal as u8);
        }
    };
    match rt.block_on(dispatch(cli.command)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = match e.downcast_ref::<Error>() {
                Some(h) => h.exit_code(),
                None => ExitKind::Internal as i32,
            };
            tracing::error!(exit_code = code, "{e:#}");
            eprintln!("halo: {e:#}");
            ExitCode::from(code as u8)
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<u8> {
    let storage = Storage::new();
    match command {
        Command::Run {
            job,
            date,
            from,
            to,
            dry_run,
            threads,
            memory_limit,
            lease,
            roots,
        } => {
            let job = load_job(job.as_deref())?;
            let job_name = job.name.clone();
            let dates = match (date, from, to) {
                (Some(d), _, _) => Dates::One(d),
                (None, Some(a), Some(b)) => Dates::Range(a, b),
                _ => Dates::LastComplete,
            };
            let opts = RunOptions {
                job,
                input: parse_root(&roots.input)?,
                output: parse_root(&roots.output)?,
                dates,
                dry_run,
                now: now()?,
                storage,
                session: SessionOptions {
                    target_partitions: threads,
                    memory_limit,
                },
                lease_timeout: lease.lease_timeout,
            };
            match runner::run(opts).await {
                Ok(summary) => {
                    println!("{}", serde_json::to_string(&summary)?);
                    Ok(summary.exit_code as u8)
                }
                Err(e) => {
                    // The orchestrator still gets its one-line summary.
                    let line = serde_json::json!({
                        "job": job_name, "status": "failed", "exit_code": e.exit_code(), "error": e.to_string(),
                    });
                    println!("{line}");
                    Err(e.into())
                }
            }
        }
        Command::Validate { json, roots } => {
            let input = parse_root(&roots.input)?;
            let loaded = runner::setup::validate(&storage, &input, now()?).await?;
            if json {
                println!("{}", serde_json::to_string(&loaded.tables)?);
            } else {
                print_report(&loaded)?;
            }
            Ok(if loaded.rejected() > 0 {
                ExitKind::DataInvalid as u8
            } else {
                0
            })
        }
        Command::Generate {
            out,
            scale,
            seed,
            days,
            end,
        } => {
            let mut scale = halo::generate::scale(&scale)?;
            if let Some(d) = days {
                if d == 0 {
                    return Err(Error::Usage("--days must be at least 1".into()).into());
                }
                scale.days = d;
            }
            let opts = halo::generate::GenerateOptions {
                out: parse_root(&out)?,
                scale,
                seed,
                end: end.unwrap_or_else(halo::generate::default_end),
            };
            let summary = halo::generate::generate(&storage, &opts).await?;
            println!("{}", serde_json::to_string(&summary)?);
            Ok(0)
        }
        Command::Payouts {
            action,
            lease,
            roots,
        } => payouts(action, roots, lease, storage).await,
        Command::Codes {
            action,
            lease,
            roots,
        } => codes(action, roots, lease, storage).await,
        Command::Review {
            action,
            lease,
            roots,
        } => review(action, roots, lease, storage).await,
        Command::Outbox {
            action,
            lease,
            roots,
        } => outbox(action, roots, lease, storage).await,
        Command::Export {
            table,
            period,
            format,
            to,
            roots,
        } => {
            let format = export_format(&format, to.as_deref())?;
            let input = parse_root(&roots.input)?;
            let output = parse_root(&roots.output)?;
            let batches = halo::roi::export(&storage, &input, &output, &table, &period).await?;
            let bytes = halo::query::encode(&batches, format)?;
            emit(&storage, to.as_deref(), bytes).await?;
            Ok(0)
        }
        Command::Sql {
            query,
            format,
            to,
            roots,
        } => {
            let format: halo::query::Format = format.parse()?;
            if format == halo::query::Format::Parquet && to.is_none() {
                return Err(Error::Usage("--format parquet needs --to FILE".into()).into());
            }
            let input = parse_root(&roots.input)?;
            let output = parse_root(&roots.output)?;
            let batches = halo::query::query(&storage, &input, &output, &query).await?;
            let bytes = halo::query::encode(&batches, format)?;
            emit(&storage, to.as_deref(), bytes).await?;
            Ok(0)
        }
    }
}

fn print_report(loaded: &halo::catalog::LoadedInput) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<18} {:>6} {:>12} {:>10}  status",
        "table", "files", "rows", "rejected"
    )?;
    for t in &loaded.tables {
        let rejected: u64 = t.counts.rejected.values().sum();
        let status = if !t.present {
            if t.required {
                "MISSING (required)"
            } else {
                "absent (optional; analyses that need it are skipped)"
            }
        } else if rejected > 0 {
            "rows rejected"
        } else {
            "ok"
        };
        writeln!(
            out,
            "{:<18} {:>6} {:>12} {:>10}  {status}",
            t.table, t.files, t.counts.rows, rejected
        )?;
        for (reason, n) in &t.counts.rejected {
            writeln!(out, "{:<18} {:>6} {:>12} {:>10}  {reason}", "", "", "", n)?;
        }
        if !t.absent_columns.is_empty() {
            writeln!(
                out,
                "{:<18} {:>6} {:>12} {:>10}  optional columns absent from every file: {}",
                "",
                "",
                "",
                "",
                t.absent_columns.join(", ")
            )?;
        }
    }
    Ok(())
}
