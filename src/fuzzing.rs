//! Shared by the property tests: the case count, and structure-aware input (byte mutations
//! of a valid input, JSON shaped like the payload a parser expects). Random bytes alone
//! rarely get past a parser's first check.
//!
//! `cargo test` runs each property test with its own small default; `scripts/fuzz` sets
//! `PROPTEST_CASES` to scale every one of them up (see docs/fuzzing.md).

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use serde_json::Value;

/// `default` cases, or `PROPTEST_CASES` when set. (`Config::with_cases` alone would ignore
/// the variable; `Config::default()` reads it.)
pub(crate) fn config(default: u32) -> Config {
    if std::env::var_os("PROPTEST_CASES").is_some() {
        Config::default()
    } else {
        Config::with_cases(default)
    }
}

/// One edit of a byte string, as a mutation fuzzer makes them.
#[derive(Debug, Clone)]
pub(crate) enum Edit {
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
    /// Overwrite 4 bytes (a length, an offset, a count) with an interesting value.
    Word(Index, u32),
    /// Copy a slice over another place (duplicated headers, shifted records).
    Splice(Index, Index, usize),
}

pub(crate) fn edits(max: usize) -> impl Strategy<Value = Vec<Edit>> {
    let word = prop_oneof![
        Just(0u32),
        Just(1),
        Just(0x7fff_ffff),
        Just(0xffff_ffff),
        Just(0xffff),
        any::<u32>()
    ];
    let edit = prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<Index>().prop_map(Edit::Delete),
        any::<Index>().prop_map(Edit::Truncate),
        (any::<Index>(), word).prop_map(|(i, w)| Edit::Word(i, w)),
        (any::<Index>(), any::<Index>(), 1usize..64).prop_map(|(a, b, n)| Edit::Splice(a, b, n)),
    ];
    proptest::collection::vec(edit, 0..=max)
}

pub(crate) fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        if bytes.is_empty() {
            bytes.push(0);
        }
        let len = bytes.len();
        match e {
            Edit::Flip(i, b) => bytes[i.index(len)] ^= b | 1,
            Edit::Insert(i, b) => bytes.insert(i.index(len + 1), *b),
            Edit::Delete(i) => {
                bytes.remove(i.index(len));
            }
            Edit::Truncate(i) => bytes.truncate(i.index(len)),
            Edit::Word(i, w) => {
                let at = i.index(len);
                for (k, b) in w.to_le_bytes().into_iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(at + k) {
                        *slot = b;
                    }
                }
            }
            Edit::Splice(from, to, n) => {
                let from = from.index(len);
                let chunk: Vec<u8> = bytes[from..(from + n).min(len)].to_vec();
                let to = to.index(len);
                for (k, b) in chunk.into_iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(to + k) {
                        *slot = b;
                    }
                }
            }
        }
    }
    bytes
}

/// JSON whose object keys mostly come from `keys` (the fields the parser reads) and whose
/// leaves are of every type, so each `get(..).and_then(as_*)` branch is taken.
pub(crate) fn json(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (0u64..100).prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        proptest::sample::select(STRINGS).prop_map(Value::from),
    ];
    let key = prop_oneof![
        4 => proptest::sample::select(keys).prop_map(str::to_string),
        1 => "[a-z_]{0,8}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Values that mean something to some parser: URLs, hashes, states, refs, versions.
const STRINGS: &[&str] = &[
    "",
    "completed",
    "in_progress",
    "success",
    "failure",
    "pending",
    "uploaded",
    "https://files.example/p/x-1.0.tar.gz",
    "https://files.example/p/x-1.0-py3-none-any.whl#sha256=00",
    "x-1.0.tar.gz",
    "x-1.0-py3-none-any.whl",
    "../x-1.0.tar.gz",
    "sha256:4f5c0c0a7b8b0f0a8d6b8e6a2c3f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a43",
    "4f5c0c0a7b8b0f0a8d6b8e6a2c3f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a43",
    "refs/tags/v1.0.0",
    "refs/heads/main",
    "o/r/.github/workflows/publish.yml@refs/heads/main",
    "1.0.0",
    "main",
    "ünïcödé",
    "https://api.github.com/repos/o/r/check-suites/12",
];

/// Bytes of `v` as JSON, then (for some cases) mutated.
fn json_bytes(v: &Value, edits: &[Edit]) -> Vec<u8> {
    apply(serde_json::to_vec(v).unwrap(), edits)
}

fn header_map(name: &'static str, value: &[u8]) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    if let Ok(v) = reqwest::header::HeaderValue::from_bytes(value) {
        h.insert(name, v);
    }
    h
}

/// Text made of the tokens a line-oriented parser splits on, plus free text.
fn token_soup(tokens: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            3 => proptest::sample::select(tokens).prop_map(str::to_string),
            1 => "\\PC{0,12}",
        ],
        0..40,
    )
    .prop_map(|p| p.concat())
}

mod index {
    use super::*;
    use crate::index::query::{parse_json_api, parse_pep691};
    use url::Url;

    const KEYS: &[&str] = &[
        "meta",
        "api-version",
        "name",
        "files",
        "filename",
        "url",
        "hashes",
        "sha256",
        "core-metadata",
        "yanked",
        "requires-python",
        "urls",
        "digests",
        "info",
        "version",
        "message",
    ];

    fn page() -> Url {
        Url::parse("https://pypi.example/simple/x/").unwrap()
    }

    proptest! {
        #![proptest_config(config(256))]

        #[test]
        fn pep691_and_json_api_never_panic(v in json(KEYS), e in edits(3)) {
            for bytes in [json_bytes(&v, &[]), json_bytes(&v, &e)] {
                let _ = parse_pep691(&bytes, &page());
                let _ = parse_json_api(&bytes, &page());
            }
        }

        #[test]
        fn upload_error_bodies_never_panic(
            html in token_soup(&["<pre>", "</pre>", "<title>", "</TITLE>", "<h1 ", "<h1>", "</h1>", "<", ">", "&amp;", "&#", ";", "None", "é", "\n", "{\"message\":", "}"]),
            v in json(KEYS),
            is_json in any::<bool>(),
        ) {
            let _ = crate::index::upload::extract_message(&html, is_json);
            let _ = crate::index::upload::extract_message(&v.to_string(), is_json);
            let _ = crate::index::oidc::json_message(&v.to_string());
            let _ = crate::index::oidc::json_message(&html);
            let _ = crate::index::html::text(&html);
        }

        #[test]
        fn retry_after_never_panics(
            v in prop_oneof![
                "[0-9]{0,25}",
                "(Mon|Sun|Xyz), [0-9]{1,2} (Jan|Feb|Dec) [0-9]{1,5} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
                "\\PC{0,30}",
            ],
            raw in proptest::collection::vec(any::<u8>(), 0..30),
        ) {
            // Parsed, then judged against the retry budget as the publisher does.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            for h in [header_map("retry-after", v.as_bytes()), header_map("retry-after", &raw)] {
                let asked = crate::retry::retry_after(&h);
                let _ = crate::retry::within(deadline, Some(std::time::Duration::ZERO), asked);
            }
        }
    }
}

mod github {
    use super::*;
    use crate::gate::{own_jobs, results, suite_of, Own};
    use crate::github::models::{Asset, CheckRunsPage, CombinedStatus, JobsPage, WorkflowRun};
    use crate::github::{expand_upload_url, next_link, rate_limit_wait, SECONDARY_WAIT};
    use crate::github_release::{same_asset, ReleaseFile};

    /// A fuzzed value as the model it stands for; one that is not that shape is refused by
    /// the client before any code sees it.
    fn typed<T: serde::de::DeserializeOwned + Default>(v: &Value) -> T {
        serde_json::from_value(v.clone()).unwrap_or_default()
    }

    const KEYS: &[&str] = &[
        "check_runs",
        "statuses",
        "jobs",
        "id",
        "name",
        "status",
        "conclusion",
        "state",
        "context",
        "html_url",
        "details_url",
        "target_url",
        "app",
        "check_suite",
        "check_suite_id",
        "check_suite_url",
        "runner_name",
        "message",
        "errors",
        "digest",
        "size",
        "upload_url",
        "assets",
    ];

    proptest! {
        #![proptest_config(config(256))]

        #[test]
        fn check_runs_and_statuses_never_panic(
            runs in proptest::collection::vec(json(KEYS), 0..3),
            statuses in proptest::collection::vec(json(KEYS), 0..3),
            suite in proptest::option::of(0u64..100),
            jobs in proptest::collection::btree_set(0u64..100, 0..3),
            named in any::<bool>(),
        ) {
            let _ = suite_of(&typed::<WorkflowRun>(&runs.first().cloned().unwrap_or_default()));
            let _ = own_jobs(&runs.iter().map(typed::<JobsPage>).collect::<Vec<_>>(), "r");
            let own = Own { suite, jobs };
            let runs: Vec<CheckRunsPage> = runs.iter().map(typed).collect();
            let statuses: Vec<CombinedStatus> = statuses.iter().map(typed).collect();
            let out = results(&runs, &statuses, &own, named);
            // Sorted by name: the gate's status lines rely on it.
            prop_assert!(out.windows(2).all(|w| w[0].name <= w[1].name));
        }

        #[test]
        fn api_bodies_and_assets_never_panic(v in json(KEYS), e in edits(3), size in any::<u64>()) {
            let text = String::from_utf8_lossy(&json_bytes(&v, &e)).into_owned();
            let _ = crate::github::error_message(&text, false);
            let _ = crate::github::error_message(&text, true);
            let file = ReleaseFile { filename: "x".into(), size, sha256: "00".into() };
            let _ = same_asset(&typed::<Asset>(&v), &file);
        }

        #[test]
        fn link_and_rate_limit_headers_never_panic(
            link in token_soup(&["<https://api.github.com/x?page=2>", "<", ">", ";", ",", " rel=\"next\"", "rel=next", " ", "\"", "https://"]),
            remaining in prop_oneof![Just("0".to_string()), "\\PC{0,6}"],
            reset in "[0-9]{0,22}",
            retry in "[0-9 ]{0,22}",
            message in "\\PC{0,20}(rate limit)?",
            template in "\\PC{0,10}(https://uploads.github.com/x/assets)?\\{?\\PC{0,10}",
        ) {
            let _ = next_link(&header_map("link", link.as_bytes()), None);
            let mut h = header_map("x-ratelimit-remaining", remaining.as_bytes());
            h.extend(header_map("x-ratelimit-reset", reset.as_bytes()));
            h.extend(header_map("retry-after", retry.as_bytes()));
            let _ = rate_limit_wait(&h, &message, SECONDARY_WAIT);
            let _ = expand_upload_url(&template, &message);
        }
    }
}

mod gha {
    use super::*;
    use crate::config::Settings;
    use crate::gha::oidc::{workflow_filename, Claims};
    use crate::gha::raw_inputs::RawInputs;
    use crate::gha::Context;
    use crate::secret::Secret;
    use base64::Engine;
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::sync::LazyLock;

    /// The action's input names, from action.yml, so new inputs are fuzzed too.
    static INPUTS: LazyLock<Vec<String>> = LazyLock::new(|| {
        let doc: serde_yaml::Value = serde_yaml::from_str(include_str!("../action.yml")).unwrap();
        let names: Vec<String> = doc["inputs"]
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect();
        assert!(names.len() > 10, "action.yml inputs: {names:?}");
        names
    });

    const VALUES: &[&str] = &[
        "",
        "true",
        "false",
        "True",
        "yes",
        "auto",
        "pypi",
        "testpypi",
        "none",
        "0",
        "1",
        "99999999999999999999",
        "10m",
        "1h30m",
        "-5s",
        "main, release/*",
        "[",
        "https://upload.pypi.org/legacy/",
        "http://user:pass@localhost:8080/x",
        "not a url",
        "{name} {version}\n{changelog}",
        "{",
        "success,neutral",
        "dist/",
        "pytest>=8\n.[test]\n-r requirements.txt",
        ".[",
        "a-! >=1",
        "__token__",
    ];

    const ENV: &[&str] = &[
        "GITHUB_EVENT_NAME",
        "GITHUB_REF",
        "GITHUB_SHA",
        "GITHUB_REPOSITORY",
        "GITHUB_RUN_ID",
        "GITHUB_RUN_NUMBER",
        "GITHUB_RUN_ATTEMPT",
        "GITHUB_SERVER_URL",
        "GITHUB_API_URL",
        "RUNNER_NAME",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ];

    const ENV_VALUES: &[&str] = &[
        "push",
        "pull_request",
        "release",
        "workflow_dispatch",
        "refs/tags/v1.2.0",
        "refs/tags/",
        "refs/heads/main",
        "refs/pull/7/merge",
        "o/r",
        "18446744073709551616",
        " 7 ",
        "https://github.com",
    ];

    const EVENT_KEYS: &[&str] = &[
        "repository",
        "default_branch",
        "fork",
        "release",
        "tag_name",
        "prerelease",
        "pull_request",
        "head",
        "ref",
        "inputs",
    ];

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => proptest::sample::select(VALUES).prop_map(str::to_string),
            1 => "\\PC{0,16}",
        ]
    }

    fn inputs_env() -> impl Strategy<Value = BTreeMap<String, String>> {
        let key = (any::<proptest::sample::Index>(), any::<bool>()).prop_map(|(i, dashes)| {
            let name = i.get(&INPUTS).to_ascii_uppercase();
            let name = if dashes { name } else { name.replace('-', "_") };
            format!("INPUT_{name}")
        });
        let env_key = proptest::sample::select(ENV).prop_map(str::to_string);
        let env_value = prop_oneof![
            proptest::sample::select(ENV_VALUES).prop_map(str::to_string),
            "\\PC{0,12}",
        ];
        (
            proptest::collection::btree_map(key, value(), 0..10),
            proptest::collection::btree_map(env_key, env_value, 0..8),
        )
            .prop_map(|(mut a, b)| {
                a.extend(b);
                a
            })
    }

    proptest! {
        #![proptest_config(config(256))]

        /// Inputs, context and payload all the way to the publish decision.
        #[test]
        fn inputs_context_and_event_never_panic(
            env in inputs_env(),
            event in json(EVENT_KEYS),
            e in edits(3),
        ) {
            let bytes = json_bytes(&event, &e);
            let event = Context::parse_event(Path::new("event.json"), &bytes).unwrap_or(event);
            // A context the runner would never give is an error, not a decision.
            if let (Ok(ctx), Ok(raw)) = (Context::with_event(&env, event), RawInputs::from_env(&env)) {
                if let Ok(inputs) = Settings::from_raw(raw) {
                    let _ = crate::stages::plan::run(&ctx, &inputs);
                }
            }
        }

        #[test]
        fn oidc_claims_never_panic(
            claims in json(&["sub", "repository", "repository_owner", "workflow_ref", "job_workflow_ref", "ref", "environment", "event_name"]),
            e in edits(2),
            parts in proptest::collection::vec("[A-Za-z0-9_=.-]{0,12}", 0..5),
            wf in token_soup(&["o/r/", ".github/workflows/", "publish", ".yml", ".yaml", "@", "refs/heads/main", "/"]),
        ) {
            let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json_bytes(&claims, &e));
            for token in [format!("h.{payload}.s"), parts.join(".")] {
                if let Some(c) = Claims::decode(&Secret::new(token)) {
                    let _ = c.workflow_filename();
                    let _ = c.is_reusable_workflow();
                }
            }
            let _ = workflow_filename(&wf);
        }
    }
}

mod release {
    use super::*;
    use crate::github_release::notes::{
        check_template, extract_section, render, ReleaseFacts, ReleaseFile,
    };
    use std::str::FromStr;

    proptest! {
        #![proptest_config(config(256))]

        #[test]
        fn changelog_and_template_never_panic(
            changelog in token_soup(&["\n", "# ", "## ", "### ", "[", "]", "v", "1.2.0", "1.2", "1.2.0rc1", " - 2024-01-01", "Unreleased", "=====", "-----", "~~~", "*", "é", " ", "\r\n"]),
            version in prop_oneof![Just("1.2.0".to_string()), "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(rc[0-9])?"],
            template in token_soup(&["{", "}", "{{", "}}", "{name}", "{version}", "{tag}", "{changelog}", "{files}", "{project_url}", "{unknown}", "x"]),
        ) {
            let v = pep440_rs::Version::from_str(&version).unwrap();
            let section = extract_section(&changelog, &v);
            let _ = check_template(&template);
            let files = [ReleaseFile { filename: "x-1.0.tar.gz".into(), size: 1, sha256: "00".into() }];
            let facts = ReleaseFacts {
                name: "x",
                version: &version,
                tag: "v1",
                project_url: "https://pypi.org/project/x/1/",
                changelog: section.as_deref(),
                files: &files,
            };
            let _ = render(&template, &facts);
        }
    }
}

mod version {
    use super::*;
    use crate::version::project::{find_assignment, pyproject_version, splice_toml_string};
    use std::path::Path;

    proptest! {
        #![proptest_config(config(256))]

        #[test]
        fn version_strings_never_panic(
            s in token_soup(&["v", "V", "1", ".", "0", "rc", "a", "b", "post", "dev", "+", "local", "-", "_", "!", "*", "release-", " "]),
            pattern in prop_oneof![Just("v*".to_string()), "[a-z*?\\[{-]{0,8}"],
        ) {
            if let Ok(v) = crate::version::parse(&s) {
                // Every parsed version bumps and prints.
                use crate::version::bump::Part;
                for part in [Part::Major, Part::Minor, Part::Patch, Part::Pre, Part::Post, Part::Dev, Part::Release] {
                    let _ = crate::version::bump::bump(&v, part, None);
                }
                let _ = crate::version::bump::dev_version(&v, u64::MAX, u64::MAX);
            }
            let _ = crate::version::tag_version(&s, &pattern);
        }

        #[test]
        fn pyproject_and_version_files_never_panic(
            text in token_soup(&["[project]\n", "[tool.poetry]\n", "version", " = ", "=", "\"", "'", "'''", "\"\"\"", "1.0.0", "\n", "#", "[", "]", "{", "}", ",", ".", "\\", "__version__", ": str", "\t"]),
            new in prop_oneof![Just("2.0.0".to_string()), "[0-9.]{1,8}"],
        ) {
            for table in [&["project"][..], &["tool", "poetry"][..]] {
                if let Ok((_, span)) = pyproject_version(Path::new("pyproject.toml"), &text, table) {
                    let _ = splice_toml_string(&text, span, &new);
                }
            }
            let _ = find_assignment(&text, &["__version__".to_string(), "VERSION".to_string()]);
        }
    }
}
