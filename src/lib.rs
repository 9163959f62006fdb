pub mod incident;
pub mod procs;
