//! `<table>_history`: a result table's committed partitions before the ones
//! this run replaces, plus what the run just staged. Later steps read it for
//! figures over past dates (payouts over months of orders, ROI to date)
//! without recomputing them. Partitions of later dates are left out, so a
//! backfill sees the state as of its date.

use chrono::NaiveDate;
use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};
use crate::sqltext::quote_ident;
use crate::tables::{PARTITION_COL, ResultStore};

/// Registers `<name>_history` for the output `name` a step just staged for
/// `date` (`rolling`: its rolling range, whose partitions the run replaces).
pub async fn register(
    ctx: &SessionContext,
    results: &ResultStore,
    name: &str,
    date: NaiveDate,
    rolling: Option<u32>,
) -> Result<()> {
    let first = date - chrono::Duration::days(i64::from(rolling.unwrap_or(0)));
    let staged = ctx.table(quote_ident(name)).await?;
    let cols: Vec<String> = staged
        .schema()
        .fields()
        .iter()
        .map(|f| quote_ident(f.name()))
        .collect();
    let cols = cols.join(", ");
    let sql = match register_committed(ctx, results, name).await? {
        Some(hidden) => format!(
            "SELECT {cols} FROM {hidden} WHERE {PARTITION_COL} < DATE '{first}' UNION ALL SELECT {cols} FROM {}",
            quote_ident(name)
        ),
        None => format!("SELECT {cols} FROM {}", quote_ident(name)),
    };
    let view = format!("{name}_history");
    ctx.deregister_table(view.as_str())?;
    let df = ctx
        .sql(&sql)
        .await
        .map_err(|e| Error::Config(format!("history of result table {name}: {e}")))?;
    ctx.register_table(quote_ident(&view), df.into_view())?;
    Ok(())
}

/// Registers the committed Delta table `name` (its newest version) as
/// `_committed_<name>` and returns that name quoted, or None when the table
/// does not exist yet.
pub async fn register_committed(
    ctx: &SessionContext,
    results: &ResultStore,
    name: &str,
) -> Result<Option<String>> {
    let hidden = format!("_committed_{name}");
    ctx.deregister_table(hidden.as_str())?;
    let Some(table) = results.open(name).await? else {
        return Ok(None);
    };
    table.update_datafusion_session(&ctx.state())?;
    ctx.register_table(hidden.as_str(), table.table_provider().await?)?;
    Ok(Some(quote_ident(&hidden)))
}
