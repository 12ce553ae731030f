//! Splitting log content into lines the way Airflow's hook does
//! (`content.splitlines(True)`: line endings kept; `None` or `""` → no lines).

/// Python's `str.splitlines(keepends=True)`: breaks after `\n`, `\r\n`, `\r`, `\v`, `\f`,
/// `\x1c`, `\x1d`, `\x1e`, `\x85`, `\u2028`, `\u2029`; each line keeps its ending.
pub fn split_lines(content: Option<&str>) -> Vec<String> {
    let Some(text) = content else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = match c {
            '\r' => match chars.peek() {
                Some((j, '\n')) => {
                    let e = j + 1;
                    chars.next();
                    e
                }
                _ => i + 1,
            },
            '\n' | '\u{0b}' | '\u{0c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => i + c.len_utf8(),
            _ => continue,
        };
        lines.push(text[start..end].to_string());
        start = end;
    }
    if start < text.len() {
        lines.push(text[start..].to_string());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Airflow `test_get_logs` parametrisation.
    #[test]
    fn airflow_cases() {
        assert_eq!(
            split_lines(Some("log line 1\nlog line 2\nlog line 3\n")),
            vec!["log line 1\n", "log line 2\n", "log line 3\n"]
        );
        assert_eq!(split_lines(None), Vec::<String>::new());
        assert_eq!(split_lines(Some("")), Vec::<String>::new());
        assert_eq!(
            split_lines(Some("line1\nline2\n")),
            vec!["line1\n", "line2\n"]
        );
    }

    #[test]
    fn python_splitlines_semantics() {
        assert_eq!(
            split_lines(Some("a\r\nb\rc\nd")),
            vec!["a\r\n", "b\r", "c\n", "d"]
        );
        assert_eq!(split_lines(Some("\n\n")), vec!["\n", "\n"]);
        assert_eq!(
            split_lines(Some("x\u{2028}y\u{85}z\x0c")),
            vec!["x\u{2028}", "y\u{85}", "z\x0c"]
        );
        assert_eq!(split_lines(Some("no newline")), vec!["no newline"]);
        assert_eq!(split_lines(Some("\r")), vec!["\r"]);
        assert_eq!(split_lines(Some("tab\tstays")), vec!["tab\tstays"]);
        // Joining the lines gives the content back.
        let text = "é\r\n漢字\nlast";
        assert_eq!(split_lines(Some(text)).concat(), text);
    }
}
