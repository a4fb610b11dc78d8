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
        if let Ok(ini) = rules::entry_points::warehouse_verdict(s.as_bytes()) {
            let _ = rules::entry_points::script_value_problems(&ini);
        }
        let _ = rules::metadata::valid_project_name(&s);
        let _ = rules::filename::valid_platform_tag(&s);
        let _ = rules::description::dedent_legacy(&s);
    }
}

// ---- Archives: valid wheels and sdists built in memory from proptest-chosen members, then
// mutated; the readers, the archive rules and the whole check of one file must not panic.

use std::io::{Cursor, Write};

use crate::fuzzing::{apply, config, edits};

/// Member paths: the ones the readers look for, nested and sibling look-alikes, path
/// traversal, absolute and Windows paths, and names a later mutation can make collide.
fn member_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("pkg-1.0.dist-info/METADATA".to_string()),
        Just("pkg-1.0.dist-info/WHEEL".to_string()),
        Just("pkg-1.0.dist-info/RECORD".to_string()),
        Just("pkg-1.0.dist-info/entry_points.txt".to_string()),
        Just("other-2.0.dist-info/METADATA".to_string()),
        Just("pkg/sub.dist-info/METADATA".to_string()),
        Just("pkg-1.0/PKG-INFO".to_string()),
        Just("pkg-1.0/pyproject.toml".to_string()),
        Just("pkg-1.0/src/pkg.egg-info/PKG-INFO".to_string()),
        Just("./pkg-1.0/PKG-INFO".to_string()),
        Just("PKG-INFO".to_string()),
        Just("pkg/__init__.py".to_string()),
        Just("../../etc/evil".to_string()),
        Just("pkg-1.0/../../evil".to_string()),
        Just("/abs/path".to_string()),
        Just("C:\\win\\path".to_string()),
        Just("dupA.py".to_string()),
        Just("dupB.py".to_string()),
        "[a-zA-Z0-9_./-]{1,20}",
        "[a-z]{90,140}/PKG-INFO",
    ]
}

fn member_data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        metadata_like().prop_map(String::into_bytes),
        Just(b"[console_scripts]\nx = pkg.mod:main\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..64),
        // Large and compressible: deflate ratios, sizes past a buffer.
        (0usize..70_000).prop_map(|n| vec![b'a'; n]),
    ]
}

#[derive(Debug, Clone)]
struct Member {
    path: String,
    data: Vec<u8>,
    /// Zip: stored instead of deflated. Tar: which entry type.
    kind: u8,
    link: String,
}

fn members() -> impl Strategy<Value = Vec<Member>> {
    let link = prop_oneof![
        Just("../../outside".to_string()),
        Just("/etc/passwd".to_string()),
        Just("PKG-INFO".to_string()),
        "[a-z./]{0,12}",
    ];
    proptest::collection::vec(
        (member_path(), member_data(), any::<u8>(), link).prop_map(|(path, data, kind, link)| {
            Member {
                path,
                data,
                kind,
                link,
            }
        }),
        0..6,
    )
}

fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + to.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
}

fn build_zip(members: &[Member]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for m in members {
        let method = if m.kind % 4 == 0 {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(m.kind % 16 == 1);
        // The writer refuses duplicate and some odd names; those members are skipped.
        if w.start_file(m.path.as_str(), opts).is_ok() {
            let _ = w.write_all(&m.data);
        }
    }
    let mut bytes = w.finish().map(Cursor::into_inner).unwrap_or_default();
    // Duplicate members: the writer would refuse them, so rename after the fact.
    replace_all(&mut bytes, b"dupB.py", b"dupA.py");
    bytes
}

fn build_tar(members: &[Member]) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    for m in members {
        let mut h = if m.kind & 1 == 0 {
            tar::Header::new_gnu()
        } else {
            tar::Header::new_ustar()
        };
        h.set_mode(0o644);
        let ty = match m.kind % 7 {
            0 => tar::EntryType::Directory,
            1 => tar::EntryType::Symlink,
            2 => tar::EntryType::Link,
            3 => tar::EntryType::GNUSparse,
            4 => tar::EntryType::XHeader,
            _ => tar::EntryType::Regular,
        };
        h.set_entry_type(ty);
        if matches!(ty, tar::EntryType::Symlink | tar::EntryType::Link) {
            let _ = h.set_link_name(&m.link);
        }
        let data: &[u8] = if ty == tar::EntryType::Regular || ty == tar::EntryType::XHeader {
            &m.data
        } else {
            &[]
        };
        h.set_size(data.len() as u64);
        // `set_path` refuses `..` and absolute paths; write short names raw so archives
        // carrying them (which the rules must flag) are generated too.
        let raw = m.path.as_bytes();
        if raw.len() < 100 && (m.path.contains("..") || m.path.starts_with('/')) {
            h.as_old_mut().name[..raw.len()].copy_from_slice(raw);
            h.set_cksum();
            let _ = t.append(&h, data);
        } else {
            let _ = t.append_data(&mut h, &m.path, data);
        }
    }
    t.into_inner().unwrap_or_default()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Tar header blocks declaring huge or malformed sizes: octal, base-256 and garbage.
fn tar_size_patch(mut tar: Vec<u8>, which: proptest::sample::Index, size: &[u8; 12]) -> Vec<u8> {
    let headers: Vec<usize> = (0..tar.len() / 512)
        .map(|b| b * 512)
        .filter(|&o| tar.get(o + 257..o + 262) == Some(b"ustar"))
        .collect();
    if !headers.is_empty() {
        let o = headers[which.index(headers.len())];
        tar[o + 124..o + 136].copy_from_slice(size);
        // Fix the checksum so the reader gets as far as the size.
        let mut h = tar::Header::new_old();
        h.as_mut_bytes().copy_from_slice(&tar[o..o + 512]);
        h.set_cksum();
        tar[o..o + 512].copy_from_slice(h.as_bytes());
    }
    tar
}

fn size_field() -> impl Strategy<Value = [u8; 12]> {
    prop_oneof![
        Just(*b"77777777777\0"),
        Just(*b"00000000000\0"),
        Just([0x80, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        Just([0xff; 12]),
        any::<[u8; 12]>(),
    ]
}

fn check_wheel_bytes(bytes: &[u8]) {
    let read = super::metadata::wheel_metadata_from(Cursor::new(bytes), Some("pkg-1.0"));
    if let Ok((_, meta)) = read {
        assert!(meta.len() as u64 <= super::metadata::MAX_METADATA_BYTES);
        if let Ok(meta) = parse(&meta) {
            let mut sink = Sink::new(Path::new("x"));
            rules::metadata::check(&meta, &mut sink);
        }
    }
}

fn check_sdist_bytes(bytes: &[u8]) {
    let mut sink = Sink::new(Path::new("x"));
    let (listing, read) = rules::archive::scan_sdist_from(Cursor::new(bytes), &mut sink);
    // One pass (listing and PKG-INFO together) reads what reading PKG-INFO alone reads.
    let alone = super::metadata::sdist_metadata_from(Cursor::new(bytes));
    assert_eq!(
        read.as_ref().map_err(ToString::to_string),
        alone.as_ref().map_err(ToString::to_string)
    );
    if let Ok((_, meta)) = read {
        assert!(meta.len() as u64 <= super::metadata::MAX_METADATA_BYTES);
        if let (Ok(meta), Some(listing)) = (parse(&meta), listing) {
            rules::structure::sdist(&listing, &meta, &mut sink);
        }
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn wheel_archives_never_panic(members in members(), edits in edits(6)) {
        let valid = build_zip(&members);
        check_wheel_bytes(&valid);
        check_wheel_bytes(&apply(valid, &edits));
    }

    #[test]
    fn sdist_archives_never_panic(
        members in members(),
        tar_edits in edits(4),
        gz_edits in edits(3),
        patch in proptest::option::of((any::<proptest::sample::Index>(), size_field())),
    ) {
        let mut tar = build_tar(&members);
        if let Some((which, size)) = patch {
            tar = tar_size_patch(tar, which, &size);
        }
        let valid = gzip(&tar);
        check_sdist_bytes(&valid);
        // Corrupt the tar stream under a valid gzip layer, then the gzip layer itself.
        check_sdist_bytes(&gzip(&apply(tar, &tar_edits)));
        check_sdist_bytes(&apply(valid, &gz_edits));
    }

    /// The re-run comparison reads the published copy downloaded from the index: a valid
    /// archive against a mutated one, both formats, never a panic; an archive is always the
    /// same as itself.
    #[test]
    fn rebuilt_file_comparison_never_panics(
        members in members(),
        zip_edits in edits(6),
        tar_edits in edits(4),
        gz_edits in edits(3),
    ) {
        use super::same::{same_content_bytes, Sameness};
        let zip = build_zip(&members);
        if let Ok(s) = same_content_bytes(&zip, &zip, false) {
            prop_assert_eq!(s, Sameness::Same);
        }
        let _ = same_content_bytes(&zip, &apply(zip.clone(), &zip_edits), false);
        let tar = build_tar(&members);
        let gz = gzip(&tar);
        if let Ok(s) = same_content_bytes(&gz, &gz, true) {
            prop_assert_eq!(s, Sameness::Same);
        }
        let _ = same_content_bytes(&gz, &gzip(&apply(tar, &tar_edits)), true);
        let _ = same_content_bytes(&gz, &apply(gz.clone(), &gz_edits), true);
    }

    #[test]
    fn archive_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        check_wheel_bytes(&bytes);
        check_sdist_bytes(&bytes);
        check_sdist_bytes(&gzip(&bytes));
    }
}

// The whole check of one file (filename, archive rules, metadata, structure rules), as
// `check` runs it. Files are needed here: the zip rules reopen the file by path.
proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn inspecting_one_file_never_panics(
        members in members(),
        edits in edits(3),
        wheel in any::<bool>(),
        name in prop_oneof![
            Just("pkg-1.0".to_string()),
            Just("pkg-1.0-1-py3-none-any".to_string()),
            "[a-zA-Z0-9_.+!-]{0,24}",
        ],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (kind, filename, bytes) = if wheel {
            let n = if name == "pkg-1.0" { "pkg-1.0-py3-none-any".to_string() } else { name };
            (super::DistKind::Wheel, format!("{n}.whl"), build_zip(&members))
        } else {
            (super::DistKind::Sdist, format!("{name}.tar.gz"), gzip(&build_tar(&members)))
        };
        let bytes = apply(bytes, &edits);
        let path = dir.path().join(&filename);
        std::fs::write(&path, &bytes).unwrap();
        let _ = super::discover::inspect(path, filename, kind, bytes.len() as u64);
    }
}
