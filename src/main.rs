//! The `warroom` binary: a thin shell over the library.

fn main() -> std::process::ExitCode {
    // Panics get color-eyre's report (the TUI adds terminal restoration on top of this hook).
    let _ = color_eyre::install();
    warroom::cli::main()
}
