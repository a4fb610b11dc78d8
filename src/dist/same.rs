//! Do two distribution archives hold the same files? Byte-identical archives are rare across
//! builds: setuptools writes build times into sdist members and the gzip header, and a fresh
//! checkout gives every file a new mtime. A re-run of a release job rebuilds, so its archives
//! differ from the published ones while their contents are the same. This module compares
//! what an installer would see — member paths, types, contents, the executable bit — and
//! ignores timestamps, owners, compression and member order.
//!
//! Each member is hashed while it streams, so memory stays flat whatever the archive size:
//! what is kept is one small record per member of the local file (the published copy is
//! compared member by member as it is read), and both are refused past
//! [`MAX_MEMBERS`](super::metadata::MAX_MEMBERS) members.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::metadata::ArchiveError;

/// More than this much decompressed data in one archive is not a distribution we compare.
const MAX_TOTAL_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// The outcome of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sameness {
    Same,
    /// The first difference found, for the error message.
    Differ(String),
}

/// An archive that could not be read, named: the messages of [`ArchiveError`] read after
/// their subject.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("the local file `{}` {source}", path.display())]
    Local {
        path: PathBuf,
        #[source]
        source: ArchiveError,
    },
    /// The published copy is a temporary download: its path would tell the reader nothing.
    #[error("the published copy {source}")]
    Published {
        #[source]
        source: ArchiveError,
    },
}

/// What one member is, as an installer would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    kind: &'static str,
    executable: bool,
    /// sha256 of the contents (files) or of the link target (links).
    digest: [u8; 32],
    size: u64,
}

/// Visit each member as it is read; `Break` stops early.
type Visit<'a> = dyn FnMut(String, Member) -> Result<ControlFlow<()>, ArchiveError> + 'a;

/// The most bytes worth hashing of a member, by name: past it, the member cannot be the one
/// it is compared with (its digest is then [`TOO_LONG`]).
type Limit<'a> = dyn Fn(&str) -> u64 + 'a;

/// The digest of a member read only as far as its limit.
const TOO_LONG: [u8; 32] = [0xff; 32];

/// Compare the local archive with the published copy, both of the same format; `local`'s
/// name says which (`.tar.gz`/`.tgz`, else zip), since `published` is a temporary download
/// with no telling name.
pub fn same_content(local: &Path, published: &Path) -> Result<Sameness, CompareError> {
    let name = local
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let tar = name.ends_with(".tar.gz") || name.ends_with(".tgz");
    let open = |path: &Path| -> Result<BufReader<File>, ArchiveError> {
        if !tar {
            super::metadata::check_zip_members(path)?;
        }
        Ok(BufReader::new(File::open(path).map_err(ArchiveError::Io)?))
    };
    let left = open(local)
        .and_then(|r| members(r, tar))
        .map_err(|source| CompareError::Local {
            path: local.to_path_buf(),
            source,
        })?;
    open(published)
        .and_then(|r| compare_with(left, r, tar))
        .map_err(|source| CompareError::Published { source })
}

/// The local file's members, by path (a path seen twice is an error).
fn members(
    reader: impl Read + io::Seek,
    tar: bool,
) -> Result<BTreeMap<String, Member>, ArchiveError> {
    let mut out = BTreeMap::new();
    each_member(reader, tar, &|_| u64::MAX, &mut |name, member| {
        if out.insert(name.clone(), member).is_some() {
            return Err(ArchiveError::Corrupt(format!("`{name}` appears twice")));
        }
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(out)
}

/// Read the published copy member by member against the local file's members: the first
/// difference ends it, and no member is hashed past its local counterpart's size (a copy
/// that unpacks to gigabytes costs no more than the local file did).
fn compare_with(
    left: BTreeMap<String, Member>,
    reader: impl Read + io::Seek,
    tar: bool,
) -> Result<Sameness, ArchiveError> {
    let left = std::cell::RefCell::new(left);
    let limit = |name: &str| left.borrow().get(name).map_or(0, |m| m.size);
    let mut verdict = Sameness::Same;
    each_member(reader, tar, &limit, &mut |path, r| {
        let differ = match left.borrow_mut().remove(&path) {
            // Not in the local file, or a second copy in the published one.
            None => format!("`{path}` is only in the published file"),
            Some(l) if r.kind != l.kind => {
                format!("`{path}` is a {} here, a {} there", l.kind, r.kind)
            }
            // Cut at its limit, the published member is longer than what was read of it.
            Some(l) if r.digest == TOO_LONG => format!(
                "`{path}` has other contents ({} bytes here, more than {} there)",
                l.size, l.size
            ),
            Some(l) if r.digest != l.digest => format!(
                "`{path}` has other contents ({} bytes here, {} there)",
                l.size, r.size
            ),
            Some(l) if r.executable != l.executable => {
                format!("`{path}` differs in its executable bit")
            }
            Some(_) => return Ok(ControlFlow::Continue(())),
        };
        verdict = Sameness::Differ(differ);
        Ok(ControlFlow::Break(()))
    })?;
    if verdict == Sameness::Same {
        if let Some(path) = left.borrow().keys().next() {
            verdict = Sameness::Differ(format!("`{path}` is only in the local file"));
        }
    }
    Ok(verdict)
}

fn each_member(
    reader: impl Read + io::Seek,
    tar: bool,
    limit: &Limit<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), ArchiveError> {
    if tar {
        tar_members(reader, limit, visit)
    } else {
        zip_members(reader, limit, visit)
    }
}

/// [`same_content`] over in-memory archives (the property tests feed it mutated bytes).
#[cfg(test)]
pub(crate) fn same_content_bytes(a: &[u8], b: &[u8], tar: bool) -> Result<Sameness, ArchiveError> {
    if !tar {
        super::metadata::zip_members_within(a)?;
        super::metadata::zip_members_within(b)?;
    }
    let left = members(io::Cursor::new(a), tar)?;
    compare_with(left, io::Cursor::new(b), tar)
}

/// Hash a member's bytes as they stream, counting them against the archive's budget; past
/// `limit` bytes it stops, with [`TOO_LONG`] for a digest.
fn digest(
    mut reader: impl Read,
    budget: &mut u64,
    member: &str,
    limit: u64,
) -> Result<([u8; 32], u64), ArchiveError> {
    let mut hasher = Sha256::new();
    let mut buf = [0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        if size > limit {
            *budget = budget.saturating_sub(size);
            return Ok((TOO_LONG, size));
        }
        let n = reader
            .read(&mut buf)
            .map_err(|e| ArchiveError::Corrupt(format!("cannot read `{member}`: {e}")))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > *budget {
            // Not `TooLarge`: that one speaks of a metadata file's limit.
            return Err(ArchiveError::Corrupt(format!(
                "unpacks to more than {} GiB (at `{member}`), which no real distribution does; the archive is likely broken or malicious",
                MAX_TOTAL_BYTES >> 30
            )));
        }
        hasher.update(&buf[..n]);
    }
    *budget -= size;
    Ok((hasher.finalize().into(), size))
}

fn zip_members(
    reader: impl Read + io::Seek,
    limit: &Limit<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), ArchiveError> {
    let mut zip = zip::ZipArchive::new(reader)
        .map_err(|e| ArchiveError::Corrupt(format!("is not a readable zip archive: {e}")))?;
    let mut budget = MAX_TOTAL_BYTES;
    for i in 0..zip.len() {
        let entry = zip
            .by_index(i)
            .map_err(|e| ArchiveError::Corrupt(format!("member {i}: {e}")))?;
        let name = entry.name().to_owned();
        let member = if entry.is_dir() {
            dir_member()
        } else {
            let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
            file_member(entry, executable, &mut budget, &name, limit)?
        };
        if visit(name, member)?.is_break() {
            break;
        }
    }
    Ok(())
}

fn tar_members(
    reader: impl Read,
    limit: &Limit<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), ArchiveError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let entries = archive
        .entries()
        .map_err(|e| ArchiveError::Corrupt(format!("is not a readable tar.gz archive: {e}")))?;
    let mut budget = MAX_TOTAL_BYTES;
    for (seen, entry) in entries.enumerate() {
        if seen as u64 >= super::metadata::MAX_MEMBERS {
            return Err(ArchiveError::TooManyMembers {
                found: seen as u64 + 1,
            });
        }
        let entry = entry.map_err(|e| ArchiveError::Corrupt(format!("bad tar member: {e}")))?;
        let name = entry
            .path()
            .map_err(|e| ArchiveError::Corrupt(format!("bad member path: {e}")))?
            .to_string_lossy()
            .trim_end_matches('/')
            .to_owned();
        let header = entry.header();
        let executable = header.mode().is_ok_and(|m| m & 0o111 != 0);
        let member = match header.entry_type() {
            tar::EntryType::Directory => dir_member(),
            t if t.is_symlink() || t.is_hard_link() => {
                let target = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|l| l.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Member {
                    kind: "link",
                    executable: false,
                    digest: Sha256::digest(target.as_bytes()).into(),
                    size: 0,
                }
            }
            // pax/GNU headers describe the next member; the tar crate folds them in.
            t if t.is_pax_global_extensions() || t.is_pax_local_extensions() => continue,
            _ => file_member(entry, executable, &mut budget, &name, limit)?,
        };
        if visit(name, member)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// A regular file's member: its contents' digest, read no further than its limit.
fn file_member(
    reader: impl Read,
    executable: bool,
    budget: &mut u64,
    name: &str,
    limit: &Limit<'_>,
) -> Result<Member, ArchiveError> {
    let (digest, size) = digest(reader, budget, name, limit(name))?;
    Ok(Member {
        kind: "file",
        executable,
        digest,
        size,
    })
}

/// Directories carry no contents; their permission bits vary with the builder's umask.
fn dir_member() -> Member {
    Member {
        kind: "directory",
        executable: false,
        digest: [0; 32],
        size: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tar_gz(path: &Path, members: &[(&str, &[u8], u32)], mtime: u64, gzip_mtime: u32) {
        let file = File::create(path).unwrap();
        let gz = flate2::GzBuilder::new()
            .mtime(gzip_mtime)
            .write(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (name, data, mode) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(*mode);
            h.set_mtime(mtime);
            h.set_cksum();
            tar.append_data(&mut h, name, *data).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
    }

    fn zip(path: &Path, members: &[(&str, &[u8])], level: Option<i64>, year: u16) {
        let mut z = zip::ZipWriter::new(File::create(path).unwrap());
        for (name, data) in members {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_level(level)
                .last_modified_time(
                    zip::DateTime::from_date_and_time(year, 1, 1, 0, 0, 0).unwrap(),
                );
            z.start_file(*name, opts).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }

    #[test]
    fn sdists_differing_only_in_times_and_order_are_the_same() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a.tar.gz"), d.path().join("b.tar.gz"));
        tar_gz(
            &a,
            &[
                ("p-1/PKG-INFO", b"Name: p", 0o644),
                ("p-1/run.sh", b"#!", 0o755),
            ],
            1,
            1,
        );
        tar_gz(
            &b,
            &[
                ("p-1/run.sh", b"#!", 0o755),
                ("p-1/PKG-INFO", b"Name: p", 0o644),
            ],
            9,
            9,
        );
        assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        assert_eq!(same_content(&a, &b).unwrap(), Sameness::Same);
    }

    #[test]
    fn sdists_with_other_contents_names_or_modes_differ() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.tar.gz");
        tar_gz(
            &a,
            &[
                ("p-1/PKG-INFO", b"Name: p", 0o644),
                ("p-1/run.sh", b"#!", 0o755),
            ],
            1,
            1,
        );
        for (members, why) in [
            (
                vec![
                    ("p-1/PKG-INFO", &b"Name: q"[..], 0o644),
                    ("p-1/run.sh", b"#!", 0o755),
                ],
                "`p-1/PKG-INFO` has other contents",
            ),
            (
                vec![("p-1/PKG-INFO", &b"Name: p"[..], 0o644)],
                "`p-1/run.sh` is only in the local file",
            ),
            (
                vec![
                    ("p-1/PKG-INFO", &b"Name: p"[..], 0o644),
                    ("p-1/run.sh", b"#!", 0o755),
                    ("p-1/extra", b"", 0o644),
                ],
                "`p-1/extra` is only in the published file",
            ),
            (
                vec![
                    ("p-1/PKG-INFO", &b"Name: p"[..], 0o644),
                    ("p-1/run.sh", b"#!", 0o644),
                ],
                "`p-1/run.sh` differs in its executable bit",
            ),
        ] {
            let b = d.path().join("b.tar.gz");
            tar_gz(&b, &members, 1, 1);
            match same_content(&a, &b).unwrap() {
                Sameness::Differ(m) => assert!(m.starts_with(why), "{m}"),
                Sameness::Same => panic!("{why}: found the same"),
            }
        }
    }

    #[test]
    fn wheels_differing_in_times_and_compression_are_the_same() {
        let d = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            d.path().join("a.whl"),
            d.path().join("b.whl"),
            d.path().join("c.whl"),
        );
        let members: &[(&str, &[u8])] = &[
            ("p/__init__.py", b"x = 1\n"),
            ("p-1.dist-info/RECORD", b"r"),
        ];
        zip(&a, members, Some(1), 1990);
        zip(&b, members, Some(9), 2030);
        assert_eq!(same_content(&a, &b).unwrap(), Sameness::Same);
        zip(
            &c,
            &[
                ("p/__init__.py", b"x = 2\n"),
                ("p-1.dist-info/RECORD", b"r"),
            ],
            Some(1),
            1990,
        );
        assert!(
            matches!(same_content(&a, &c).unwrap(), Sameness::Differ(m) if m.contains("p/__init__.py"))
        );
    }

    #[test]
    fn a_published_member_is_hashed_no_further_than_the_local_one() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a.whl"), d.path().join("b.whl"));
        zip(&a, &[("p/data", b"small")], Some(9), 2000);
        // 256 MiB of zeros deflate to a quarter of a megabyte.
        let bomb = vec![0u8; 256 << 20];
        zip(&b, &[("p/data", &bomb)], Some(9), 2000);
        drop(bomb);
        // "More than 5": reading stopped at the local member's size (a digest of the whole
        // member would give its real size instead).
        match same_content(&a, &b).unwrap() {
            Sameness::Differ(m) => assert_eq!(
                m,
                "`p/data` has other contents (5 bytes here, more than 5 there)"
            ),
            Sameness::Same => panic!("a bomb is not the same"),
        }
    }

    #[test]
    fn broken_archives_are_errors_not_sameness() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a.whl"), d.path().join("b.tar.gz"));
        std::fs::write(&a, b"not a zip").unwrap();
        std::fs::write(&b, b"\x1f\x8bnot gzip").unwrap();
        let good = d.path().join("good.whl");
        zip(&good, &[("p/__init__.py", b"")], None, 2000);
        let e = same_content(&a, &good).unwrap_err();
        let text = e.to_string().replace(&a.display().to_string(), "A");
        assert!(
            text.starts_with("the local file `A` is not a readable zip archive:"),
            "{text}"
        );
        let e = same_content(&good, &a).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("the published copy is not a readable zip archive:"),
            "{e}"
        );
        assert!(matches!(
            same_content(&b, &b),
            Err(CompareError::Local { .. })
        ));
    }
}
