//! `entry_points.txt` in a wheel, judged as PyPI judges it (warehouse
//! `utils/wheel.py::_validate_entrypoints`, called from `forklift/legacy.py`, which answers
//! "Wheel '…' has invalid entry points defined in the entry_points.txt file"):
//! * the file must decode as UTF-8;
//! * it must parse with Python's `configparser.ConfigParser(delimiters=("=",))`, case kept,
//!   strict (no section or option twice) — reproduced line for line by [`parse`];
//! * every name in `[console_scripts]` and `[gui_scripts]` (and any `[DEFAULT]` name, which
//!   configparser shows in every section) must match `[\w.-]+` in full.
//!
//! Values are not PyPI's business, but a script value that is not `module:attr` makes pip
//! and uv refuse the install ("Invalid script entry point"): that is a warning.

/// A parsed INI file: `[DEFAULT]`'s options and every other section's, in order.
#[derive(Debug, Default, PartialEq)]
pub struct Ini {
    pub defaults: Vec<(String, String)>,
    pub sections: Vec<(String, Vec<(String, String)>)>,
}

impl Ini {
    fn section(&self, name: &str) -> Option<&Vec<(String, String)>> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, o)| o)
    }
}

/// Python's `str.isspace` (what `str.strip` and the `\s` of configparser's patterns use):
/// Unicode white space plus the four ASCII separators Python also counts.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `\w` on `str`: letters, digits and numbers of any script, and `_`.
fn py_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// warehouse's `_ENTRY_POINT_NAME_RE.fullmatch`: `[\w.-]+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| py_word(c) || c == '.' || c == '-')
}

/// `configparser.ConfigParser(delimiters=("=",))` with `optionxform = str`, reading a
/// string: the same lines accepted and the same ones refused. `Err` says why, in words.
pub fn parse(text: &str) -> Result<Ini, String> {
    let mut ini = Ini::default();
    // (section index or None for DEFAULT, option index) of the value being continued.
    let mut current: Option<Option<usize>> = None;
    let mut option: Option<usize> = None;
    let mut indent_level = 0usize;
    let mut seen_sections: Vec<String> = Vec::new();
    let mut seen_options: Vec<(String, String)> = Vec::new();
    let mut bad_lines = Vec::new();
    // io.StringIO splits on "\n" only; a "\r" stays and is stripped as white space.
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let lineno = i + 1;
        let trimmed = raw.trim_matches(py_space);
        // Full-line comments: "#" or ";" first after stripping.
        let clean = if trimmed.starts_with(['#', ';']) {
            ""
        } else {
            trimmed
        };
        if clean.is_empty() {
            // Blank lines and comments are skipped (they neither end nor join a value here).
            continue;
        }
        let cur_indent = raw.chars().take_while(|c| py_space(*c)).count();
        // A line indented deeper than its option's line continues that value.
        if let (Some(sect), Some(opt)) = (current, option) {
            if cur_indent > indent_level {
                let opts = match sect {
                    None => &mut ini.defaults,
                    Some(s) => &mut ini.sections[s].1,
                };
                opts[opt].1.push('\n');
                opts[opt].1.push_str(clean);
                continue;
            }
        }
        indent_level = cur_indent;
        // `\[(?P<header>.+)\]` matched at the start: the header runs to the last "]".
        if let Some(header) = clean
            .strip_prefix('[')
            .and_then(|rest| rest.rfind(']').map(|end| &rest[..end]))
            .filter(|h| !h.is_empty())
        {
            option = None;
            if header == "DEFAULT" {
                current = Some(None);
                continue;
            }
            if seen_sections.iter().any(|s| s == header) {
                return Err(format!("line {lineno}: section `[{header}]` appears twice"));
            }
            seen_sections.push(header.to_string());
            ini.sections.push((header.to_string(), Vec::new()));
            current = Some(Some(ini.sections.len() - 1));
            continue;
        }
        let Some(sect) = current else {
            return Err(format!(
                "line {lineno}: `{clean}` comes before any `[section]` header"
            ));
        };
        // `(?P<option>.*?)\s*(?P<vi>=)\s*(?P<value>.*)$`
        let Some((name, value)) = clean.split_once('=') else {
            // configparser keeps the previous option for continuation lines here.
            bad_lines.push(format!("line {lineno}: `{clean}` has no `=`"));
            continue;
        };
        let name = name.trim_end_matches(py_space);
        let value = value.trim_matches(py_space);
        if name.is_empty() {
            bad_lines.push(format!("line {lineno}: `{clean}` has no name before `=`"));
        }
        let sect_name = match sect {
            None => "DEFAULT".to_string(),
            Some(s) => ini.sections[s].0.clone(),
        };
        if seen_options
            .iter()
            .any(|(s, o)| *s == sect_name && o == name)
        {
            return Err(format!(
                "line {lineno}: `{name}` appears twice in `[{sect_name}]`"
            ));
        }
        seen_options.push((sect_name, name.to_string()));
        let opts = match sect {
            None => &mut ini.defaults,
            Some(s) => &mut ini.sections[s].1,
        };
        opts.push((name.to_string(), value.to_string()));
        // An empty name never takes continuation lines (configparser tests it for truth).
        option = (!name.is_empty()).then_some(opts.len() - 1);
    }
    if !bad_lines.is_empty() {
        return Err(bad_lines.join("; "));
    }
    Ok(ini)
}

/// PyPI's verdict on an `entry_points.txt`: `Err` with the reason when it refuses the wheel.
pub fn warehouse_verdict(bytes: &[u8]) -> Result<Ini, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "entry_points.txt is not decodable as UTF-8".to_string())?;
    let ini = parse(text).map_err(|e| format!("entry_points.txt is not a valid INI file: {e}"))?;
    for group in ["console_scripts", "gui_scripts"] {
        let Some(options) = ini.section(group) else {
            continue;
        };
        // SectionProxy iteration lists the section's options, then [DEFAULT]'s.
        for (name, _) in options.iter().chain(&ini.defaults) {
            if !valid_name(name) {
                return Err(format!(
                    "invalid entry point name `{name}` in `[{group}]` (names must match `[\\w.-]+`)"
                ));
            }
        }
    }
    Ok(ini)
}

/// Script entry points whose value pip and uv cannot turn into a script (they need
/// `module.path:attr`, optionally followed by `[extras]`).
pub fn script_value_problems(ini: &Ini) -> Vec<String> {
    let mut out = Vec::new();
    for group in ["console_scripts", "gui_scripts"] {
        for (name, value) in ini.section(group).into_iter().flatten() {
            if !script_reference(value) {
                out.push(format!(
                    "`{name} = {value}` in `[{group}]` is not `module.path:function`"
                ));
            }
        }
    }
    out
}

fn identifier_path(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

fn script_reference(value: &str) -> bool {
    let (reference, extras) = match value.split_once('[') {
        Some((r, e)) => (r.trim(), Some(e)),
        None => (value.trim(), None),
    };
    if extras.is_some_and(|e| !e.trim_end().ends_with(']')) {
        return false;
    }
    match reference.split_once(':') {
        Some((m, a)) => identifier_path(m.trim()) && identifier_path(a.trim()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(s: &str) -> Result<(), String> {
        warehouse_verdict(s.as_bytes()).map(|_| ())
    }

    #[test]
    fn what_pypi_accepts() {
        for ok in [
            "[console_scripts]\nfoo = pkg.cli:main\nbar-baz.qux=pkg:main [extra]\n\n[x.y]\nz = a.b\n",
            "",
            "# only a comment\n",
            // Anything goes outside the two script groups, values included.
            "[pytest11]\nmy plugin = not even a reference\n",
            // Values may continue on indented lines; blank lines inside are kept.
            "[console_scripts]\nfoo = a:b\n    more\n\n    still more\n",
            // Text after the last `]` of a header is ignored by configparser.
            "[console_scripts] trailing\nfoo = a:b\n",
            // Windows line ends; `;` comments; indented comments.
            "[console_scripts]\r\nfoo = a:b\r\n; c\r\n   # c\r\n",
            // Non-ASCII word characters are `\\w`.
            "[console_scripts]\nnaïve = a:b\n",
            // [DEFAULT] may repeat as a header.
            "[DEFAULT]\n[DEFAULT]\n",
        ] {
            assert_eq!(verdict(ok), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn what_pypi_refuses() {
        for (bad, why) in [
            ("foo = a:b\n", "before any `[section]`"),
            ("[console_scripts]\nfoo a:b\n", "has no `=`"),
            ("[console_scripts]\n= a:b\n", "no name before `=`"),
            ("[g]\n[g]\n", "appears twice"),
            ("[g]\nx = 1\nx = 2\n", "appears twice"),
            (
                "[console_scripts]\nmy tool = a:b\n",
                "invalid entry point name `my tool`",
            ),
            (
                "[gui_scripts]\n../evil = a:b\n",
                "invalid entry point name `../evil`",
            ),
            (
                "[console_scripts]\nc:\\\\x = a:b\n",
                "invalid entry point name",
            ),
            // [DEFAULT] names show up in every section.
            (
                "[DEFAULT]\nbad name = 1\n[console_scripts]\nfoo = a:b\n",
                "`bad name`",
            ),
            // A BOM is not white space to Python: the header is not a header.
            (
                "\u{feff}[console_scripts]\nfoo = a:b\n",
                "before any `[section]`",
            ),
            // "[]" is not a header, and not an option either.
            ("[console_scripts]\n[]\n", "has no `=`"),
        ] {
            let e = verdict(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert_eq!(
            warehouse_verdict(b"[console_scripts]\nfoo = \xff\n").unwrap_err(),
            "entry_points.txt is not decodable as UTF-8"
        );
        // A bad line in another group still fails the whole file (it does not parse).
        assert!(verdict("[pytest11]\njust words\n").is_err());
    }

    #[test]
    fn script_values_installers_refuse() {
        let ini = warehouse_verdict(
            b"[console_scripts]\nok = pkg.cli:main [x]\nnocolon = pkg.cli\nbad = 1pkg:main\n[other]\nfree = anything\n",
        )
        .unwrap();
        let p = script_value_problems(&ini);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("nocolon") && p[1].contains("bad"), "{p:?}");
    }
}
