//! Core metadata: reading `METADATA` / `PKG-INFO` out of an archive and parsing its
//! RFC 822-style text.
//!
//! Archives are read without loading them: a wheel through its zip central directory, an
//! sdist as a streaming tar. The metadata file itself is capped at [`MAX_METADATA_BYTES`]
//! so a decompression bomb cannot take the runner's memory.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Component, Path};
use std::rc::Rc;

/// Generous (real metadata with a long README is a few hundred KiB) but bounded.
pub const MAX_METADATA_BYTES: u64 = 10 * 1024 * 1024;

/// The most members a distribution may have: as many as a zip holds without its zip64
/// extensions (older Pythons' zipimport cannot read more). Reading a zip's directory costs
/// ~600 bytes of memory per member (the `zip` crate keeps them all), and checking a wheel
/// keeps a listing beside it, so this bounds a run's peak memory at ~60 MB
/// (`bench/memory.py`).
pub const MAX_MEMBERS: u64 = 65_535;

/// Fields every distribution must declare (core metadata spec).
pub const REQUIRED_FIELDS: [&str; 3] = ["Metadata-Version", "Name", "Version"];

/// Parsed core metadata: every header in file order, plus the body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoreMetadata {
    pub metadata_version: String,
    pub name: String,
    pub version: String,
    /// Every header field in file order; multi-use fields (Classifier, Requires-Dist,
    /// Project-URL, ...) repeated; names as written.
    pub fields: Vec<(String, String)>,
    /// The message body (the long description in metadata >= 2.1), if non-empty.
    pub body: Option<String>,
}

impl CoreMetadata {
    /// First value of a field; names compare case-insensitively as in RFC 822.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a (multi-use) field, in file order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The long description: the body, else the (pre-2.1) `Description` header.
    pub fn description(&self) -> Option<&str> {
        self.body.as_deref().or_else(|| self.get("Description"))
    }

    /// Required fields that are absent or blank.
    pub fn missing_required(&self) -> Vec<&'static str> {
        REQUIRED_FIELDS
            .iter()
            .copied()
            .filter(|f| self.get(f).is_none_or(|v| v.trim().is_empty()))
            .collect()
    }
}

/// Why metadata text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("is not valid UTF-8 (first bad byte at offset {offset}); core metadata must be UTF-8 — rebuild with a current build backend")]
    NotUtf8 { offset: usize },
    #[error(
        "line {line} is neither a `Field: value` header nor an indented continuation: `{text}`"
    )]
    MalformedLine { line: usize, text: String },
}

/// Parse RFC 822-style core metadata. Headers end at the first blank line; the rest is the
/// body. A continuation line (leading space or tab) is appended to the previous value after
/// a newline, keeping its indentation — what Python's `email` parser (and so twine) does, so
/// a multi-line pre-2.1 `Description` header survives intact.
pub fn parse(bytes: &[u8]) -> Result<CoreMetadata, ParseError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    let mut fields: Vec<(String, String)> = Vec::new();
    let mut body = None;
    let mut rest = text;
    let mut line_no = 0usize;
    while !rest.is_empty() {
        let (raw_line, next) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        line_no += 1;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if line.is_empty() {
            body = Some(next);
            break;
        }
        rest = next;
        if line.starts_with([' ', '\t']) {
            match fields.last_mut() {
                Some((_, value)) => {
                    value.push('\n');
                    value.push_str(line);
                }
                None => {
                    return Err(ParseError::MalformedLine {
                        line: line_no,
                        text: truncate(line),
                    })
                }
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ParseError::MalformedLine {
                line: line_no,
                text: truncate(line),
            });
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_graphic() && c != ':') {
            return Err(ParseError::MalformedLine {
                line: line_no,
                text: truncate(line),
            });
        }
        fields.push((name.to_string(), value.trim_start().to_string()));
    }
    // Trailing whitespace on a header value is not significant.
    for (_, v) in &mut fields {
        let trimmed = v.trim_end().len();
        v.truncate(trimmed);
    }
    let body = body.filter(|b| !b.trim().is_empty()).map(str::to_string);
    let mut meta = CoreMetadata {
        fields,
        body,
        ..CoreMetadata::default()
    };
    meta.metadata_version = meta.get("Metadata-Version").unwrap_or_default().to_string();
    meta.name = meta.get("Name").unwrap_or_default().to_string();
    meta.version = meta.get("Version").unwrap_or_default().to_string();
    Ok(meta)
}

fn truncate(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Why the metadata file could not be taken out of an archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot open: {0}")]
    Io(#[source] io::Error),
    #[error("{0}")]
    Corrupt(String),
    #[error("contains no `{expected}`")]
    NotFound { expected: &'static str },
    #[error("contains more than one `{expected}`: {}", .candidates.join(", "))]
    Ambiguous {
        expected: &'static str,
        candidates: Vec<String>,
    },
    #[error("has more than {} members ({found} found); no distribution has that many, and reading its directory would take more memory than a runner should give it, so the archive is likely broken or malicious", MAX_MEMBERS)]
    TooManyMembers { found: u64 },
    #[error("`{member}` is larger than {} MiB; real metadata is far smaller, so the archive is likely broken or malicious", MAX_METADATA_BYTES / 1024 / 1024)]
    TooLarge { member: String },
    #[error("has tar header records (long names, PAX data) larger than {} MiB; real ones are a few hundred bytes, so the archive is likely broken or malicious", MAX_TAR_HEADER_BYTES / 1024 / 1024)]
    HeaderTooLarge,
}

/// Refuse a zip with more than [`MAX_MEMBERS`] members before anything reads its
/// directory. Every entry a zip reader can take from the directory starts with the
/// central-header signature, wherever the (possibly lying, possibly several) end records
/// point, so counting the signatures in the whole file bounds them all; a stray match in
/// compressed data only counts one too many. One pass, a few hundred MB/s.
pub fn check_zip_members(path: &Path) -> Result<(), ArchiveError> {
    let file = File::open(path).map_err(ArchiveError::Io)?;
    zip_members_within(file)
}

/// [`check_zip_members`] over any reader of zip bytes.
pub fn zip_members_within(mut reader: impl Read) -> Result<(), ArchiveError> {
    const SIG: &[u8; 4] = b"PK\x01\x02";
    let finder = memchr::memmem::Finder::new(SIG);
    let mut buf = vec![0u8; 1024 * 1024];
    // The last bytes of the previous read, so a signature split between reads is seen.
    let mut carry = 0usize;
    let mut found = 0u64;
    loop {
        let n = match reader.read(&mut buf[carry..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ArchiveError::Io(e)),
        };
        let end = carry + n;
        found += finder.find_iter(&buf[..end]).count() as u64;
        if found > MAX_MEMBERS {
            return Err(ArchiveError::TooManyMembers { found });
        }
        // Keep the last 3 bytes: a signature cannot lie wholly within them (it was counted).
        let keep = end.min(SIG.len() - 1);
        buf.copy_within(end - keep..end, 0);
        carry = keep;
    }
    Ok(())
}

/// Read at most [`MAX_METADATA_BYTES`]; more means [`ArchiveError::TooLarge`].
fn read_capped(reader: impl Read, member: &str) -> Result<Vec<u8>, ArchiveError> {
    let mut buf = Vec::new();
    reader
        .take(MAX_METADATA_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ArchiveError::Corrupt(format!("cannot decompress `{member}`: {e}")))?;
    if buf.len() as u64 > MAX_METADATA_BYTES {
        return Err(ArchiveError::TooLarge {
            member: member.to_string(),
        });
    }
    Ok(buf)
}

/// The single top-level `*.dist-info/METADATA` of a wheel. If a wheel carries several
/// `.dist-info` directories (vendoring gone wrong), `preferred_prefix` — the escaped
/// `{name}-{version}` from its filename — picks the right one, as installers do.
/// Returns the member name and its bytes.
pub fn read_wheel_metadata(
    path: &Path,
    preferred_prefix: Option<&str>,
) -> Result<(String, Vec<u8>), ArchiveError> {
    let file = File::open(path).map_err(ArchiveError::Io)?;
    wheel_metadata_from(BufReader::new(file), preferred_prefix)
}

/// [`read_wheel_metadata`] over any seekable reader (the property tests use memory).
pub fn wheel_metadata_from<R: Read + Seek>(
    reader: R,
    preferred_prefix: Option<&str>,
) -> Result<(String, Vec<u8>), ArchiveError> {
    const EXPECTED: &str = "{name}-{version}.dist-info/METADATA";
    let mut zip = zip::ZipArchive::new(reader)
        .map_err(|e| ArchiveError::Corrupt(format!("is not a readable zip archive: {e}")))?;
    let candidates: Vec<String> = zip
        .file_names()
        .filter(|n| {
            n.strip_suffix(".dist-info/METADATA")
                .is_some_and(|dir| !dir.is_empty() && !dir.contains('/'))
        })
        .map(str::to_string)
        .collect();
    let member = match candidates.as_slice() {
        [] => return Err(ArchiveError::NotFound { expected: EXPECTED }),
        [one] => one.clone(),
        many => {
            let want = preferred_prefix.map(|p| format!("{p}.dist-info/METADATA"));
            match many.iter().find(|c| Some(c.as_str()) == want.as_deref()) {
                Some(c) => c.clone(),
                None => {
                    return Err(ArchiveError::Ambiguous {
                        expected: EXPECTED,
                        candidates: candidates.clone(),
                    })
                }
            }
        }
    };
    let entry = zip
        .by_name(&member)
        .map_err(|e| ArchiveError::Corrupt(format!("cannot read `{member}`: {e}")))?;
    if entry.size() > MAX_METADATA_BYTES {
        return Err(ArchiveError::TooLarge { member });
    }
    let bytes = read_capped(entry, &member)?;
    Ok((member, bytes))
}

/// `{top}/PKG-INFO` of an sdist, streaming through the whole tar.gz once: metadata is read
/// where it lies, and reading to the end (gzip trailer included) is what catches a
/// truncated upload artifact before the index does.
pub fn read_sdist_metadata(path: &Path) -> Result<(String, Vec<u8>), ArchiveError> {
    let file = File::open(path).map_err(ArchiveError::Io)?;
    sdist_metadata_from(BufReader::new(file))
}

/// [`read_sdist_metadata`] over any reader of tar.gz bytes.
pub fn sdist_metadata_from(reader: impl Read) -> Result<(String, Vec<u8>), ArchiveError> {
    let mut finder = PkgInfoFinder::default();
    let walked = walk_tar_gz(reader, |entry| {
        finder.visit(entry);
        Ok(())
    });
    finder.finish(walked)
}

/// Finds `{top}/PKG-INFO` among an sdist's members as a walk hands them out, so `check`
/// lists an sdist and reads its metadata in one pass over the tar.gz, not two.
#[derive(Default)]
pub(crate) struct PkgInfoFinder {
    found: Vec<(String, Vec<u8>)>,
    /// The first failure; later members are not looked at.
    failed: Option<ArchiveError>,
}

impl PkgInfoFinder {
    pub(crate) fn visit<R: Read>(&mut self, entry: &mut TarEntry<'_, R>) {
        if self.failed.is_none() {
            if let Err(e) = self.look(entry) {
                self.failed = Some(e);
            }
        }
    }

    fn look<R: Read>(&mut self, entry: &mut TarEntry<'_, R>) -> Result<(), ArchiveError> {
        let entry_path = entry.path().map_err(tar_corrupt)?.into_owned();
        let parts: Vec<&std::ffi::OsStr> = entry_path
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s),
                _ => None,
            })
            .collect();
        let is_pkg_info = matches!(parts.as_slice(), [_, f] if *f == "PKG-INFO")
            && entry.header().entry_type().is_file();
        if is_pkg_info {
            let name = entry_path.to_string_lossy().into_owned();
            if entry.size() > MAX_METADATA_BYTES {
                return Err(ArchiveError::TooLarge { member: name });
            }
            // Keep at most two: enough to report ambiguity without buffering an archive's worth.
            if self.found.len() < 2 {
                let bytes = read_capped(entry, &name)?;
                self.found.push((name, bytes));
            } else {
                self.found.push((name, Vec::new()));
            }
        }
        Ok(())
    }

    /// The verdict, given how the walk ended (its member count, or why it stopped).
    pub(crate) fn finish(
        mut self,
        walked: Result<usize, ArchiveError>,
    ) -> Result<(String, Vec<u8>), ArchiveError> {
        const EXPECTED: &str = "{name}-{version}/PKG-INFO";
        if let Some(e) = self.failed {
            return Err(e);
        }
        if walked? == 0 {
            return Err(ArchiveError::Corrupt(
                "is an empty tar archive (no members)".to_string(),
            ));
        }
        match self.found.len() {
            0 => Err(ArchiveError::NotFound { expected: EXPECTED }),
            1 => Ok(self.found.remove(0)),
            _ => Err(ArchiveError::Ambiguous {
                expected: EXPECTED,
                candidates: self.found.into_iter().map(|(n, _)| n).collect(),
            }),
        }
    }
}

fn tar_corrupt(e: io::Error) -> ArchiveError {
    ArchiveError::Corrupt(format!("is not a readable tar.gz: {e}"))
}

/// How many decompressed bytes the tar reader may consume between two members: header
/// blocks, padding, and the GNU long-name/long-link and PAX records, which the `tar` crate
/// reads whole into memory. Real ones are a few hundred bytes; without a cap, a small
/// gzip bomb declaring a multi-GiB "long name" would be buffered entirely.
pub const MAX_TAR_HEADER_BYTES: u64 = 1024 * 1024;

/// Shared between the walk and [`Budgeted`]: `Some(n)` while the tar reader is between
/// members (n bytes left), `None` while a member's own data is read.
#[derive(Default)]
struct Budget {
    left: Cell<Option<u64>>,
    exceeded: Cell<bool>,
}

/// The decompressed stream, failing reads once the [`Budget`] is spent.
pub(crate) struct Budgeted<R> {
    inner: R,
    budget: Rc<Budget>,
}

impl<R: Read> Read for Budgeted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(left) = self.budget.left.get() else {
            return self.inner.read(buf);
        };
        if left == 0 && !buf.is_empty() {
            self.budget.exceeded.set(true);
            return Err(io::Error::other("tar header records are too large"));
        }
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.budget.left.set(Some(left - got as u64));
        Ok(got)
    }
}

/// The tar member type [`walk_tar_gz`] hands out.
pub(crate) type TarEntry<'a, R> = tar::Entry<'a, Budgeted<flate2::read::GzDecoder<R>>>;

/// Visit every member of a tar.gz, then drain the gzip stream so its length and CRC are
/// checked. Each member's data is drained after `visit`, so the reads the tar crate makes
/// between members are headers only, and those are capped at [`MAX_TAR_HEADER_BYTES`].
/// Returns the number of members.
pub(crate) fn walk_tar_gz<R: Read>(
    reader: R,
    mut visit: impl FnMut(&mut TarEntry<'_, R>) -> Result<(), ArchiveError>,
) -> Result<usize, ArchiveError> {
    let budget = Rc::new(Budget::default());
    let mut tar = tar::Archive::new(Budgeted {
        inner: flate2::read::GzDecoder::new(reader),
        budget: budget.clone(),
    });
    let fail = |e: io::Error| {
        if budget.exceeded.get() {
            ArchiveError::HeaderTooLarge
        } else {
            tar_corrupt(e)
        }
    };
    let mut seen = 0usize;
    {
        let mut entries = tar.entries().map_err(fail)?;
        loop {
            budget.left.set(Some(MAX_TAR_HEADER_BYTES));
            let next = entries.next();
            budget.left.set(None);
            let Some(entry) = next else { break };
            let mut entry = entry.map_err(fail)?;
            seen += 1;
            // Every caller keeps something per member: bounded, whatever the archive holds.
            if seen as u64 > MAX_MEMBERS {
                return Err(ArchiveError::TooManyMembers { found: seen as u64 });
            }
            visit(&mut entry)?;
            io::copy(&mut entry, &mut io::sink()).map_err(fail)?;
        }
    }
    io::copy(&mut tar.into_inner(), &mut io::sink()).map_err(fail)?;
    Ok(seen)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A wheel in memory: `files` are (member name, contents).
    pub(crate) fn zip_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    /// An sdist in memory: `files` are (member path, contents).
    pub(crate) fn tar_gz_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut t = tar::Builder::new(gz);
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            t.append_data(&mut h, name, *data).unwrap();
        }
        t.into_inner().unwrap().finish().unwrap()
    }

    const SAMPLE: &str = "Metadata-Version: 2.1\r\n\
Name: improved-sdd\r\n\
Version: 1.2.0\r\n\
Summary: Spec-driven development,\r\n\x20 made better\r\n\
Classifier: Programming Language :: Python :: 3\r\n\
Classifier: License :: OSI Approved :: MIT License\r\n\
Requires-Dist: click>=8\r\n\
Project-URL: Homepage, https://example.org\r\n\
classifier: Typing :: Typed\r\n\
\r\n\
# improved-sdd\r\n\
\r\n\
Long description.\r\n";

    #[test]
    fn a_zip_with_too_many_directory_entries_is_refused_unread() {
        // Signatures split across the 1 MiB reads are counted once each.
        let mut bytes = vec![b'x'; 1024 * 1024 - 2];
        let sig = b"PK\x01\x02";
        for _ in 0..MAX_MEMBERS {
            bytes.extend_from_slice(sig);
        }
        assert!(zip_members_within(bytes.as_slice()).is_ok());
        bytes.extend_from_slice(sig);
        let err = zip_members_within(bytes.as_slice()).unwrap_err();
        assert!(
            matches!(err, ArchiveError::TooManyMembers { found } if found == MAX_MEMBERS + 1),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("has more than 65535 members"),
            "{err}"
        );
    }

    #[test]
    fn parses_headers_continuations_multi_use_and_body() {
        let m = parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(m.metadata_version, "2.1");
        assert_eq!(m.name, "improved-sdd");
        assert_eq!(m.version, "1.2.0");
        assert_eq!(
            m.get("summary"),
            Some("Spec-driven development,\n  made better")
        );
        let classifiers: Vec<_> = m.get_all("Classifier").collect();
        assert_eq!(
            classifiers,
            [
                "Programming Language :: Python :: 3",
                "License :: OSI Approved :: MIT License",
                "Typing :: Typed"
            ]
        );
        // Names as written, in file order.
        assert_eq!(m.fields[8].0, "classifier");
        assert_eq!(m.fields.len(), 9);
        assert_eq!(m.get("Project-URL"), Some("Homepage, https://example.org"));
        assert_eq!(
            m.description(),
            Some("# improved-sdd\r\n\r\nLong description.\r\n")
        );
        assert!(m.missing_required().is_empty());
    }

    #[test]
    fn description_header_when_no_body() {
        let text = "Metadata-Version: 1.1\nName: old\nVersion: 0.1\nDescription: line one\n        line two\n\n\n";
        let m = parse(text.as_bytes()).unwrap();
        assert_eq!(m.body, None, "a blank body is no body");
        assert_eq!(m.description(), Some("line one\n        line two"));
    }

    #[test]
    fn missing_required_fields_are_listed() {
        let m = parse(b"Metadata-Version: 2.1\nName:   \nSummary: x\n").unwrap();
        assert_eq!(m.missing_required(), ["Name", "Version"]);
        let m = parse(b"").unwrap();
        assert_eq!(m.missing_required(), REQUIRED_FIELDS);
    }

    #[test]
    fn rejects_non_utf8_and_malformed_lines() {
        let err = parse(b"Metadata-Version: 2.1\nName: caf\xe9\n").unwrap_err();
        assert_eq!(err, ParseError::NotUtf8 { offset: 31 });
        assert!(err.to_string().contains("UTF-8"));

        let err = parse(b"Metadata-Version: 2.1\nthis is not a header\n").unwrap_err();
        assert!(
            matches!(err, ParseError::MalformedLine { line: 2, .. }),
            "{err:?}"
        );
        let err = parse(b"  leading continuation\n").unwrap_err();
        assert!(
            matches!(err, ParseError::MalformedLine { line: 1, .. }),
            "{err:?}"
        );
        let err = parse(b"Bad Name: x\n").unwrap_err();
        assert!(
            matches!(err, ParseError::MalformedLine { line: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn reads_wheel_metadata_from_the_single_dist_info() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.whl");
        std::fs::write(
            &p,
            zip_bytes(&[
                ("pkg/__init__.py", b""),
                ("pkg/sub.dist-info/METADATA", b"nested, ignored"),
                ("pkg-1.0.dist-info/METADATA", b"Name: pkg\n"),
            ]),
        )
        .unwrap();
        let (member, bytes) = read_wheel_metadata(&p, None).unwrap();
        assert_eq!(member, "pkg-1.0.dist-info/METADATA");
        assert_eq!(bytes, b"Name: pkg\n");

        std::fs::write(
            &p,
            zip_bytes(&[
                ("a-1.0.dist-info/METADATA", b"Name: a\n"),
                ("pkg-1.0.dist-info/METADATA", b"Name: pkg\n"),
            ]),
        )
        .unwrap();
        assert!(matches!(
            read_wheel_metadata(&p, None),
            Err(ArchiveError::Ambiguous { .. })
        ));
        let (member, _) = read_wheel_metadata(&p, Some("pkg-1.0")).unwrap();
        assert_eq!(member, "pkg-1.0.dist-info/METADATA");

        std::fs::write(&p, zip_bytes(&[("pkg/__init__.py", b"")])).unwrap();
        assert!(matches!(
            read_wheel_metadata(&p, None),
            Err(ArchiveError::NotFound { .. })
        ));
    }

    #[test]
    fn metadata_bomb_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![b'a'; (MAX_METADATA_BYTES + 1) as usize];
        let p = dir.path().join("w.whl");
        std::fs::write(&p, zip_bytes(&[("pkg-1.0.dist-info/METADATA", &big)])).unwrap();
        assert!(matches!(
            read_wheel_metadata(&p, None),
            Err(ArchiveError::TooLarge { .. })
        ));
        let p = dir.path().join("s.tar.gz");
        std::fs::write(&p, tar_gz_bytes(&[("pkg-1.0/PKG-INFO", &big)])).unwrap();
        assert!(matches!(
            read_sdist_metadata(&p),
            Err(ArchiveError::TooLarge { .. })
        ));
    }

    #[test]
    fn tar_header_records_are_capped() {
        // A GNU long name is read whole by the tar crate; a gzip bomb could make it GiBs.
        let long = format!(
            "pkg-1.0/{}",
            "a".repeat((MAX_TAR_HEADER_BYTES + 1) as usize)
        );
        let bomb = tar_gz_bytes(&[(long.as_str(), b"x"), ("pkg-1.0/PKG-INFO", b"Name: pkg\n")]);
        assert!(bomb.len() < 64 * 1024, "compresses well: {}", bomb.len());
        let err = sdist_metadata_from(io::Cursor::new(&bomb)).unwrap_err();
        assert!(matches!(err, ArchiveError::HeaderTooLarge), "{err:?}");
        assert!(err.to_string().contains("1 MiB"), "{err}");
        let mut sink = crate::dist::rules::Sink::new(Path::new("s.tar.gz"));
        let (listing, read) =
            crate::dist::rules::archive::scan_sdist_from(io::Cursor::new(&bomb), &mut sink);
        assert!(listing.is_none());
        assert!(
            matches!(read, Err(ArchiveError::HeaderTooLarge)),
            "{read:?}"
        );

        // A long name of a realistic size still reads.
        let long = format!("pkg-1.0/{}/mod.py", "d".repeat(300));
        let ok = tar_gz_bytes(&[(long.as_str(), b"x"), ("pkg-1.0/PKG-INFO", b"Name: pkg\n")]);
        let (member, bytes) = sdist_metadata_from(io::Cursor::new(&ok)).unwrap();
        assert_eq!(
            (member.as_str(), bytes.as_slice()),
            ("pkg-1.0/PKG-INFO", &b"Name: pkg\n"[..])
        );
    }

    #[test]
    fn reads_sdist_pkg_info_at_top_level_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.tar.gz");
        std::fs::write(
            &p,
            tar_gz_bytes(&[
                ("pkg-1.0/src/pkg.egg-info/PKG-INFO", b"nested"),
                ("pkg-1.0/PKG-INFO", b"Name: pkg\n"),
                ("pkg-1.0/setup.py", b""),
            ]),
        )
        .unwrap();
        let (member, bytes) = read_sdist_metadata(&p).unwrap();
        assert_eq!(member, "pkg-1.0/PKG-INFO");
        assert_eq!(bytes, b"Name: pkg\n");

        std::fs::write(&p, tar_gz_bytes(&[("pkg-1.0/setup.py", b"")])).unwrap();
        assert!(matches!(
            read_sdist_metadata(&p),
            Err(ArchiveError::NotFound { .. })
        ));

        std::fs::write(
            &p,
            tar_gz_bytes(&[("a-1.0/PKG-INFO", b"x"), ("b-1.0/PKG-INFO", b"y")]),
        )
        .unwrap();
        assert!(matches!(
            read_sdist_metadata(&p),
            Err(ArchiveError::Ambiguous { .. })
        ));
    }

    #[test]
    fn truncated_and_empty_sdists_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.tar.gz");
        let good = tar_gz_bytes(&[
            ("pkg-1.0/PKG-INFO", b"Name: pkg\n"),
            ("pkg-1.0/data.bin", &[7u8; 20_000]),
        ]);
        std::fs::write(&p, &good[..good.len() - 12]).unwrap();
        let err = read_sdist_metadata(&p).unwrap_err();
        assert!(matches!(err, ArchiveError::Corrupt(_)), "{err:?}");

        std::fs::write(&p, b"").unwrap();
        assert!(matches!(
            read_sdist_metadata(&p),
            Err(ArchiveError::Corrupt(_))
        ));
        std::fs::write(&p, tar_gz_bytes(&[])).unwrap();
        assert!(matches!(
            read_sdist_metadata(&p),
            Err(ArchiveError::Corrupt(_))
        ));
    }
}
