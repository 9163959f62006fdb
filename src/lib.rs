pub mod incident;
