//! ROI for finance: the export of `creator_roi` (the table itself is SQL,
//! `sql/roi/`; see docs/roi.md), and the thresholds of recommendations.

pub mod recommend;

use arrow::array::RecordBatch;
use chrono::NaiveDate;
use url::Url;

use crate::error::{Error, Result};
use crate::storage::Storage;

/// The stable columns of the finance export, in order.
pub const EXPORT_COLUMNS: &[&str] = &[
    "creator_id",
    "display_name",
    "period",
    "period_start",
    "as_of",
    "orders",
    "attributed_orders",
    "incremental_orders",
    "new_customers",
    "attributed_revenue",
    "incremental_revenue",
    "incremental_revenue_low",
    "incremental_revenue_high",
    "combined_revenue",
    "creator_fee",
    "free_product",
    "shipping",
    "production",
    "platform_spend",
    "platform_fee",
    "other_cost",
    "commission",
    "total_cost",
    "cost_of_goods",
    "contribution_margin",
    "cpa",
    "roas",
    "roas_low",
    "roas_high",
    "roi",
];

/// `halo export creator_roi --period P`: one row per creator (all campaigns),
/// from the run that closes the period (its last day) or else the newest run
/// inside it, with the stable [`EXPORT_COLUMNS`]. Display names come from the
/// input's `creators` when it is at hand.
pub async fn export(
    storage: &Storage,
    input: &Url,
    output: &Url,
    table: &str,
    period: &str,
) -> Result<Vec<RecordBatch>> {
    if table != "creator_roi" {
        return Err(Error::Usage(format!(
            "halo export knows creator_roi, not {table}"
        )));
    }
    let (kind, start, end) = if period == "to_date" {
        ("to_date", None, None)
    } else if let Ok(d) = NaiveDate::parse_from_str(period, "%Y-%m-%d") {
        ("day", Some(d), Some(d))
    } else if let Ok(d) = NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d") {
        let next = d.checked_add_months(chrono::Months::new(1)).expect("month");
        ("month", Some(d), next.pred_opt())
    } else {
        return Err(Error::Usage(format!(
            "--period {period}: use YYYY-MM, YYYY-MM-DD or to_date"
        )));
    };
    let start_cond = start
        .map(|s| format!("AND period_start = DATE '{s}'"))
        .unwrap_or_default();
    let end_cond = end
        .map(|e| format!("AND dt <= DATE '{e}'"))
        .unwrap_or_default();
    let build = |names: bool| {
        let cols: Vec<String> = EXPORT_COLUMNS
            .iter()
            .map(|c| match *c {
                "display_name" if names => "cr.display_name".to_string(),
                "display_name" => "CAST(NULL AS VARCHAR) AS display_name".to_string(),
                "as_of" => "r.dt AS as_of".to_string(),
                c => format!("r.{c}"),
            })
            .collect();
        let join = if names {
            "LEFT JOIN raw.creators cr ON cr.creator_id = r.creator_id"
        } else {
            ""
        };
        format!(
            "WITH pick AS (SELECT max(dt) AS dt FROM creator_roi WHERE period = '{kind}' {start_cond} {end_cond}) \
             SELECT {} FROM creator_roi r JOIN pick ON r.dt = pick.dt {join} \
             WHERE r.period = '{kind}' AND r.campaign_id IS NULL {start_cond} ORDER BY r.creator_id",
            cols.join(", ")
        )
    };
    // Display names come from the input's creators when the input is at
    // hand; the export works from the results alone otherwise. Any other
    // failure surfaces.
    let names = match crate::catalog::load::discover(storage, input).await {
        Ok(found) => found
            .iter()
            .any(|d| d.spec.name == "creators" && !d.files.is_empty()),
        Err(Error::MissingInput(m)) => {
            tracing::warn!("creators not read, so display_name is empty: {m}");
            false
        }
        Err(e) => return Err(e),
    };
    let batches = crate::query::query(storage, input, output, &build(names)).await?;
    if batches.iter().all(|b| b.num_rows() == 0) {
        return Err(Error::MissingInput(format!(
            "creator_roi has no {kind} rows for {period}: run the nightly job for a date in it"
        )));
    }
    Ok(batches)
}
