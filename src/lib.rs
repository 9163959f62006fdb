pub mod incident;
pub mod team;
