//! The `sdd-publish` binary: parse the command line, hand it to the library, map the result
//! to an exit code. Everything else lives in the library so tests can reach it.

fn main() -> std::process::ExitCode {
    sdd_publish::cli::main()
}
