//! The integration tests: one binary, real parts (pypiserver, pip, act, linters).
//! Tools come from `.tools/` (or `$SDD_TOOLS`), installed by `scripts/tools`; a test whose
//! tool is missing fails and says so — it never skips.

pub mod support;

mod act;
mod check;
mod cli;
mod installer;
mod lint;
mod publish;
