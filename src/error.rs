//! The library's one error type, and how each kind maps to the exit code an
//! orchestrator sees.
//!
//! The split that matters is *bad input* (the data or config is wrong; retrying
//! will not help) against *transient* (storage throttled or unreachable; retry)
//! against *our bug*. `main` maps [`Error::exit_code`] onto the process status.

use std::fmt;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a halo command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line was wrong (exit 2).
    #[error("usage: {0}")]
    Usage(String),
    /// A file, schema or data check is wrong (exit 65): the message names the
    /// file or table, the column and what was expected.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A required table or input root does not exist (exit 66).
    #[error("missing input: {0}")]
    MissingInput(String),
    /// A job spec, SQL file or parameter is wrong (exit 78).
    #[error("bad configuration: {0}")]
    Config(String),
    /// Storage or network failed in a way a retry may fix (exit 75).
    #[error("transient failure, safe to retry: {0}")]
    Transient(String),
    /// A DataFusion error that is not one of the above.
    #[error("query engine: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// An Arrow error.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A Parquet error.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// An object store error.
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// A Delta Lake error.
    #[error("delta: {0}")]
    Delta(#[from] deltalake::DeltaTableError),
    /// A Polars error.
    #[error("polars: {0}")]
    Polars(#[from] polars::error::PolarsError),
    /// A local I/O error.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A request the approval rules forbid (exit 77): deciding a payout twice,
    /// exporting what nobody approved.
    #[error("refused: {0}")]
    Refused(String),
    /// Anything else that indicates a bug in halo (exit 1).
    #[error("internal error: {0}")]
    Internal(String),
}

/// The exit codes halo documents (README, `halo --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// 0: committed, or already committed.
    Success = 0,
    /// 1: internal error.
    Internal = 1,
    /// 2: command-line usage.
    Usage = 2,
    /// 65: input data invalid; do not retry.
    DataInvalid = 65,
    /// 66: input missing.
    NoInput = 66,
    /// 75: transient; safe to retry.
    TempFail = 75,
    /// 77: refused by the approval rules; a person must act first.
    Refused = 77,
    /// 78: bad configuration.
    Config = 78,
}

impl fmt::Display for ExitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", *self as i32)
    }
}

impl Error {
    /// Classifies the error for the orchestrator.
    pub fn exit_kind(&self) -> ExitKind {
        match self {
            Error::Usage(_) => ExitKind::Usage,
            Error::InvalidInput(_) | Error::Parquet(_) => ExitKind::DataInvalid,
            Error::MissingInput(_) => ExitKind::NoInput,
            Error::Config(_) => ExitKind::Config,
            Error::Refused(_) => ExitKind::Refused,
            Error::Transient(_) => ExitKind::TempFail,
            Error::ObjectStore(e) => object_store_kind(e),
            Error::DataFusion(e) => datafusion_kind(e),
            Error::Delta(deltalake::DeltaTableError::ObjectStore { source }) => {
                object_store_kind(source)
            }
            Error::Io(e) if is_transient_io(e) => ExitKind::TempFail,
            _ => ExitKind::Internal,
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        self.exit_kind() as i32
    }

    /// Adds context in front of the message while keeping the kind.
    pub fn context(self, what: impl fmt::Display) -> Error {
        match self {
            Error::Usage(m) => Error::Usage(format!("{what}: {m}")),
            Error::InvalidInput(m) => Error::InvalidInput(format!("{what}: {m}")),
            Error::MissingInput(m) => Error::MissingInput(format!("{what}: {m}")),
            Error::Config(m) => Error::Config(format!("{what}: {m}")),
            Error::Transient(m) => Error::Transient(format!("{what}: {m}")),
            Error::Refused(m) => Error::Refused(format!("{what}: {m}")),
            other => match other.exit_kind() {
                ExitKind::TempFail => Error::Transient(format!("{what}: {other}")),
                ExitKind::DataInvalid => Error::InvalidInput(format!("{what}: {other}")),
                ExitKind::NoInput => Error::MissingInput(format!("{what}: {other}")),
                ExitKind::Config => Error::Config(format!("{what}: {other}")),
                _ => Error::Internal(format!("{what}: {other}")),
            },
        }
    }
}

fn object_store_kind(e: &object_store::Error) -> ExitKind {
    match e {
        object_store::Error::NotFound { .. } => ExitKind::NoInput,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. }
        | object_store::Error::UnknownConfigurationKey { .. }
        | object_store::Error::NotSupported { .. } => ExitKind::Config,
        object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. } => {
            ExitKind::TempFail
        }
        // `Generic` carries network and server errors from the cloud stores.
        _ => ExitKind::TempFail,
    }
}

fn datafusion_kind(e: &datafusion::error::DataFusionError) -> ExitKind {
    use datafusion::error::DataFusionError as D;
    match e {
        D::ObjectStore(inner) => object_store_kind(inner),
        D::ParquetError(_) => ExitKind::DataInvalid,
        D::IoError(io) if is_transient_io(io) => ExitKind::TempFail,
        // The memory limit is configuration (--memory-limit).
        D::ResourcesExhausted(_) => ExitKind::Config,
        D::Context(_, inner) => datafusion_kind(inner),
        D::Shared(inner) => datafusion_kind(inner),
        D::External(inner) => match inner.downcast_ref::<Error>() {
            Some(halo) => halo.exit_kind(),
            None => match inner.downcast_ref::<object_store::Error>() {
                Some(os) => object_store_kind(os),
                None => ExitKind::Internal,
            },
        },
        _ => ExitKind::Internal,
    }
}

fn is_transient_io(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::TimedOut | K::Interrupted | K::ConnectionReset | K::ConnectionAborted | K::WouldBlock
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_documented_codes() {
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(Error::InvalidInput("x".into()).exit_code(), 65);
        assert_eq!(Error::MissingInput("x".into()).exit_code(), 66);
        assert_eq!(Error::Transient("x".into()).exit_code(), 75);
        assert_eq!(Error::Config("x".into()).exit_code(), 78);
        assert_eq!(Error::Refused("x".into()).exit_code(), 77);
        assert_eq!(Error::Internal("x".into()).exit_code(), 1);
        let wrapped =
            datafusion::error::DataFusionError::External(Box::new(Error::InvalidInput("x".into())));
        assert_eq!(Error::from(wrapped).exit_code(), 65);
    }

    #[test]
    fn storage_failures_are_classified_for_retries() {
        let network = object_store::Error::Generic {
            store: "S3",
            source: "connection reset".into(),
        };
        assert_eq!(
            Error::from(network).exit_code(),
            75,
            "a network failure is worth a retry"
        );
        let missing = object_store::Error::NotFound {
            path: "raw/orders".into(),
            source: "404".into(),
        };
        assert_eq!(Error::from(missing).exit_code(), 66);
        let denied = object_store::Error::PermissionDenied {
            path: "raw".into(),
            source: "403".into(),
        };
        assert_eq!(
            Error::from(denied).exit_code(),
            78,
            "credentials are configuration"
        );
        let wrapped = datafusion::error::DataFusionError::ObjectStore(Box::new(
            object_store::Error::Generic {
                store: "GCS",
                source: "timeout".into(),
            },
        ));
        assert_eq!(Error::from(wrapped).exit_code(), 75);
    }

    #[test]
    fn context_keeps_the_kind() {
        let e = Error::MissingInput("orders".into()).context("table orders");
        assert_eq!(e.exit_code(), 66);
        assert!(e.to_string().contains("table orders: orders"));
    }
}
