//! The rules `check` applies: what PyPI refuses at upload time (warehouse's
//! `forklift/legacy.py` and `forklift/metadata.py`, which build on `packaging.metadata`),
//! what `twine check --strict` warns about, and what would break an installer.
//!
//! Every rule has a stable id below; reports, annotations, `--json` and the tests use it.
//! Each sub-module owns one family and returns [`Problem`]s; discovery calls them.

pub mod archive;
pub mod classifiers;
pub mod description;
pub mod entry_points;
pub mod filename;
pub mod metadata;
pub mod release;
pub mod structure;

use std::path::Path;

use super::{Problem, Severity};

// Discovery and reading (from the walking skeleton).
pub const ARCHIVE_CORRUPT: &str = "archive-corrupt";
pub const METADATA_MISSING: &str = "metadata-missing";
pub const METADATA_INVALID: &str = "metadata-invalid";
pub const FILENAME_INVALID: &str = "filename-invalid";
pub const UNSUPPORTED_FORMAT: &str = "unsupported-format";
pub const NAME_MISMATCH: &str = "name-mismatch";
pub const VERSION_MISMATCH: &str = "version-mismatch";
pub const DUPLICATE_FILENAME: &str = "duplicate-filename";

// Filenames.
pub const FILENAME_NOT_NORMALIZED: &str = "filename-not-normalized";
pub const SDIST_FILENAME_PEP625: &str = "sdist-filename-pep625";
pub const WHEEL_PLATFORM_UNSUPPORTED: &str = "wheel-platform-unsupported";

// Archives.
pub const ARCHIVE_COMPRESSION_RATIO: &str = "archive-compression-ratio";
pub const ARCHIVE_COMPRESSION_METHOD: &str = "archive-compression-method";
pub const ARCHIVE_DUPLICATE_MEMBER: &str = "archive-duplicate-member";
pub const ARCHIVE_SPARSE_MEMBER: &str = "archive-sparse-member";
pub const ARCHIVE_UNSAFE_PATH: &str = "archive-unsafe-path";
pub const ARCHIVE_UNSAFE_LINK: &str = "archive-unsafe-link";

// Structure.
pub const WHEEL_STRUCTURE: &str = "wheel-structure";
pub const WHEEL_ENTRY_POINTS: &str = "wheel-entry-points";
pub const WHEEL_ENTRY_POINTS_VALUE: &str = "wheel-entry-points-value";
pub const SDIST_STRUCTURE: &str = "sdist-structure";

// Core metadata.
pub const METADATA_VERSION_UNSUPPORTED: &str = "metadata-version-unsupported";
pub const METADATA_FIELD_UNKNOWN: &str = "metadata-field-unknown";
pub const METADATA_FIELD_TOO_NEW: &str = "metadata-field-too-new";
pub const METADATA_FIELD_REPEATED: &str = "metadata-field-repeated";
pub const NAME_INVALID: &str = "name-invalid";
pub const VERSION_LOCAL: &str = "version-local";
pub const REQUIRES_DIST_INVALID: &str = "requires-dist-invalid";
pub const REQUIRES_DIST_DIRECT_URL: &str = "requires-dist-direct-url";
pub const REQUIRES_PYTHON_INVALID: &str = "requires-python-invalid";
pub const PROVIDES_EXTRA_INVALID: &str = "provides-extra-invalid";
pub const PROJECT_URL_INVALID: &str = "project-url-invalid";
pub const CLASSIFIER_UNKNOWN: &str = "classifier-unknown";
pub const CLASSIFIER_DEPRECATED: &str = "classifier-deprecated";
pub const SUMMARY_TOO_LONG: &str = "summary-too-long";
pub const SUMMARY_MULTILINE: &str = "summary-multiline";
pub const DESCRIPTION_CONTENT_TYPE_INVALID: &str = "description-content-type-invalid";
pub const LICENSE_EXPRESSION_INVALID: &str = "license-expression-invalid";
pub const LICENSE_CONFLICT: &str = "license-conflict";
pub const LICENSE_FILE_INVALID: &str = "license-file-invalid";
pub const LICENSE_FILE_MISSING: &str = "license-file-missing";
pub const DYNAMIC_INVALID: &str = "dynamic-invalid";

// Long description.
pub const DESCRIPTION_RST_INVALID: &str = "description-rst-invalid";
pub const DESCRIPTION_UNCHECKED: &str = "description-unchecked";
/// twine `--strict`: errors for PyPI targets, warnings otherwise.
pub const DESCRIPTION_MISSING: &str = "description-missing";
/// twine `--strict`: errors for PyPI targets, warnings otherwise.
pub const DESCRIPTION_CONTENT_TYPE_MISSING: &str = "description-content-type-missing";

// Release level.
pub const RELEASE_MIXED: &str = "release-mixed";
pub const RELEASE_MULTIPLE_SDISTS: &str = "release-multiple-sdists";
pub const RELEASE_TAG_MISMATCH: &str = "release-tag-mismatch";

/// Every rule id, for coverage checks and documentation.
pub const ALL: &[&str] = &[
    ARCHIVE_CORRUPT,
    METADATA_MISSING,
    METADATA_INVALID,
    FILENAME_INVALID,
    UNSUPPORTED_FORMAT,
    NAME_MISMATCH,
    VERSION_MISMATCH,
    DUPLICATE_FILENAME,
    FILENAME_NOT_NORMALIZED,
    SDIST_FILENAME_PEP625,
    WHEEL_PLATFORM_UNSUPPORTED,
    ARCHIVE_COMPRESSION_RATIO,
    ARCHIVE_COMPRESSION_METHOD,
    ARCHIVE_DUPLICATE_MEMBER,
    ARCHIVE_SPARSE_MEMBER,
    ARCHIVE_UNSAFE_PATH,
    ARCHIVE_UNSAFE_LINK,
    WHEEL_STRUCTURE,
    WHEEL_ENTRY_POINTS,
    WHEEL_ENTRY_POINTS_VALUE,
    SDIST_STRUCTURE,
    METADATA_VERSION_UNSUPPORTED,
    METADATA_FIELD_UNKNOWN,
    METADATA_FIELD_TOO_NEW,
    METADATA_FIELD_REPEATED,
    NAME_INVALID,
    VERSION_LOCAL,
    REQUIRES_DIST_INVALID,
    REQUIRES_DIST_DIRECT_URL,
    REQUIRES_PYTHON_INVALID,
    PROVIDES_EXTRA_INVALID,
    PROJECT_URL_INVALID,
    CLASSIFIER_UNKNOWN,
    CLASSIFIER_DEPRECATED,
    SUMMARY_TOO_LONG,
    SUMMARY_MULTILINE,
    DESCRIPTION_CONTENT_TYPE_INVALID,
    LICENSE_EXPRESSION_INVALID,
    LICENSE_CONFLICT,
    LICENSE_FILE_INVALID,
    LICENSE_FILE_MISSING,
    DYNAMIC_INVALID,
    DESCRIPTION_RST_INVALID,
    DESCRIPTION_UNCHECKED,
    DESCRIPTION_MISSING,
    DESCRIPTION_CONTENT_TYPE_MISSING,
    RELEASE_MIXED,
    RELEASE_MULTIPLE_SDISTS,
    RELEASE_TAG_MISMATCH,
];

/// The rules twine's `--strict` turns from warnings into failures.
pub const STRICT_RULES: [&str; 2] = [DESCRIPTION_MISSING, DESCRIPTION_CONTENT_TYPE_MISSING];

/// Make the strict rules errors (twine `--strict`; on by default for PyPI targets).
pub fn apply_strict(problems: &mut [Problem]) {
    for p in problems {
        if STRICT_RULES.contains(&p.rule) {
            p.severity = Severity::Error;
        }
    }
}

/// Collects the problems of one file; every rule function writes into one.
pub struct Sink<'a> {
    pub path: &'a Path,
    pub out: Vec<Problem>,
}

impl<'a> Sink<'a> {
    pub fn new(path: &'a Path) -> Sink<'a> {
        Sink {
            path,
            out: Vec::new(),
        }
    }

    pub fn error(&mut self, rule: &'static str, message: impl Into<String>, fix: &str) {
        self.out
            .push(Problem::error(self.path, rule, message.into(), fix));
    }

    pub fn warning(&mut self, rule: &'static str, message: impl Into<String>, fix: &str) {
        self.out
            .push(Problem::warning(self.path, rule, message.into(), fix));
    }
}
