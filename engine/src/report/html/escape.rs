//! Escaping for the HTML report. Every string that is not a literal of this module's parent goes
//! through [`esc`]: log values are attacker-controlled, and rule ids, titles and messages come
//! from rule packs, which may be third-party.
//!
//! One escaper serves every context the report writes into: element text (HTML and inline SVG)
//! and double-quoted attribute values. It replaces the five characters that can end or open
//! markup in either (`&`, `<`, `>`, `"`, `'`), so a value can neither open a tag nor leave its
//! attribute. The report never puts a value into an unquoted attribute, a URL, a `style` or a
//! `script`. Control and bidirectional-formatting characters are shown as `\u{..}` instead of
//! written through: a log line cannot reorder the text around it ("Trojan Source") or hide in an
//! invisible character.

use std::fmt::{self, Write};

/// `text`, escaped for HTML element content and double-quoted attribute values.
pub(super) fn esc(text: &str) -> Escaped<'_> {
    Escaped(text)
}

/// A string that displays escaped (see [`esc`]).
pub(super) struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                '\t' | '\n' => f.write_char(c)?,
                c if c.is_control() || is_bidi_control(c) => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// The Unicode characters that change the direction of the text around them (UAX #9 explicit
/// formatting characters and marks).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_replaced_by_references() {
        assert_eq!(
            esc("<script>alert(1)</script>").to_string(),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            esc("<img src=x onerror=alert(1)>").to_string(),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            esc(r#"a&b "q" 'q' &amp;"#).to_string(),
            "a&amp;b &quot;q&quot; &#39;q&#39; &amp;amp;"
        );
    }

    #[test]
    fn a_value_cannot_leave_a_quoted_attribute() {
        let attr = format!("<code title=\"{}\">", esc("\" onmouseover=\"alert(1)' x='"));
        assert_eq!(
            attr,
            "<code title=\"&quot; onmouseover=&quot;alert(1)&#39; x=&#39;\">"
        );
        assert_eq!(attr.matches('"').count(), 2);
    }

    #[test]
    fn control_and_direction_characters_are_shown_not_written() {
        assert_eq!(
            esc("a\u{0}b\u{1b}[31mc\u{7f}\u{85}").to_string(),
            "a\\u{0}b\\u{1b}[31mc\\u{7f}\\u{85}"
        );
        assert_eq!(
            esc("admin\u{202e}txt.exe\u{2066}x\u{200f}").to_string(),
            "admin\\u{202e}txt.exe\\u{2066}x\\u{200f}"
        );
        assert_eq!(esc("tab\tline\nend").to_string(), "tab\tline\nend");
    }

    #[test]
    fn other_text_is_written_as_is() {
        let text = "alice → orders/o-1 (Ünïcødé, العربية, 日本語) 100% ok";
        assert_eq!(esc(text).to_string(), text);
    }
}
