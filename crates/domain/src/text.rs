//! Rules for the free text people type: names and descriptions.

use crate::error::{has_forbidden_controls, ValueError};

/// A one-line display name: trimmed, 1 to `max_chars` characters, no control characters.
pub fn display_name(value: &str, max_chars: usize, what: &str) -> Result<String, ValueError> {
    let value = value.trim();
    let chars = value.chars().count();
    if chars == 0 || chars > max_chars || value.chars().any(char::is_control) {
        return Err(ValueError::new(
            "invalid_name",
            format!("{what} has 1 to {max_chars} characters and no control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Optional free text that may span lines: blank is none; at most `max_chars` characters;
/// no control characters but line breaks and tabs.
pub fn description(value: Option<&str>, max_chars: usize) -> Result<Option<String>, ValueError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if has_forbidden_controls(value) {
        return Err(ValueError::new("invalid_characters", "a description must not contain control characters"));
    }
    if value.chars().count() > max_chars {
        return Err(ValueError::new("too_long", format!("a description has at most {max_chars} characters")));
    }
    Ok(Some(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_bounded_line() {
        assert_eq!(display_name("  Core  ", 10, "a name"), Ok("Core".into()));
        assert!(display_name("", 10, "a name").is_err());
        assert!(display_name("a\nb", 10, "a name").is_err());
        assert!(display_name(&"x".repeat(11), 10, "a name").is_err());
    }

    #[test]
    fn descriptions_may_span_lines_but_hold_no_nul() {
        assert_eq!(description(Some("  "), 10), Ok(None));
        assert_eq!(description(Some("a\nb"), 10), Ok(Some("a\nb".into())));
        assert!(description(Some("a\u{0}b"), 10).is_err());
        assert!(description(Some(&"x".repeat(11)), 10).is_err());
    }
}
