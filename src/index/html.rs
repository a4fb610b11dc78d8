//! The little HTML the index client reads: error pages (pypiserver and proxies answer in
//! HTML) and PEP 503 link text. Tag stripping and entity decoding live here once, so both
//! readers decode the same way.

/// The text of an HTML fragment: tags removed, entities decoded (`html-escape` knows them all).
pub fn text(fragment: &str) -> String {
    html_escape::decode_html_entities(&strip_tags(fragment)).into_owned()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn strips_tags_and_decodes_entities() {
        assert_eq!(
            text("<b>File exists</b> &amp; it&#39;s &lt;x&gt;"),
            "File exists & it's <x>"
        );
        assert_eq!(text("a < b"), "a ");
        assert_eq!(text("&#x27;q&#x27; &quot;r&quot;"), "'q' \"r\"");
    }
}
