//! Core metadata -> the legacy upload API's form fields, under the names warehouse's
//! forklift reads (`warehouse/forklift/metadata.py`, the inverse of what twine's
//! `package.py` + `repository.py` send).
//!
//! Warehouse parses metadata from the uploaded file where it can, but falls back to these
//! fields (old sdists), and other indexes (pypiserver, devpi) may only look at the form, so
//! they must be complete and named exactly.

use std::str::FromStr;

use crate::dist::{CoreMetadata, Distribution};

/// (header name, lower-cased; form name). Multi-use headers appear once here and are sent
/// once per value, which is how a form says "list".
const FIELD_NAMES: &[(&str, &str)] = &[
    // Metadata 1.0 (PEP 241)
    ("metadata-version", "metadata_version"),
    ("name", "name"),
    ("version", "version"),
    ("platform", "platform"),
    ("summary", "summary"),
    ("keywords", "keywords"),
    ("home-page", "home_page"),
    ("author", "author"),
    ("author-email", "author_email"),
    ("license", "license"),
    // 1.1 (PEP 314)
    ("supported-platform", "supported_platform"),
    ("download-url", "download_url"),
    ("classifier", "classifiers"),
    ("requires", "requires"),
    ("provides", "provides"),
    ("obsoletes", "obsoletes"),
    // 1.2 (PEP 345)
    ("maintainer", "maintainer"),
    ("maintainer-email", "maintainer_email"),
    ("requires-dist", "requires_dist"),
    ("provides-dist", "provides_dist"),
    ("obsoletes-dist", "obsoletes_dist"),
    ("requires-python", "requires_python"),
    ("requires-external", "requires_external"),
    ("project-url", "project_urls"),
    // 2.1 (PEP 566)
    ("description-content-type", "description_content_type"),
    ("provides-extra", "provides_extra"),
    // 2.2 (PEP 643)
    ("dynamic", "dynamic"),
    // 2.4 (PEP 639)
    ("license-expression", "license_expression"),
    ("license-file", "license_file"),
    // 2.5 (PEP 794)
    ("import-name", "import_name"),
    ("import-namespace", "import_namespace"),
];

/// The warehouse form name for a core metadata header, if warehouse knows the field.
pub fn form_name(header: &str) -> Option<&'static str> {
    let lower = header.to_ascii_lowercase();
    FIELD_NAMES
        .iter()
        .find(|(h, _)| *h == lower)
        .map(|(_, f)| *f)
}

/// Every metadata field as (form name, value), in file order, plus `description`.
///
/// Unknown headers are left out (warehouse would ignore them; validation reports them).
/// `License-File` is dropped below Metadata-Version 2.4, as twine does: setuptools wrote
/// it into 2.1 metadata with other semantics and the index rejects it there.
pub fn metadata_fields(meta: &CoreMetadata) -> Vec<(&'static str, String)> {
    let before_2_4 = pep440_rs::Version::from_str(meta.metadata_version.trim())
        .ok()
        .is_some_and(|v| v < pep440_rs::Version::new([2, 4]));
    let mut out = Vec::with_capacity(meta.fields.len() + 1);
    for (header, value) in &meta.fields {
        if header.eq_ignore_ascii_case("description") {
            continue;
        }
        let Some(name) = form_name(header) else {
            continue;
        };
        if name == "license_file" && before_2_4 {
            continue;
        }
        out.push((name, value.clone()));
    }
    if let Some(description) = meta.description() {
        out.push(("description", description.to_string()));
    }
    out
}

/// The full form for one file, without the file itself: protocol fields, digests, metadata,
/// and the file's PEP 740 attestations when it has any — `attestations`, a JSON list of
/// attestation objects (PEP 740's upload-endpoint change, as PyPI reads it; an index that
/// does not know the field ignores it, as it ignores any unknown form field).
pub fn upload_fields(
    dist: &Distribution,
    sha256: &str,
    blake2_256: &str,
    attestations: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut out = vec![
        (":action", "file_upload".to_string()),
        ("protocol_version", "1".to_string()),
        ("filetype", dist.kind.filetype().to_string()),
        ("pyversion", dist.pyversion.clone()),
        ("sha256_digest", sha256.to_string()),
        ("blake2_256_digest", blake2_256.to_string()),
    ];
    out.extend(metadata_fields(&dist.metadata));
    if let Some(json) = attestations {
        out.push(("attestations", json.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::{metadata, DistKind};

    fn meta(text: &str) -> CoreMetadata {
        metadata::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn maps_header_names_to_warehouse_form_names() {
        let m = meta(
            "Metadata-Version: 2.4\nName: p\nVersion: 1.0\nSummary: s\nHome-page: https://h\n\
Classifier: A\nClassifier: B\nRequires-Dist: x>=1\nRequires-Dist: y; extra == 'e'\n\
Provides-Extra: e\nProject-URL: Source, https://s\nLicense-Expression: MIT\n\
License-File: LICENSE\nPlatform: any\nSupported-Platform: linux\nRequires-Python: >=3.9\n\
Description-Content-Type: text/markdown\nDynamic: license\nX-Unknown: dropped\n\n# Title\n",
        );
        let f = metadata_fields(&m);
        let got: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            got,
            [
                ("metadata_version", "2.4"),
                ("name", "p"),
                ("version", "1.0"),
                ("summary", "s"),
                ("home_page", "https://h"),
                ("classifiers", "A"),
                ("classifiers", "B"),
                ("requires_dist", "x>=1"),
                ("requires_dist", "y; extra == 'e'"),
                ("provides_extra", "e"),
                ("project_urls", "Source, https://s"),
                ("license_expression", "MIT"),
                ("license_file", "LICENSE"),
                ("platform", "any"),
                ("supported_platform", "linux"),
                ("requires_python", ">=3.9"),
                ("description_content_type", "text/markdown"),
                ("dynamic", "license"),
                ("description", "# Title\n"),
            ]
        );
    }

    #[test]
    fn license_file_dropped_before_2_4_and_description_header_used_without_body() {
        let m = meta(
            "Metadata-Version: 2.1\nName: p\nVersion: 1\nLicense-File: LICENSE\nDescription: old\n        style\n",
        );
        let f = metadata_fields(&m);
        assert!(!f.iter().any(|(k, _)| *k == "license_file"), "{f:?}");
        let desc: Vec<_> = f.iter().filter(|(k, _)| *k == "description").collect();
        assert_eq!(desc, [&("description", "old\n        style".to_string())]);
    }

    #[test]
    fn upload_fields_lead_with_protocol_fields() {
        let d = Distribution {
            path: "x".into(),
            filename: "p-1.0.tar.gz".into(),
            kind: DistKind::Sdist,
            size: 1,
            metadata: meta("Metadata-Version: 2.1\nName: p\nVersion: 1.0\n"),
            pyversion: "source".into(),
        };
        let f = upload_fields(&d, "aa", "bb", None);
        assert_eq!(f[0], (":action", "file_upload".to_string()));
        assert!(f.contains(&("filetype", "sdist".to_string())));
        assert!(f.contains(&("pyversion", "source".to_string())));
        assert!(f.contains(&("sha256_digest", "aa".to_string())));
        assert!(f.contains(&("blake2_256_digest", "bb".to_string())));
        assert!(!f.iter().any(|(k, _)| *k == "md5_digest"));
        assert!(!f.iter().any(|(k, _)| *k == "attestations"));

        let f = upload_fields(&d, "aa", "bb", Some(r#"[{"version":1}]"#));
        let att: Vec<_> = f.iter().filter(|(k, _)| *k == "attestations").collect();
        assert_eq!(att, [&("attestations", r#"[{"version":1}]"#.to_string())]);
    }
}
