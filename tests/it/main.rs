//! The integration tests: one binary, real parts (pypiserver, pip, act, linters).
//! Tools come from `.tools/` (or `$SDD_TOOLS`), installed by `scripts/tools`; a test whose
//! tool is missing fails and says so — it never skips.

pub mod support;

mod act;
mod act_checks;
mod act_example;
mod architecture;
mod attest;
mod bad_inputs;
mod check;
mod checks;
mod cli;
mod demo;
mod devpi;
mod devversion;
mod docs;
mod faults;
mod github_double;
mod hostile;
mod installer;
mod lint;
mod oidc;
mod preflight;
mod publish;
mod release;
mod verify;
mod version;
