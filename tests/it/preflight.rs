//! The pre-flight against a real index (pypiserver holding pytest and setuptools from the
//! wheelhouse, as PyPI would): the checked files install into a fresh environment with uv and
//! with pip, the smoke commands and the project's tests run there before any upload, and
//! every failure stops the run with nothing uploaded.
//!
//! The project is a flat layout (`flatpkg/` beside `tests/` and a `conftest.py`), the layout
//! in which `python -m pytest` run from the checkout imports the source tree instead of the
//! installed package. Its built wheel and its source tree say different things on purpose,
//! so each test knows which one the tests imported.

use std::path::Path;
use std::process::Command;

use crate::support::*;

const WHEEL: &str = "flatpkg-1.0.0-py3-none-any.whl";
const SDIST: &str = "flatpkg-1.0.0.tar.gz";

/// The module as written: `answer()` returns `answer`; `broken` makes importing it fail.
fn module(answer: u32, broken: bool) -> String {
    let mut m = String::from("\"\"\"flatpkg test fixture.\"\"\"\n");
    if broken {
        m.push_str(
            "raise ImportError(\"the source tree was imported, not the installed package\")\n",
        );
    }
    m.push_str(&format!(
        "\n\ndef answer():\n    return {answer}\n\n\ndef main():\n    print(answer())\n    return 0 if answer() == 42 else 1\n"
    ));
    m
}

/// A flat-layout project whose built files have `built` inside, while its source tree has
/// `source`: the workspace after a change that was never rebuilt, or a build that packaged
/// something else than the tree holds.
fn flat_project(built: &str, source: &str) -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    let root = ws.path();
    std::fs::create_dir_all(root.join("flatpkg")).unwrap();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::write(
        root.join("pyproject.toml"),
        r#"[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "flatpkg"
version = "1.0.0"
description = "A flat-layout fixture for sdd-publish's pre-flight tests"
readme = "README.md"
requires-python = ">=3.9"
license = "MIT"
classifiers = ["Programming Language :: Python :: 3"]

[project.scripts]
flatpkg = "flatpkg:main"

[tool.setuptools]
packages = ["flatpkg"]
"#,
    )
    .unwrap();
    std::fs::write(root.join("README.md"), "# flatpkg\n\nA test fixture.\n").unwrap();
    // A conftest.py at the root makes pytest put the root first on sys.path.
    std::fs::write(root.join("conftest.py"), "").unwrap();
    std::fs::write(
        root.join("tests/test_answer.py"),
        "import flatpkg\n\n\ndef test_answer():\n    assert flatpkg.answer() == 42\n",
    )
    .unwrap();
    std::fs::write(root.join("flatpkg/__init__.py"), built).unwrap();
    let out = Command::new(venv_bin("python"))
        .args(["-m", "build", "--no-isolation", "--outdir"])
        .arg(root.join("dist"))
        .arg(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building flatpkg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for generated in ["build", "flatpkg.egg-info"] {
        let _ = std::fs::remove_dir_all(root.join(generated));
    }
    std::fs::write(root.join("flatpkg/__init__.py"), source).unwrap();
    ws
}

/// pypiserver that also serves the wheelhouse (pytest, its dependencies, setuptools).
fn index_with_test_tools() -> PyPIServer {
    let server = PyPIServer::start();
    server.serve_wheelhouse();
    server
}

/// PATH for a run whose installer is `uv` (the tools venv first: uv and python) or pip (a
/// folder holding only `python3`, then the system's tools without uv).
fn path_for(uv: bool, scratch: &Path) -> String {
    if uv {
        return format!(
            "{}:{}",
            venv_bin("uv").parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
    }
    let bin = scratch.join("python-only");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("python3");
    if !link.exists() {
        std::os::unix::fs::symlink(venv_bin("python"), &link).unwrap();
    }
    format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display())
}

/// A tag push of flatpkg 1.0.0 to `server` with the given pre-flight inputs.
fn tag_push(server: &PyPIServer, ws: &Path, uv: bool, inputs: &[(&str, &str)]) -> ActionEnv {
    let mut env = ActionEnv::new("push", "refs/tags/v1.0.0", "master");
    let path = path_for(uv, env.dir.path());
    env.set("INPUT_PYPI_URL", server.upload_url())
        .set("INPUT_PYPI_TOKEN", server.token.clone())
        .set("INPUT_VERIFY_INSTALL", "false")
        .set("GITHUB_WORKSPACE", ws.display().to_string())
        .set("PATH", path);
    for (k, v) in inputs {
        env.set(k, *v);
    }
    env
}

const TESTS: &[(&str, &str)] = &[
    ("INPUT_VERIFY_COMMAND", "flatpkg"),
    ("INPUT_TEST_COMMAND", "python -m pytest -q tests"),
    ("INPUT_TEST_REQUIREMENTS", "pytest"),
];

/// What every failed pre-flight must show: exit 1, one `::error::` naming `names`, the
/// output in the Pre-flight group, a Problems row, `should-publish=false` with the stage in
/// `reason`, and nothing on the index.
fn assert_stopped(r: &RunResult, server: &PyPIServer, names: &[&str], rule: &str) {
    let all = r.all_output();
    assert_eq!(r.code, 1, "{all}");
    let errors = r.errors();
    assert_eq!(errors.len(), 1, "one error: {errors:#?}\n{all}");
    for n in names {
        assert!(
            errors[0].contains(n),
            "the error lacks {n:?}: {}",
            errors[0]
        );
    }
    assert!(errors[0].contains("nothing was uploaded"), "{}", errors[0]);
    assert!(r.stdout.contains("::group::Pre-flight"), "{all}");
    assert!(!r.stdout.contains("::group::Upload"), "{all}");
    assert!(r.summary.contains("### Problems"), "{}", r.summary);
    assert!(r.summary.contains(&format!("`{rule}`")), "{}", r.summary);
    assert_eq!(r.output("should-publish").as_deref(), Some("false"));
    assert_eq!(r.output("dry-run").as_deref(), Some("false"));
    let reason = r.output("reason").unwrap();
    assert!(
        reason.starts_with("the pre-flight failed, so nothing was published"),
        "{reason}"
    );
    assert!(server.served("flatpkg").is_empty(), "{all}");
}

/// The wheel is broken (it answers 41) while the source tree is right: tests run from the
/// checkout would pass on the sources. The pre-flight runs them against the wheel, which
/// fails, and nothing is uploaded.
#[test]
fn tests_run_against_the_installed_wheel_not_the_source_tree() {
    let server = index_with_test_tools();
    let ws = flat_project(&module(41, false), &module(42, false));
    let r = tag_push(&server, ws.path(), true, &TESTS[1..]).run(ws.path(), &["run"]);
    assert_stopped(
        &r,
        &server,
        &["`python -m pytest -q tests`", "exit status 1", WHEEL],
        "preflight-test-command",
    );
    // The test's own output is in the log: it saw the wheel's 41.
    assert!(r.stdout.contains("assert 41 == 42"), "{}", r.stdout);
    // The fix names the input.
    assert!(
        r.first_error().contains("`test-command`"),
        "{}",
        r.first_error()
    );
}

/// The other way round: the source tree cannot even be imported, the wheel is right. The
/// tests pass, imported from the environment, and only then is anything uploaded.
#[test]
fn a_good_wheel_passes_though_the_source_tree_is_broken_with_uv_and_with_pip() {
    for uv in [true, false] {
        let server = index_with_test_tools();
        let ws = flat_project(&module(42, false), &module(42, true));
        let r = tag_push(&server, ws.path(), uv, TESTS).run(ws.path(), &["run"]);
        let all = r.all_output();
        assert_eq!(r.code, 0, "uv={uv}: {all}");
        let installer = if uv { "uv" } else { "pip" };
        assert!(
            r.stdout
                .contains(&format!("installed {WHEEL} with {installer}")),
            "uv={uv}: {all}"
        );
        // The smoke command, then the tests, each with its output, before the upload.
        let smoke = r
            .stdout
            .find("$ flatpkg\n42")
            .unwrap_or_else(|| panic!("{all}"));
        let tests = r.stdout.find("1 passed").unwrap_or_else(|| panic!("{all}"));
        let upload = r.stdout.find("::group::Upload").unwrap();
        assert!(smoke < tests && tests < upload, "uv={uv}: {all}");
        assert_eq!(
            server.served("flatpkg").keys().collect::<Vec<_>>(),
            [WHEEL, SDIST],
            "uv={uv}"
        );
        assert_eq!(r.output("should-publish").as_deref(), Some("true"));
        for needle in [
            format!("| **Pre-flight:** | `{WHEEL}` installed from the local files into a fresh environment ({installer})"),
            "`flatpkg` passed; `python -m pytest -q tests` passed; the tests imported `flatpkg` from the environment".into(),
        ] {
            assert!(r.summary.contains(&needle), "uv={uv}: {needle}\n{}", r.summary);
        }
    }
}

/// A test command that never imports the project in the environment (here: it runs
/// nothing of it) did not test the installed package, and says how to fix that.
#[test]
fn a_test_command_that_never_imports_the_project_is_an_error() {
    let server = index_with_test_tools();
    let ws = flat_project(&module(42, false), &module(42, false));
    let r = tag_push(
        &server,
        ws.path(),
        true,
        &[("INPUT_TEST_COMMAND", "python -c 'print(42)'")],
    )
    .run(ws.path(), &["run"]);
    assert_stopped(
        &r,
        &server,
        &["never imported `flatpkg`", "`test-requirements`"],
        "preflight-not-installed-package",
    );
}

/// A smoke command that fails (the console script exits 1): the error names the command and
/// its exit status; the fix names `verify-command`.
#[test]
fn a_failing_smoke_command_stops_the_run() {
    let server = index_with_test_tools();
    let ws = flat_project(&module(41, false), &module(42, false));
    let r = tag_push(
        &server,
        ws.path(),
        false,
        &[(
            "INPUT_VERIFY_COMMAND",
            "python -c 'import flatpkg'\nflatpkg",
        )],
    )
    .run(ws.path(), &["run"]);
    assert_stopped(
        &r,
        &server,
        &["`flatpkg` exited with exit status 1", "`verify-command`"],
        "preflight-smoke-command",
    );
    // Each line is a command of its own: the first passed, the second printed 41 and failed.
    assert!(
        r.stdout
            .contains("$ python -c 'import flatpkg'\n$ flatpkg\n41\n"),
        "{}",
        r.stdout
    );
}

/// On a tag re-run the version is already on the index. The pre-flight still installs the
/// local file: a rebuilt, broken wheel of the published version fails here, before the
/// upload would refuse it, even though the index holds a good one.
#[test]
fn a_rerun_installs_the_local_file_not_the_one_on_the_index() {
    let server = index_with_test_tools();
    let good = flat_project(&module(42, false), &module(42, false));
    let r = tag_push(&server, good.path(), true, &TESTS[1..]).run(good.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let published = server.served("flatpkg");
    assert_eq!(published.len(), 2);
    let broken = flat_project(&module(41, false), &module(42, false));
    let r = tag_push(&server, broken.path(), true, &TESTS[1..]).run(broken.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert!(
        r.first_error().starts_with(
            "::error::pre-flight: `python -m pytest -q tests` exited with exit status 1"
        ),
        "{}",
        r.first_error()
    );
    assert!(r.stdout.contains("assert 41 == 42"), "{}", r.stdout);
    assert_eq!(
        server.served("flatpkg"),
        published,
        "the index is untouched"
    );
}

/// No wheel at all: the sdist is built (its build backend, setuptools, from the target's
/// index) and installed, and the tests run against that.
#[test]
fn without_a_wheel_the_sdist_is_built_and_tested() {
    let server = index_with_test_tools();
    let ws = flat_project(&module(42, false), &module(42, true));
    std::fs::remove_file(ws.path().join("dist").join(WHEEL)).unwrap();
    let r = tag_push(&server, ws.path(), false, TESTS).run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert!(
        r.stdout.contains(&format!("installed {SDIST} with pip")),
        "{}",
        r.stdout
    );
    assert_eq!(server.served("flatpkg").keys().collect::<Vec<_>>(), [SDIST]);
}

/// A dependency the index does not have: the install error names the file and the index,
/// and nothing is uploaded.
#[test]
fn a_requirement_the_index_lacks_is_an_install_error() {
    let server = index_with_test_tools();
    let ws = flat_project(&module(42, false), &module(42, false));
    let r = tag_push(
        &server,
        ws.path(),
        true,
        &[
            ("INPUT_TEST_COMMAND", "python -m pytest -q tests"),
            ("INPUT_TEST_REQUIREMENTS", "pytest\nno-such-test-tool>=1"),
        ],
    )
    .run(ws.path(), &["run"]);
    assert_stopped(
        &r,
        &server,
        &[
            WHEEL,
            "did not install",
            &server.simple_url(),
            "no-such-test-tool",
        ],
        "preflight-install",
    );
}

/// A `-r` file in `test-requirements` is held to the input's own rules before anything is
/// installed: here a developer file whose `-e .[test]` would install the source tree. The
/// run stops naming the file, the line and what to write instead, and nothing is uploaded.
#[test]
fn a_requirements_file_that_installs_the_source_tree_is_refused_by_line() {
    let server = index_with_test_tools();
    let ws = flat_project(&module(42, false), &module(42, false));
    std::fs::write(
        ws.path().join("requirements-dev.txt"),
        "pytest\n-e .[test]\n",
    )
    .unwrap();
    let r = tag_push(
        &server,
        ws.path(),
        true,
        &[
            ("INPUT_TEST_COMMAND", "python -m pytest -q tests"),
            ("INPUT_TEST_REQUIREMENTS", "-r requirements-dev.txt"),
        ],
    )
    .run(ws.path(), &["run"]);
    assert_stopped(
        &r,
        &server,
        &[
            "requirements-dev.txt` line 2: `-e .[test]`",
            "installs a source tree",
            "put `.[extra]` in `test-requirements`",
        ],
        "preflight-install",
    );
}

/// The pre-flight's own failures each stop the run with nothing uploaded, naming the cause
/// and the fix: no installer on PATH, a scratch folder that cannot be made, a Python that
/// cannot make a virtual environment, a step over `verify-timeout`, and a test that loads
/// the project from the source tree by path.
#[test]
fn pre_flight_failures_of_the_environment_name_the_cause_and_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let server = index_with_test_tools();
    let ws = flat_project(&module(42, false), &module(42, false));
    let scratch = tempfile::tempdir().unwrap();

    // No uv and no python3 anywhere on PATH.
    let empty = scratch.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let r = tag_push(&server, ws.path(), true, TESTS)
        .set("PATH", empty.display().to_string())
        .run(ws.path(), &["run"]);
    assert_stopped(
        &r,
        &server,
        &["could not run `uv or python3`", "Install Python 3 (or uv)"],
        "preflight-install",
    );

    // A RUNNER_TEMP in which no folder can be made, even by root: /proc.
    let r = tag_push(&server, ws.path(), true, TESTS)
        .set("RUNNER_TEMP", "/proc")
        .run(ws.path(), &["run"]);
    assert_stopped(
        &r,
        &server,
        &[
            "could not create a scratch directory in `/proc",
            "Point RUNNER_TEMP",
        ],
        "preflight-install",
    );

    // A python3 (and no uv) whose venv module is missing, as on a bare Debian.
    let fake = scratch.path().join("no-venv");
    std::fs::create_dir(&fake).unwrap();
    let python = fake.join("python3");
    std::fs::write(
        &python,
        "#!/bin/sh\necho 'Error: ensurepip is not available (install python3-venv)' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = tag_push(&server, ws.path(), true, TESTS)
        .set("PATH", format!("{}:/usr/bin:/bin", fake.display()))
        .run(ws.path(), &["run"]);
    assert_stopped(
        &r,
        &server,
        &[
            "creating a virtual environment with",
            "ensurepip is not available",
            "install python3-venv), or set `preflight: false`",
        ],
        "preflight-install",
    );

    // A test that hangs: cut at `verify-timeout`, not left to the job's own limit.
    let t0 = std::time::Instant::now();
    let r = tag_push(
        &server,
        ws.path(),
        true,
        &[
            (
                "INPUT_TEST_COMMAND",
                "python -c \"import time; time.sleep(600)\"",
            ),
            ("INPUT_VERIFY_TIMEOUT", "5s"),
        ],
    )
    .run(ws.path(), &["run"]);
    assert_stopped(
        &r,
        &server,
        &["did not finish within 5 s", "Raise `verify-timeout`"],
        "preflight-install",
    );
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(300),
        "{:?}",
        t0.elapsed()
    );

    // A test that loads the package from its file in the checkout, around any import
    // machinery: it passes, but it tested the source tree.
    std::fs::write(
        ws.path().join("tests/test_answer.py"),
        "import importlib.util, pathlib, sys\n\nspec = importlib.util.spec_from_file_location(\n    \"flatpkg\", pathlib.Path(__file__).parents[1] / \"flatpkg\" / \"__init__.py\"\n)\nflatpkg = importlib.util.module_from_spec(spec)\nsys.modules[\"flatpkg\"] = flatpkg\nspec.loader.exec_module(flatpkg)\n\n\ndef test_answer():\n    assert flatpkg.answer() == 42\n",
    )
    .unwrap();
    let r = tag_push(&server, ws.path(), true, &TESTS[1..]).run(ws.path(), &["run"]);
    assert_stopped(
        &r,
        &server,
        &[
            "imported `flatpkg` from",
            "not from the installed `flatpkg-1.0.0-py3-none-any.whl`",
            "Make the tests import the project by its name",
        ],
        "preflight-not-installed-package",
    );
}

/// Only a wheel for another platform and no sdist: nothing can install on this runner, and
/// the run says so (with what the installer said) before anything is uploaded.
#[test]
fn no_wheel_for_this_runner_and_no_sdist_is_named_with_the_way_out() {
    let server = index_with_test_tools();
    let ws = flat_project(&module(42, false), &module(42, false));
    let dist = ws.path().join("dist");
    // The same wheel, built for Windows on CPython 3.12 only.
    let windows = "flatpkg-1.0.0-cp312-cp312-win_amd64.whl";
    {
        let mut from =
            zip::ZipArchive::new(std::fs::File::open(dist.join(WHEEL)).unwrap()).unwrap();
        let mut to = zip::ZipWriter::new(std::fs::File::create(dist.join(windows)).unwrap());
        let o: zip::write::SimpleFileOptions = Default::default();
        for i in 0..from.len() {
            let mut member = from.by_index(i).unwrap();
            let name = member.name().to_owned();
            let mut data = String::new();
            std::io::Read::read_to_string(&mut member, &mut data).unwrap();
            if name.ends_with(".dist-info/WHEEL") {
                data = data
                    .replace("Tag: py3-none-any", "Tag: cp312-cp312-win_amd64")
                    .replace("Root-Is-Purelib: true", "Root-Is-Purelib: false");
            }
            to.start_file(name, o).unwrap();
            std::io::Write::write_all(&mut to, data.as_bytes()).unwrap();
        }
        to.finish().unwrap();
    }
    std::fs::remove_file(dist.join(WHEEL)).unwrap();
    std::fs::remove_file(dist.join(SDIST)).unwrap();
    let r = tag_push(&server, ws.path(), true, TESTS).run(ws.path(), &["run"]);
    assert_stopped(
        &r,
        &server,
        &[
            &format!("no wheel of {windows} installs on this runner's Python and there is no sdist to build instead"),
            "put the sdist in `packages-dir` too",
        ],
        "preflight-install",
    );
}
