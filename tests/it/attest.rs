//! PEP 740 attestations end to end: `sdd-publish attest` and `sdd-publish run` against
//! loopback doubles of GitHub's ID-token endpoint (`oidc.rs`), Fulcio and Rekor
//! (`tests/doubles/sigstore_double.py`: a test CA, CT log and Rekor log with keys of their
//! own), and every attestation checked by the reference implementation, `pypi-attestations`
//! (`tests/doubles/verify_attestation.py`), with a trusted root naming the doubles' keys.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::github_double::GitHubDouble;
use crate::oidc::{claims, Mint, OidcDouble};
use crate::support::*;

pub(crate) const WHEEL: &str = "improved_sdd-0.1.0-py3-none-any.whl";
pub(crate) const SDIST: &str = "improved_sdd-0.1.0.tar.gz";
const REPOSITORY: &str = "octo-org/improved-sdd";
const WORKFLOW: &str = "publish.yml";

pub(crate) struct SigstoreDouble {
    child: Child,
    pub dir: tempfile::TempDir,
    pub fulcio: String,
    pub rekor: String,
    pub trusted_root: PathBuf,
}

impl SigstoreDouble {
    pub(crate) fn start(args: &[&str]) -> SigstoreDouble {
        let dir = tempfile::tempdir().unwrap();
        let script = repo_root().join("tests/doubles/sigstore_double.py");
        let mut child = Command::new(venv_bin("python"))
            .arg(&script)
            .arg(dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the tools venv's python runs the Sigstore double");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the Sigstore double did not start ({e}): {line:?}"));
        SigstoreDouble {
            child,
            fulcio: v["fulcio"].as_str().unwrap().to_owned(),
            rekor: v["rekor"].as_str().unwrap().to_owned(),
            trusted_root: PathBuf::from(v["trusted_root"].as_str().unwrap()),
            dir,
        }
    }

    /// Point a run at the doubles.
    pub(crate) fn configure(&self, env: &mut ActionEnv) {
        env.set("SDD_PUBLISH_FULCIO_URL", &self.fulcio)
            .set("SDD_PUBLISH_REKOR_URL", &self.rekor)
            .set(
                "SDD_PUBLISH_TRUSTED_ROOT",
                self.trusted_root.display().to_string(),
            )
            .set("SDD_PUBLISH_ATTEST_ATTEMPTS", "1");
    }

    /// Every request the doubles saw: (service, path, authorization, body).
    pub(crate) fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub(crate) fn count(&self, service: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r["service"] == service)
            .count()
    }
}

impl Drop for SigstoreDouble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pypi-attestations` verifies `attestation` for `dist` as PyPI would for this repository's
/// `publish.yml` Trusted Publisher; Err carries its message.
pub(crate) fn reference_verify(
    double: &SigstoreDouble,
    dist: &Path,
    attestation: &Path,
) -> Result<(), String> {
    let out = Command::new(venv_bin("python"))
        .arg(repo_root().join("tests/doubles/verify_attestation.py"))
        .arg(&double.trusted_root)
        .arg(dist)
        .arg(attestation)
        .args([REPOSITORY, WORKFLOW])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.starts_with("OK https://docs.pypi.org/attestations/publish/v1")
    {
        Ok(())
    } else {
        Err(text)
    }
}

fn attest_env(github: &OidcDouble, sigstore: &SigstoreDouble) -> ActionEnv {
    let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "main");
    github.grant(&mut env);
    sigstore.configure(&mut env);
    env
}

fn github() -> OidcDouble {
    OidcDouble::start(
        None,
        claims(),
        Mint::Refuse {
            codes: vec!["not-enabled"],
        },
    )
}

/// The ID tokens the GitHub double handed out appear nowhere in `text` but the runner's
/// mask commands.
fn no_id_tokens(github: &OidcDouble, text: &str) {
    for t in github.issued() {
        register_secret(&t);
    }
    assert_no_secrets("the ID tokens", text);
}

/// A tag push publishing by trusted publishing to a pypiserver behind the OIDC double (which
/// answers the exchange with `mint`), attesting with the Sigstore doubles started with
/// `faults`. Keep it whole (`run.env`): a field left out of a pattern with `..` is dropped at
/// once, and its double stops.
struct TrustedRun {
    server: PyPIServer,
    github: OidcDouble,
    sigstore: SigstoreDouble,
    env: ActionEnv,
}

fn trusted_run(mint: Mint, faults: &[&str], attestations: &str) -> TrustedRun {
    let token = match &mint {
        Mint::Token { token, .. } => token.clone(),
        Mint::Refuse { .. } => "pypi-Nv3Rq8Zt1Kx6Wm4Hj9Pc".into(),
    };
    let server = PyPIServer::start_with_token(&token);
    let github = OidcDouble::start(Some(server.port), claims(), mint);
    let sigstore = SigstoreDouble::start(faults);
    let mut env = crate::oidc::tag_push();
    env.set("INPUT_PYPI_URL", github.upload_url())
        .set("INPUT_ATTESTATIONS", attestations);
    github.grant(&mut env);
    sigstore.configure(&mut env);
    TrustedRun {
        server,
        github,
        sigstore,
        env,
    }
}

/// The index mints a fresh token for each exchange's answer.
fn minting() -> Mint {
    Mint::Token {
        token: format!("pypi-MINTED{}", random_hex(16)),
        lifetime: 900,
    }
}

#[test]
fn attest_command_makes_attestations_pypi_attestations_verifies() {
    let (github, sigstore) = (github(), SigstoreDouble::start(&[]));
    let ws = workspace_with_dists("0.1.0");
    let dist = ws.path().join("dist");
    let env = attest_env(&github, &sigstore);
    let r = env.run(&dist, &["attest", WHEEL, SDIST, "--json"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    no_id_tokens(&github, &r.all_output());
    // In a workflow each ID token is masked as soon as it is minted, as in `run`.
    let issued = github.issued();
    assert_eq!(issued.len(), 1);
    assert!(
        r.stdout.contains(&format!("::add-mask::{}\n", issued[0])),
        "{}",
        r.stdout
    );

    let report: serde_json::Value =
        serde_json::from_str(r.stdout.lines().last().unwrap_or_default()).unwrap();
    // One certificate serves both files.
    assert_eq!(report["certificates"], 1, "{report}");
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    for (f, name) in files.iter().zip([WHEEL, SDIST]) {
        assert_eq!(f["file"], name);
        assert_eq!(f["sha256"], sha256_file(&dist.join(name)));
        assert!(f["rekor_log_index"].as_u64().unwrap() >= 70_000_000, "{f}");
        assert_eq!(
            f["identity"],
            "https://github.com/octo-org/improved-sdd/.github/workflows/publish.yml@refs/tags/v0.1.0"
        );
        let saved = dist.join(format!("{name}.publish.attestation"));
        // Beside the file, named as the file was given.
        assert_eq!(f["attestation"], format!("{name}.publish.attestation"));
        reference_verify(&sigstore, &dist.join(name), &saved).unwrap();
    }
    // The attestation of one file does not vouch for the other.
    let wrong = reference_verify(
        &sigstore,
        &dist.join(SDIST),
        &dist.join(format!("{WHEEL}.publish.attestation")),
    )
    .unwrap_err();
    assert!(wrong.contains("subject does not match"), "{wrong}");

    // The ID token asked for audience `sigstore` and went to Fulcio as a bearer token only.
    let gh: Vec<_> = github
        .seen()
        .into_iter()
        .filter(|s| s.side == "github")
        .collect();
    assert_eq!(gh.len(), 1);
    assert!(gh[0].path.ends_with("&audience=sigstore"), "{}", gh[0].path);
    let requests = sigstore.requests();
    let fulcio: Vec<_> = requests
        .iter()
        .filter(|r| r["service"] == "fulcio")
        .collect();
    assert_eq!(fulcio.len(), 1);
    assert_eq!(
        fulcio[0]["authorization"],
        format!("Bearer {}", github.issued()[0])
    );
    for r in requests.iter().filter(|r| r["service"] == "rekor") {
        assert_eq!(r["authorization"], "", "Rekor gets no credentials");
    }
    assert_eq!(sigstore.count("rekor"), 2);
}

#[test]
fn a_certificate_near_expiry_is_replaced_before_signing() {
    // Certificates live 600 s; with a refresh margin of 600 s each is "about to expire" as
    // soon as it is issued, so every file gets its own — and every attestation verifies.
    let (github, sigstore) = (github(), SigstoreDouble::start(&["--cert-lifetime", "600"]));
    let ws = workspace_with_dists("0.1.0");
    let dist = ws.path().join("dist");
    let copies: Vec<String> = (1..=3)
        .map(|i| {
            let name = format!("improved_sdd-0.1.0-py3-none-any.whl.copy{i}");
            std::fs::copy(dist.join(WHEEL), dist.join(&name)).unwrap();
            name
        })
        .collect();
    let mut env = attest_env(&github, &sigstore);
    env.set("SDD_PUBLISH_ATTEST_REFRESH_MARGIN_S", "600");
    let mut args = vec!["attest", WHEEL, SDIST, "--json"];
    args.extend(copies.iter().map(String::as_str));
    let r = env.run(&dist, &args);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let report: serde_json::Value =
        serde_json::from_str(r.stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(report["certificates"], 5, "{report}");
    assert_eq!(sigstore.count("fulcio"), 5);
    // A fresh ID token per certificate: a token may expire before the next one is needed.
    assert_eq!(github.issued().len(), 5);
    for name in [WHEEL, SDIST] {
        let saved = dist.join(format!("{name}.publish.attestation"));
        reference_verify(&sigstore, &dist.join(name), &saved).unwrap();
    }
    no_id_tokens(&github, &r.all_output());
}

#[test]
fn sixty_wheels_all_get_verified_attestations_while_certificates_turn_over() {
    // Certificates good for 121 s with a 120 s refresh margin: each serves at most the
    // files signed within its first second, so a long matrix renews them as it goes — and
    // no file is signed with a certificate about to lapse.
    let (github, sigstore) = (github(), SigstoreDouble::start(&["--cert-lifetime", "121"]));
    let dir = tempfile::tempdir().unwrap();
    let wheel = std::fs::read(fixture_dists("0.1.0").join(WHEEL)).unwrap();
    let names: Vec<String> = (0..60)
        .map(|i| format!("improved_sdd-0.1.{i}-py3-none-any.whl"))
        .collect();
    for n in &names {
        std::fs::write(dir.path().join(n), &wheel).unwrap();
    }
    let env = attest_env(&github, &sigstore);
    let mut args = vec!["attest", "--json"];
    args.extend(names.iter().map(String::as_str));
    let r = env.run(dir.path(), &args);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let report: serde_json::Value =
        serde_json::from_str(r.stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(report["files"].as_array().unwrap().len(), 60);
    let certificates = report["certificates"].as_u64().unwrap();
    assert_eq!(sigstore.count("fulcio") as u64, certificates);
    assert_eq!(sigstore.count("rekor"), 60);
    // What the refresh is for: every file was logged while its certificate had at least the
    // margin (120 s) left, and the certificates the files name are the ones made.
    let mut used = BTreeSet::new();
    for n in &names {
        let saved = dir.path().join(format!("{n}.publish.attestation"));
        let (cert, left) = certificate_life_left_when_logged(&saved);
        assert!(
            left >= 120,
            "{n}: its certificate had {left} s left when logged"
        );
        used.insert(cert);
    }
    assert_eq!(used.len() as u64, certificates, "{report}");
    for n in [&names[0], &names[59]] {
        let saved = dir.path().join(format!("{n}.publish.attestation"));
        reference_verify(&sigstore, &dir.path().join(n), &saved).unwrap();
    }
}

/// An attestation's certificate (base64 DER) and the seconds it still had to live when
/// Rekor logged the signature (its notAfter minus the entry's integrated time).
fn certificate_life_left_when_logged(attestation: &Path) -> (String, i64) {
    use der::Decode;
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(attestation).unwrap()).unwrap();
    let material = &v["verification_material"];
    let b64 = material["certificate"].as_str().unwrap().to_owned();
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(&b64)
        .unwrap();
    let cert = x509_cert::Certificate::from_der(&der).unwrap();
    let not_after = cert
        .tbs_certificate
        .validity
        .not_after
        .to_unix_duration()
        .as_secs() as i64;
    let logged = &material["transparency_entries"][0]["integratedTime"];
    let logged: i64 = match logged {
        serde_json::Value::String(s) => s.parse().unwrap(),
        other => other.as_i64().unwrap(),
    };
    (b64, not_after - logged)
}

/// A token without `job_workflow_ref` leaves nothing to check the certificate against: no
/// certificate is asked for, and the error says how to attest or turn it off.
#[test]
fn a_token_that_names_no_workflow_gets_no_certificate() {
    let mut c = claims();
    c.as_object_mut().unwrap().remove("job_workflow_ref");
    let github = OidcDouble::start(
        None,
        c,
        Mint::Refuse {
            codes: vec!["not-enabled"],
        },
    );
    let sigstore = SigstoreDouble::start(&[]);
    let ws = workspace_with_dists("0.1.0");
    let dist = ws.path().join("dist");
    let r = attest_env(&github, &sigstore).run(&dist, &["attest", WHEEL]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let errors = r.errors();
    assert_eq!(errors.len(), 1, "{}", r.all_output());
    for needle in ["`job_workflow_ref`", "id-token: write"] {
        assert!(errors[0].contains(needle), "{needle}: {}", errors[0]);
    }
    assert_eq!(sigstore.count("fulcio"), 0);
    assert!(!dist.join(format!("{WHEEL}.publish.attestation")).exists());
    no_id_tokens(&github, &r.all_output());
}

/// Rekor logged the entry but its answer never arrived (the connection closed): the resend
/// of the same entry gets Rekor's 409 naming it in `Location`, the entry is fetched by its
/// UUID from the same Rekor, and the attestation verifies with the reference verifier.
#[test]
fn a_logged_entry_whose_answer_was_lost_is_fetched_by_its_uuid() {
    let (github, sigstore) = (
        github(),
        SigstoreDouble::start(&["--fault", "rekor-lost-answer"]),
    );
    let ws = workspace_with_dists("0.1.0");
    let dist = ws.path().join("dist");
    let mut env = attest_env(&github, &sigstore);
    env.set("SDD_PUBLISH_ATTEST_ATTEMPTS", "2");
    let r = env.run(&dist, &["attest", WHEEL, "--json"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let saved = dist.join(format!("{WHEEL}.publish.attestation"));
    reference_verify(&sigstore, &dist.join(WHEEL), &saved).unwrap();
    let rekor: Vec<String> = sigstore
        .requests()
        .iter()
        .filter(|r| r["service"] == "rekor")
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rekor.len(), 3, "{rekor:?}");
    assert_eq!(&rekor[..2], ["/api/v1/log/entries", "/api/v1/log/entries"]);
    let uuid = rekor[2].strip_prefix("/api/v1/log/entries/").unwrap();
    assert_eq!(uuid.len(), 64, "{rekor:?}");
    no_id_tokens(&github, &r.all_output());
}

/// Each failure stops before anything is saved and says what went wrong and what to do.
#[test]
fn attestation_failures_name_the_cause_and_the_fix() {
    struct Case {
        name: &'static str,
        fault: &'static str,
        grant: bool,
        expect: &'static [&'static str],
    }
    let cases = [
        Case {
            name: "no id-token permission",
            fault: "",
            grant: false,
            expect: &["cannot mint an ID token", "permissions: id-token: write"],
        },
        Case {
            name: "Fulcio refuses the token",
            fault: "fulcio-401",
            grant: true,
            expect: &["Fulcio", "HTTP 401", "audience `sigstore`"],
        },
        Case {
            name: "Fulcio fails",
            fault: "fulcio-500",
            grant: true,
            expect: &["Fulcio", "HTTP 500", "re-run later"],
        },
        Case {
            name: "Fulcio certifies another workflow",
            fault: "fulcio-identity",
            grant: true,
            expect: &[
                "identity mismatch",
                "someone/else/.github/workflows/evil.yml",
                "octo-org/improved-sdd/.github/workflows/publish.yml",
            ],
        },
        Case {
            name: "Fulcio sends a detached SCT",
            fault: "fulcio-detached-sct",
            grant: true,
            expect: &["Fulcio answered something unexpected", "detached SCT"],
        },
        Case {
            name: "Fulcio certifies another key",
            fault: "fulcio-other-key",
            grant: true,
            expect: &[
                "Fulcio answered something unexpected",
                "does not certify the key we sent",
            ],
        },
        Case {
            // Tried twice: a certificate that lapsed before Rekor logged the entry gets one
            // more chance with a new one (counted below).
            name: "Fulcio issues expired certificates",
            fault: "fulcio-expired",
            grant: true,
            expect: &["does not verify", "was not valid when the entry was logged"],
        },
        Case {
            name: "the certificate's SCT is not the CT log's",
            fault: "fulcio-bad-sct",
            grant: true,
            expect: &[
                "does not verify",
                "SCT does not verify with its CT log's key",
            ],
        },
        Case {
            name: "Rekor answers something else",
            fault: "rekor-garbage",
            grant: true,
            expect: &[
                "Rekor answered something unexpected",
                "not the expected JSON",
            ],
        },
        Case {
            name: "Rekor answers without end",
            fault: "rekor-huge",
            grant: true,
            expect: &[
                "Rekor answered something unexpected",
                "an answer longer than 4194304 bytes",
            ],
        },
        Case {
            name: "Rekor fails",
            fault: "rekor-500",
            grant: true,
            expect: &["Rekor", "HTTP 500", "re-run later"],
        },
        Case {
            name: "Rekor's entry timestamp is signed by another key",
            fault: "rekor-bad-set",
            grant: true,
            expect: &[
                "does not verify",
                "signed entry timestamp",
                "nothing was uploaded",
            ],
        },
        Case {
            name: "Rekor logs another statement",
            fault: "rekor-other-body",
            grant: true,
            expect: &["does not verify", "another statement"],
        },
    ];
    let github = github();
    let ws = workspace_with_dists("0.1.0");
    let dist = ws.path().join("dist");
    for c in &cases {
        let sigstore = SigstoreDouble::start(&["--fault", c.fault]);
        let mut env = attest_env(&github, &sigstore);
        if !c.grant {
            env.remove("ACTIONS_ID_TOKEN_REQUEST_URL")
                .remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
        }
        let r = env.run(&dist, &["attest", WHEEL]);
        assert_eq!(r.code, 1, "{}: {}", c.name, r.all_output());
        let errors = r.errors();
        assert_eq!(errors.len(), 1, "{}: {}", c.name, r.all_output());
        for e in c.expect {
            assert!(
                errors[0].contains(e),
                "{}: no {e:?} in {}",
                c.name,
                errors[0]
            );
        }
        assert!(
            !dist.join(format!("{WHEEL}.publish.attestation")).exists(),
            "{}: a failed attestation was saved",
            c.name
        );
        no_id_tokens(&github, &r.all_output());
        if c.fault == "fulcio-expired" {
            assert_eq!(
                sigstore.count("fulcio"),
                2,
                "one retry with a new certificate"
            );
        }
    }

    // Unreachable services: a port nothing listens on.
    let sigstore = SigstoreDouble::start(&[]);
    for (var, service) in [
        ("SDD_PUBLISH_FULCIO_URL", "Fulcio"),
        ("SDD_PUBLISH_REKOR_URL", "Rekor"),
    ] {
        let mut env = attest_env(&github, &sigstore);
        let dead = format!("http://127.0.0.1:{}", free_port());
        env.set(var, &dead);
        let r = env.run(&dist, &["attest", WHEEL]);
        assert_eq!(r.code, 1, "{}", r.all_output());
        let e = r.first_error();
        assert!(
            e.contains(&format!("could not reach {service} at {dead}")),
            "{e}"
        );
        assert!(e.contains("network"), "{e}");
    }

    // A setting that cannot be used is a bad input (exit 2), named.
    for (var, value, expect) in [
        (
            "SDD_PUBLISH_TRUSTED_ROOT",
            "/nonexistent/trusted_root.json",
            "SDD_PUBLISH_TRUSTED_ROOT",
        ),
        (
            "SDD_PUBLISH_REKOR_URL",
            "http://rekor.example",
            "SDD_PUBLISH_REKOR_URL is `http://rekor.example`, expected an https URL (plain http only on loopback",
        ),
    ] {
        let mut env = attest_env(&github, &sigstore);
        env.set(var, value);
        let r = env.run(&dist, &["attest", WHEEL]);
        assert_eq!(r.code, 2, "{}", r.all_output());
        assert!(r.first_error().contains(expect), "{}", r.first_error());
    }
}

/// The value of the multipart form field `name` in a recorded request body.
fn form_field(body: &str, name: &str) -> Option<String> {
    let boundary = body.lines().next()?.trim_end().to_owned();
    body.split(boundary.as_str()).find_map(|part| {
        let (head, value) = part.split_once("\r\n\r\n")?;
        head.contains(&format!("name=\"{name}\"")).then(|| {
            value
                .trim_end_matches("\r\n")
                .trim_end_matches("--")
                .trim_end()
                .to_owned()
        })
    })
}

fn content_filename(body: &str) -> Option<String> {
    let i = body.find("name=\"content\"; filename=\"")? + "name=\"content\"; filename=\"".len();
    Some(body[i..].split('"').next()?.to_owned())
}

#[test]
fn run_sends_each_file_its_verified_attestation_and_says_when_a_rerun_cannot() {
    let TrustedRun {
        server,
        github,
        sigstore,
        mut env,
    } = trusted_run(minting(), &[], "auto");
    let ws = workspace_with_dists("0.1.0");
    let dist = ws.path().join("dist");
    let api = GitHubDouble::fixed(vec![], vec![]);
    env.set("INPUT_VERIFY_INSTALL", "false")
        .set("GITHUB_API_URL", api.api_url())
        .set("GITHUB_WORKSPACE", ws.path().display().to_string())
        .set("INPUT_GITHUB_TOKEN", "ghs_Rl4Kp9Xe2Vn7Tq5Jz")
        .set("INPUT_RELEASE", "auto");
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    no_id_tokens(&github, &r.all_output());
    assert_eq!(
        server.served("improved-sdd"),
        sha256_of(&dist, &[WHEEL, SDIST]),
        "{}",
        server.log()
    );

    // Every upload carried its own file's attestation, exactly as saved beside the file,
    // and the reference verifier accepts each for the file that went with it.
    let uploads: Vec<_> = github
        .seen()
        .into_iter()
        .filter(|s| s.side == "index" && s.method == "POST" && s.path == "/")
        .collect();
    let mut sent = std::collections::BTreeSet::new();
    for u in &uploads {
        let file = content_filename(&u.body).expect("an upload form");
        let field = form_field(&u.body, "attestations")
            .unwrap_or_else(|| panic!("{file} was uploaded without attestations"));
        let list: Vec<serde_json::Value> = serde_json::from_str(&field).unwrap();
        assert_eq!(list.len(), 1, "{field}");
        let saved = dist.join(format!("{file}.publish.attestation"));
        let on_disk: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
        assert_eq!(list[0], on_disk, "{file}");
        reference_verify(&sigstore, &dist.join(&file), &saved).unwrap();
        sent.insert(file);
    }
    assert_eq!(sent, [SDIST.to_string(), WHEEL.to_string()].into());

    // One ID token for PyPI, one for Sigstore; one certificate for both files.
    let audiences: Vec<_> = github
        .seen()
        .into_iter()
        .filter(|s| s.side == "github")
        .map(|s| s.path.rsplit('=').next().unwrap().to_owned())
        .collect();
    assert_eq!(audiences, ["pypi", "sigstore"]);
    assert_eq!(sigstore.count("fulcio"), 1);

    // The summary names each file's Rekor entry.
    assert!(
        r.summary.contains("### Attestations (PEP 740)"),
        "{}",
        r.summary
    );
    for file in [WHEEL, SDIST] {
        let row = r
            .summary
            .lines()
            .find(|l| l.starts_with(&format!("| `{file}` | [7000")))
            .unwrap_or_else(|| panic!("no attestation row for {file}:\n{}", r.summary));
        assert!(row.ends_with("| sent |"), "{row}");
    }

    // The GitHub Release carries each attestation beside its file, byte for byte.
    let assets = api.asset_bytes("v0.1.0");
    for file in [WHEEL, SDIST] {
        let name = format!("{file}.publish.attestation");
        assert_eq!(
            assets.get(&name),
            Some(&std::fs::read(dist.join(&name)).unwrap()),
            "release assets: {:?}",
            assets.keys()
        );
    }
    assert_eq!(assets.len(), 4, "{:?}", assets.keys());

    // A re-run finds both files on the index: nothing to upload, so no attestation can be
    // added — it says so, makes none (nothing new in Rekor), and leaves the saved ones and
    // the release's assets alone; our own attestation files are not distributions.
    let saved_before = std::fs::read(dist.join(format!("{WHEEL}.publish.attestation"))).unwrap();
    let again = env.run(ws.path(), &["run"]);
    assert_eq!(again.code, 0, "{}", again.all_output());
    assert_eq!(
        again.output("skipped").as_deref(),
        Some(format!("{WHEEL}\n{SDIST}").as_str())
    );
    for file in [WHEEL, SDIST] {
        assert!(
            again.stdout.lines().any(|l| l.starts_with("::warning")
                && l.contains(file)
                && l.contains("attestation could not be added")),
            "no warning for {file}:\n{}",
            again.stdout
        );
    }
    assert!(
        again
            .summary
            .contains("not added: the file was already on the index"),
        "{}",
        again.summary
    );
    assert_eq!((sigstore.count("fulcio"), sigstore.count("rekor")), (1, 2));
    assert_eq!(
        std::fs::read(dist.join(format!("{WHEEL}.publish.attestation"))).unwrap(),
        saved_before
    );
    assert_eq!(api.asset_bytes("v0.1.0"), assets);
    assert!(
        again
            .stdout
            .contains(&format!("{WHEEL}.publish.attestation")),
        "the re-run lists our attestation files as ignored:\n{}",
        again.stdout
    );
    no_id_tokens(&github, &again.all_output());
}

#[test]
fn attestations_true_refuses_token_uploads_and_false_never_attests() {
    let sigstore = SigstoreDouble::start(&[]);
    let ws = workspace_with_dists("0.1.0");
    let server = PyPIServer::start_with_token("pypi-Up5Yd2Lg7Tw9Qs3Mx8Bn");
    let mut env = crate::oidc::tag_push();
    env.set("INPUT_PYPI_URL", server.upload_url())
        .set("INPUT_PYPI_TOKEN", "pypi-Up5Yd2Lg7Tw9Qs3Mx8Bn")
        .set("INPUT_ATTESTATIONS", "true");
    sigstore.configure(&mut env);
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let e = r.first_error();
    assert!(e.contains("`attestations: true`"), "{e}");
    assert!(e.contains("id-token: write"), "{e}");
    assert!(e.contains("`pypi-token`"), "{e}");
    assert!(server.stored().is_empty(), "nothing may be uploaded");

    // `auto` with a token uploads without attesting.
    env.set("INPUT_ATTESTATIONS", "auto")
        .set("INPUT_VERIFY_INSTALL", "false");
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert!(!r.summary.contains("Attestations"), "{}", r.summary);
    assert_eq!(sigstore.requests().len(), 0);
    assert!(!ws
        .path()
        .join(format!("dist/{WHEEL}.publish.attestation"))
        .exists());
}

#[test]
fn a_dry_run_attests_nothing_and_says_what_it_would_do() {
    let refused = Mint::Refuse {
        codes: vec!["not-enabled"],
    };
    let mut run = trusted_run(refused, &[], "true");
    let ws = workspace_with_dists("0.1.0");
    run.env.set("INPUT_DRY_RUN", "true");
    let r = run.env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert!(
        r.stdout
            .contains("dry run: would attest 2 file(s) with Sigstore"),
        "{}",
        r.stdout
    );
    assert_eq!(run.sigstore.requests().len(), 0);
    assert!(
        run.github.issued().is_empty(),
        "a dry run mints no ID token"
    );
    assert!(!ws
        .path()
        .join(format!("dist/{WHEEL}.publish.attestation"))
        .exists());
}

/// In a run, attesting sits between trusted publishing's exchange and the first upload: a
/// publisher the index refuses writes nothing to Sigstore's public log, and a Sigstore
/// failure after a good exchange uploads nothing and says how to publish without.
#[test]
fn a_run_attests_after_the_exchange_and_before_any_upload() {
    let ws = workspace_with_dists("0.1.0");
    let dist = ws.path().join("dist");
    let refused = Mint::Refuse {
        codes: vec!["invalid-publisher"],
    };
    let run = trusted_run(refused, &[], "true");
    let r = run.env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert!(
        r.first_error().contains("invalid-publisher"),
        "{}",
        r.first_error()
    );
    assert_eq!(
        run.sigstore.requests().len(),
        0,
        "signed before the exchange"
    );
    assert!(run.server.stored().is_empty());

    let run = trusted_run(minting(), &["--fault", "rekor-500"], "auto");
    let r = run.env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let e = r.first_error();
    assert!(e.contains("attestation: Rekor"), "{e}");
    assert!(e.contains("HTTP 500"), "{e}");
    assert!(
        e.ends_with("Nothing was uploaded; to publish without PEP 740 attestations, set `attestations: false`"),
        "{e}"
    );
    assert_eq!(
        run.github.issued().len(),
        2,
        "the index's ID token, then Sigstore's"
    );
    assert!(run.server.stored().is_empty(), "{:?}", run.server.stored());
    assert!(!dist.join(format!("{WHEEL}.publish.attestation")).exists());
    assert!(
        r.summary.contains("### Attestations (PEP 740)"),
        "{}",
        r.summary
    );
    no_id_tokens(&run.github, &r.all_output());
}
