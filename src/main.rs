//! Binary edge: parse the command line, set up logging (stderr only: stdout belongs to the
//! protocol in stdio mode), run, and turn errors into a message and an exit code.

use clap::Parser;

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FATHOM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,rmcp::service=error")),
        )
        .init();
    let cli = fathom::cli::Cli::parse();
    match fathom::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("fathom: {e:#}");
            std::process::exit(2);
        }
    }
}
