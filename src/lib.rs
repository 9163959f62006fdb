pub mod incident;
pub mod runbook;
