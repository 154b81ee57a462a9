//! Result tables: where they live and how they are committed (`store`), what
//! each one holds (`contract`), and how their column types are spelled
//! (`types`).

pub mod contract;
pub mod store;
pub mod types;

pub use store::{AS_OF_COL, PARTITION_COL, Pending, ResultStore, register_delta_handlers};
