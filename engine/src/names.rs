//! Names compared loosely (member names, table names, attribute names): lower-cased ASCII
//! without separators, built on the stack instead of character by character.

use smol_str::SmolStr;

/// `name` lower-cased without the bytes in `skip`, when `name` is ASCII and the result fits in
/// 64 bytes; `None` otherwise, for the caller's own (Unicode-aware or unbounded) way.
pub(crate) fn ascii_folded(name: &str, skip: &[u8]) -> Option<SmolStr> {
    if !name.is_ascii() {
        return None;
    }
    let mut buf = [0u8; 64];
    let mut len = 0;
    for b in name.bytes().filter(|b| !skip.contains(b)) {
        *buf.get_mut(len)? = b.to_ascii_lowercase();
        len += 1;
    }
    // ASCII in, ASCII out: always UTF-8.
    let folded = std::str::from_utf8(buf.get(..len)?).ok()?;
    Some(if folded.len() <= SmolStr::INLINE_CAP {
        // Copied as it is: `SmolStr::new` would first look for a run of whitespace to share.
        SmolStr::new_inline(folded)
    } else {
        SmolStr::new(folded)
    })
}

/// A field, header, table or attribute name without `_`, `-` and ASCII case: how HTTP
/// parameters, DynamoDB key attributes and the enrichment's names are compared.
pub(crate) fn folded(name: &str) -> SmolStr {
    if let Some(name) = ascii_folded(name, b"_-") {
        return name;
    }
    name.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_names_fold_on_the_stack_others_are_left_to_the_caller() {
        assert_eq!(
            ascii_folded("Api_Keys-V2", b"_-").as_deref(),
            Some("apikeysv2")
        );
        assert_eq!(
            ascii_folded("@Request Id$", b"_-@$ ").as_deref(),
            Some("requestid")
        );
        assert_eq!(ascii_folded("", b"_").as_deref(), Some(""));
        let long = "Ab_".repeat(30);
        assert_eq!(
            ascii_folded(&long, b"_"),
            Some(SmolStr::new("ab".repeat(30)))
        );
        assert_eq!(
            ascii_folded(&"a".repeat(64), b""),
            Some(SmolStr::new("a".repeat(64)))
        );
        assert_eq!(ascii_folded(&"a".repeat(65), b""), None);
        assert_eq!(ascii_folded("Schlüssel", b"_"), None);
    }

    #[test]
    fn folded_names_lose_separators_and_ascii_case_only() {
        assert_eq!(folded("X-Api_Key"), "xapikey");
        assert_eq!(folded("Api Key@"), "api key@");
        // Past the stack's 64 bytes, and outside ASCII, the same rule holds.
        assert_eq!(folded(&"A_b-".repeat(40)), "ab".repeat(40));
        assert_eq!(folded("Schlüssel_ID"), "schlüsselid");
        assert_eq!(folded("ÄPI-KEY"), "Äpikey");
    }
}
