//! Property tests: the filename and metadata parsers, and the rules that read their output,
//! never panic on arbitrary input.

use std::path::Path;

use proptest::prelude::*;

use super::filename::{parse_sdist, parse_wheel};
use super::metadata::parse;
use super::rules::{self, Sink};

/// Text shaped like core metadata: header-ish lines from a small alphabet with the
/// characters the parser cares about, so the interesting branches are reached often.
fn metadata_like() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("Metadata-Version"),
        Just("Name"),
        Just("Version"),
        Just("Summary"),
        Just("Description"),
        Just("Description-Content-Type"),
        Just("Classifier"),
        Just("Requires-Dist"),
        Just("Requires-Python"),
        Just("Provides-Extra"),
        Just("Project-URL"),
        Just("License-Expression"),
        Just("License"),
        Just("License-File"),
        Just("Dynamic"),
        Just("Home-Page"),
        Just("X-Other"),
    ];
    let value = "[ -~\u{e9}\u{1F600};:,@<>=!~*()\\[\\]\"'+./-]{0,40}";
    let line = prop_oneof![
        (field, value).prop_map(|(f, v)| format!("{f}: {v}")),
        value.prop_map(|v| format!("        {v}")),
        value.prop_map(|v| v.to_string()),
        Just(String::new()),
    ];
    proptest::collection::vec(line, 0..20).prop_map(|l| l.join("\n"))
}

proptest! {
    #[test]
    fn filename_parsers_never_panic(s in "\\PC{0,80}") {
        let _ = parse_wheel(&s);
        let _ = parse_sdist(&s);
        let _ = parse_wheel(&format!("{s}.whl"));
        let _ = parse_sdist(&format!("{s}.tar.gz"));
    }

    #[test]
    fn wheel_shaped_names_never_panic(parts in proptest::collection::vec("[A-Za-z0-9_.+!]{0,12}", 0..8)) {
        let name = format!("{}.whl", parts.join("-"));
        if let Ok(w) = parse_wheel(&name) {
            let _ = rules::filename::valid_platform_tag(&w.platform_tag);
        }
        let _ = parse_sdist(&format!("{}.tar.gz", parts.join("-")));
    }

    #[test]
    fn metadata_parser_and_rules_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(meta) = parse(&bytes) {
            let mut sink = Sink::new(Path::new("x"));
            rules::metadata::check(&meta, &mut sink);
            rules::description::strict(&meta, &mut sink);
            let _ = rules::description::rst_text(&meta);
        }
    }

    #[test]
    fn metadata_like_text_never_panics(text in metadata_like()) {
        if let Ok(meta) = parse(text.as_bytes()) {
            let mut sink = Sink::new(Path::new("x"));
            rules::metadata::check(&meta, &mut sink);
            rules::description::strict(&meta, &mut sink);
            let _ = rules::description::rst_text(&meta);
            rules::filename::sdist("x-1.tar.gz", &meta, &mut sink);
        }
    }

    #[test]
    fn small_parsers_never_panic(s in "\\PC{0,60}") {
        let _ = rules::metadata::content_type(&s);
        let _ = rules::structure::entry_points(&s);
        let _ = rules::metadata::valid_project_name(&s);
        let _ = rules::filename::valid_platform_tag(&s);
        let _ = rules::description::dedent_legacy(&s);
    }
}
