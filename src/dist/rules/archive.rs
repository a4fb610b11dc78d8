//! Archive-level rules: what is inside a wheel (zip) or an sdist (tar.gz), judged by its
//! listing — compression ratio and methods as warehouse's `_is_valid_dist_file` applies
//! them, duplicate zip members, sparse tar members, and members or links that would land
//! outside the extraction directory.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Component, Path};

use super::ARCHIVE_UNSAFE_PATH;
use super::{Sink, ARCHIVE_COMPRESSION_METHOD, ARCHIVE_COMPRESSION_RATIO};
use super::{ARCHIVE_DUPLICATE_MEMBER, ARCHIVE_SPARSE_MEMBER, ARCHIVE_UNSAFE_LINK};
use crate::dist::metadata::ArchiveError;

/// warehouse `COMPRESSION_RATIO_MIN_SIZE`: archives that unpack to less are never judged.
pub const COMPRESSION_RATIO_MIN_SIZE: u64 = 64 * 1024 * 1024;
/// warehouse `COMPRESSION_RATIO_THRESHOLD`: more than 50× is treated as a zip bomb.
pub const COMPRESSION_RATIO_THRESHOLD: u64 = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberKind {
    File,
    Dir,
    Symlink(String),
    Hardlink(String),
    Sparse,
    Other,
}

/// One archive member as listed (nothing is extracted).
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub size: u64,
    pub kind: MemberKind,
}

/// Everything the rules need to know about an archive's contents.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub members: Vec<Member>,
}

impl Listing {
    pub fn has_file(&self, name: &str) -> bool {
        self.members
            .iter()
            .any(|m| m.name == name && !matches!(m.kind, MemberKind::Dir))
    }
}

/// List a wheel through its central directory and apply the zip rules. `None` when the zip
/// cannot be read (reading the metadata already reported that).
pub fn zip_rules(path: &Path, sink: &mut Sink) -> Option<Listing> {
    let file = File::open(path).ok()?;
    let compressed = file.metadata().ok()?.len();
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).ok()?;
    let mut listing = Listing::default();
    let mut total: u64 = 0;
    let mut bad_methods = Vec::new();
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index_raw(i) else {
            continue;
        };
        let name = entry.name().to_string();
        total = total.saturating_add(entry.size());
        if !matches!(
            entry.compression(),
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
        ) {
            bad_methods.push(format!("`{name}` ({})", entry.compression()));
        }
        let kind = if entry.is_dir() {
            MemberKind::Dir
        } else if entry.is_symlink() {
            MemberKind::Symlink(String::new())
        } else {
            MemberKind::File
        };
        listing.members.push(Member {
            name,
            size: entry.size(),
            kind,
        });
    }
    if total > COMPRESSION_RATIO_MIN_SIZE
        && total > compressed.saturating_mul(COMPRESSION_RATIO_THRESHOLD)
    {
        sink.error(
            ARCHIVE_COMPRESSION_RATIO,
            format!(
                "unpacks to {total} bytes from {compressed} ({}×); PyPI refuses zip files that unpack to more than 64 MiB at a ratio above {COMPRESSION_RATIO_THRESHOLD}× as decompression bombs",
                total / compressed.max(1)
            ),
            "leave large, highly compressible data (test fixtures, generated files) out of the wheel, or ship it compressed",
        );
    }
    if !bad_methods.is_empty() {
        sink.error(
            ARCHIVE_COMPRESSION_METHOD,
            format!(
                "uses a compression method PyPI does not accept (only stored and deflate): {}",
                bad_methods.join(", ")
            ),
            "rebuild the wheel with a standard build backend (`python -m build`), which writes deflate",
        );
    }
    if let Some(declared) = eocd_entry_count(path) {
        if declared as usize != zip.len() {
            let mut seen = std::collections::HashSet::new();
            let dups: Vec<String> = zip_all_names(path)
                .unwrap_or_default()
                .into_iter()
                .filter(|n| !seen.insert(n.clone()))
                .collect();
            sink.error(
                ARCHIVE_DUPLICATE_MEMBER,
                format!(
                    "the zip directory lists {declared} entries but only {} distinct names: duplicated {}; readers disagree on which copy wins, and PyPI refuses such archives",
                    zip.len(),
                    if dups.is_empty() { "members".to_string() } else { dups.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ") }
                ),
                "rebuild the wheel from a clean tree (`rm -rf build/` then `python -m build`); never append to an existing wheel",
            );
        }
    }
    path_rules(&listing, true, sink);
    Some(listing)
}

/// The entry count the end-of-central-directory record declares (`None` for zip64 or if
/// the record cannot be found — the zip reader has judged those already).
fn eocd_entry_count(path: &Path) -> Option<u16> {
    let mut f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let tail = len.min(22 + 65535);
    f.seek(SeekFrom::Start(len - tail)).ok()?;
    let mut buf = Vec::with_capacity(tail as usize);
    f.take(tail).read_to_end(&mut buf).ok()?;
    let pos = buf
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x05, 0x06])?;
    let rec = buf.get(pos..pos + 22)?;
    let total = u16::from_le_bytes([rec[10], rec[11]]);
    (total != 0xffff).then_some(total)
}

/// Every name in the central directory, duplicates included.
fn zip_all_names(path: &Path) -> Option<Vec<String>> {
    let mut f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let tail = len.min(22 + 65535);
    f.seek(SeekFrom::Start(len - tail)).ok()?;
    let mut buf = Vec::new();
    (&mut f).take(tail).read_to_end(&mut buf).ok()?;
    let pos = buf
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x05, 0x06])?;
    let rec = buf.get(pos..pos + 22)?;
    let size = u32::from_le_bytes([rec[12], rec[13], rec[14], rec[15]]) as u64;
    let offset = u32::from_le_bytes([rec[16], rec[17], rec[18], rec[19]]) as u64;
    f.seek(SeekFrom::Start(offset)).ok()?;
    let mut cd = Vec::new();
    f.take(size.min(64 * 1024 * 1024))
        .read_to_end(&mut cd)
        .ok()?;
    let mut names = Vec::new();
    let mut i = 0usize;
    while cd.get(i..i + 4) == Some(&[0x50, 0x4b, 0x01, 0x02]) {
        let h = cd.get(i..i + 46)?;
        let n = u16::from_le_bytes([h[28], h[29]]) as usize;
        let m = u16::from_le_bytes([h[30], h[31]]) as usize;
        let k = u16::from_le_bytes([h[32], h[33]]) as usize;
        names.push(String::from_utf8_lossy(cd.get(i + 46..i + 46 + n)?).into_owned());
        i += 46 + n + m + k;
    }
    Some(names)
}

/// An sdist's listing, with the tar rules applied (`None` when the archive cannot be read),
/// and its `PKG-INFO`: one pass over the tar.gz gives both.
pub type SdistScan = (
    Option<Listing>,
    Result<(String, Vec<u8>), crate::dist::metadata::ArchiveError>,
);

/// [`scan_sdist_from`] on a file.
pub fn scan_sdist(path: &Path, sink: &mut Sink) -> SdistScan {
    match File::open(path) {
        Ok(file) => scan_sdist_from(BufReader::new(file), sink),
        Err(e) => (None, Err(ArchiveError::Io(e))),
    }
}

/// List an sdist from any reader of tar.gz bytes, apply the tar rules, and find its
/// `PKG-INFO` on the way.
pub fn scan_sdist_from(reader: impl Read, sink: &mut Sink) -> SdistScan {
    let mut listing = Listing::default();
    let mut sparse = Vec::new();
    let mut pkg_info = crate::dist::metadata::PkgInfoFinder::default();
    let walked = crate::dist::metadata::walk_tar_gz(reader, |entry| {
        // First, so a member it cannot read is its error (as when read alone), not ours.
        pkg_info.visit(entry);
        let name = entry
            .path()
            .map_err(|e| ArchiveError::Corrupt(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let link = || {
            entry
                .link_name()
                .ok()
                .flatten()
                .map(|l| l.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let kind = match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => MemberKind::File,
            tar::EntryType::Directory => MemberKind::Dir,
            tar::EntryType::Symlink => MemberKind::Symlink(link()),
            tar::EntryType::Link => MemberKind::Hardlink(link()),
            tar::EntryType::GNUSparse => MemberKind::Sparse,
            _ => MemberKind::Other,
        };
        if kind == MemberKind::Sparse {
            sparse.push(format!("`{name}`"));
        }
        listing.members.push(Member {
            name,
            size: entry.size(),
            kind,
        });
        Ok(())
    });
    // An unreadable archive has no listing; reading the metadata reports why.
    let listing = walked
        .is_ok()
        .then(|| tar_listing_rules(listing, sparse, sink));
    (listing, pkg_info.finish(walked))
}

fn tar_listing_rules(listing: Listing, sparse: Vec<String>, sink: &mut Sink) -> Listing {
    if !sparse.is_empty() {
        sink.error(
            ARCHIVE_SPARSE_MEMBER,
            format!(
                "holds sparse tar member(s) {}; PyPI refuses the upload (\"tar archive not accepted: Sparse members are not allowed\")",
                sparse.join(", ")
            ),
            "build the sdist with `python -m build` (Python's tarfile never writes sparse members), not with GNU tar's --sparse",
        );
    }
    path_rules(&listing, false, sink);
    listing
}

/// Normalised components of an archive path, or `None` if it climbs out (`..` past the
/// root) or is absolute.
fn resolve(base: &[String], rel: &str) -> Option<Vec<String>> {
    let rel = rel.replace('\\', "/");
    if rel.starts_with('/') || Path::new(&rel).has_root() || rel.get(1..2) == Some(":") {
        return None;
    }
    let mut out = base.to_vec();
    for c in Path::new(&rel).components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                out.pop()?;
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// A member name that is absolute (`/x`, `C:/x`, `\\x`) or has a `..` component anywhere.
/// Build backends never write either; the sdist specification calls both invalid, and an
/// extractor that trusts them writes outside its target directory.
fn unsafe_name(name: &str) -> bool {
    let n = name.replace('\\', "/");
    resolve(&[], &n).is_none() || n.split('/').any(|c| c == "..")
}

/// Members with absolute paths or `..`, symlinks in wheels, and links in sdists that point
/// outside the tree: all errors.
fn path_rules(listing: &Listing, wheel: bool, sink: &mut Sink) {
    let mut unsafe_paths = Vec::new();
    let mut unsafe_links = Vec::new();
    for m in &listing.members {
        if unsafe_name(&m.name) {
            unsafe_paths.push(format!("`{}`", m.name));
            continue;
        }
        let parts = resolve(&[], &m.name).unwrap_or_default();
        match &m.kind {
            // A wheel is a zip: installers (pip, uv) write a symlink member as a regular
            // file holding the link's text, so the installed package is broken, whatever
            // the link points at.
            MemberKind::Symlink(target) if wheel => {
                let target = if target.is_empty() {
                    String::new()
                } else {
                    format!(" → `{target}`")
                };
                unsafe_links.push(format!("`{}`{target} (a symlink in a wheel)", m.name));
            }
            // In an sdist, links inside the tree are allowed (the data filter extracts
            // them); a link out of it is what the specification forbids.
            MemberKind::Symlink(target) => {
                let dir = &parts[..parts.len().saturating_sub(1)];
                if target.is_empty() || resolve(dir, target).is_none() {
                    unsafe_links.push(format!("`{}` → `{target}`", m.name));
                }
            }
            MemberKind::Hardlink(target) if resolve(&[], target).is_none() => {
                unsafe_links.push(format!("`{}` → `{target}`", m.name));
            }
            _ => {}
        }
    }
    if !unsafe_paths.is_empty() {
        sink.error(
            ARCHIVE_UNSAFE_PATH,
            format!(
                "member path(s) absolute or with a `..` component: {}; extracting them writes outside the target directory (pip: \"has a file … trying to install outside the target directory\")",
                unsafe_paths.join(", ")
            ),
            "build the archive with `python -m build` from the project directory; never add files by absolute path or with `..`",
        );
    }
    if !unsafe_links.is_empty() {
        sink.error(
            ARCHIVE_UNSAFE_LINK,
            if wheel {
                format!(
                    "symbolic link member(s) {}: wheels cannot carry links — pip and uv install each as a plain file holding the link text",
                    unsafe_links.join(", ")
                )
            } else {
                format!(
                    "link(s) pointing outside the extracted tree: {}; the sdist specification forbids them and pip refuses to unpack them (\"Invalid member in the tar file\")",
                    unsafe_links.join(", ")
                )
            },
            "replace the link with the file it points to (copy it into the package, or let the build backend include the real file), and rebuild",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_with_dotdot_anywhere_or_a_root_are_unsafe() {
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../b",
            "a/..",
            "C:/x",
            "\\\\srv\\x",
            "a\\..\\b",
        ] {
            assert!(unsafe_name(bad), "{bad}");
        }
        for ok in ["a/b", "./a", "a/.b", "a..b/c", "pkg-1.0.dist-info/METADATA"] {
            assert!(!unsafe_name(ok), "{ok}");
        }
    }

    #[test]
    fn resolve_keeps_inside_paths_and_rejects_escapes() {
        assert_eq!(resolve(&[], "a/./b").unwrap(), ["a", "b"]);
        assert_eq!(resolve(&["a".into()], "../b").unwrap(), ["b"]);
        assert!(resolve(&[], "../x").is_none());
        assert!(resolve(&[], "/etc/passwd").is_none());
        assert!(resolve(&[], "a/../../x").is_none());
        assert!(resolve(&[], "C:/x").is_none());
    }
}
