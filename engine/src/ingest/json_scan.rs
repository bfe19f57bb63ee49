//! Reading the outline of a JSON document without parsing it whole: the names of its top-level
//! members (for format detection on a peek, wherever a member stands), and the items of an array
//! one by one (so a document cut short still yields the records before the cut).

use serde_json::value::RawValue;

/// The top-level members of the JSON object `text` starts with (after white space): each name
/// (as written, without quotes) and the byte offset of its value. Stops at the object's end or
/// where `text` ends, so a peek at a large document lists the members it holds.
pub(super) fn members(text: &str) -> Vec<(&str, usize)> {
    Members::new(text).collect()
}

/// [`members`] one at a time: a member is yielded before its value is scanned, so finding one
/// member (`Records`) does not walk the value it names.
pub(super) struct Members<'a> {
    text: &'a str,
    /// Where the next member's name is looked for; `None` once the object (or `text`) ended.
    at: Option<usize>,
    /// The value of the member yielded last, still to be skipped.
    pending_value: Option<usize>,
}

impl<'a> Members<'a> {
    /// The members of the object `text` starts with.
    pub(super) fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let i = skip_ws(bytes, 0);
        Members {
            text,
            at: (bytes.get(i) == Some(&b'{')).then_some(i + 1),
            pending_value: None,
        }
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, usize);

    fn next(&mut self) -> Option<(&'a str, usize)> {
        let bytes = self.text.as_bytes();
        if let Some(value) = self.pending_value.take() {
            let after = skip_ws(bytes, value_end(bytes, value)?);
            self.at = match bytes.get(after) {
                Some(b',') => Some(after + 1),
                _ => None,
            };
        }
        let i = skip_ws(bytes, self.at.take()?);
        if bytes.get(i) != Some(&b'"') {
            return None;
        }
        let end = string_end(bytes, i)?;
        let name = self.text.get(i + 1..end).unwrap_or_default();
        let colon = skip_ws(bytes, end + 1);
        if bytes.get(colon) != Some(&b':') {
            return None;
        }
        let value = skip_ws(bytes, colon + 1);
        self.pending_value = Some(value);
        Some((name, value))
    }
}

/// One item of [`ArrayItems`].
#[derive(Debug)]
pub(super) enum Item<'a, T> {
    /// The item, parsed as `T` in the same pass that found its end, and its text.
    Parsed(&'a str, T),
    /// An item that is JSON but not a `T`: its text, for the caller to say why.
    Other(&'a RawValue),
    /// Why the array could not be read on (damage, a document cut short): the last item.
    Damaged(String),
}

/// The items of the JSON array starting at byte `start` of `text`, in order, each parsed as `T`
/// where it stands (one pass over its bytes). An item that is not JSON (a document cut short,
/// damage) ends the list with an error naming its byte offset.
pub(super) struct ArrayItems<'a, T> {
    text: &'a str,
    /// The next item's offset; `None` once the array ended.
    at: Option<usize>,
    /// An error to yield before ending.
    error: Option<String>,
    parsed: std::marker::PhantomData<T>,
}

impl<'a, T> ArrayItems<'a, T> {
    pub(super) fn new(text: &'a str, start: usize) -> Self {
        let bytes = text.as_bytes();
        let i = skip_ws(bytes, start);
        let (at, error) = match bytes.get(i) {
            Some(b'[') => {
                let first = skip_ws(bytes, i + 1);
                match bytes.get(first) {
                    Some(b']') => (None, None),
                    _ => (Some(first), None),
                }
            }
            _ => (None, Some(format!("expected an array at byte {i}"))),
        };
        ArrayItems {
            text,
            at,
            error,
            parsed: std::marker::PhantomData,
        }
    }

    /// The items of an array from the item starting at byte `at` on (an item [`ItemBounds`]
    /// delimited, or could not).
    pub(super) fn resume(text: &'a str, at: usize) -> Self {
        ArrayItems {
            text,
            at: Some(at),
            error: None,
            parsed: std::marker::PhantomData,
        }
    }

    /// Where the array goes on after the item that ends at `end`: the next item, its end, or the
    /// error that stops it.
    fn after(&mut self, end: usize) {
        let bytes = self.text.as_bytes();
        let i = skip_ws(bytes, end);
        match bytes.get(i) {
            Some(b',') => self.at = Some(skip_ws(bytes, i + 1)),
            Some(b']') => {}
            Some(_) => self.error = Some(format!("at byte {i}: expected `,` or `]` after an item")),
            None => {
                self.error = Some(format!(
                    "the document ends at byte {i} inside the array: it was cut short"
                ));
            }
        }
    }
}

impl<'a, T: serde::Deserialize<'a>> Iterator for ArrayItems<'a, T> {
    type Item = Item<'a, T>;

    fn next(&mut self) -> Option<Item<'a, T>> {
        let Some(i) = self.at.take() else {
            return self.error.take().map(Item::Damaged);
        };
        let (item, end) = item_at(self.text, i);
        if let Some(end) = end {
            self.after(end);
        }
        Some(item)
    }
}

/// The array item starting at byte `i` of `text`, parsed as `T` where it stands, and the byte
/// just past it (`None` when it is damaged): what [`ArrayItems`] yields there, whichever thread
/// parses it.
pub(super) fn item_at<'a, T: serde::Deserialize<'a>>(
    text: &'a str,
    i: usize,
) -> (Item<'a, T>, Option<usize>) {
    let rest = text.get(i..).unwrap_or_default();
    let mut typed = serde_json::Deserializer::from_str(rest).into_iter::<T>();
    if let Some(Ok(value)) = typed.next() {
        let end = i + typed.byte_offset();
        return (
            Item::Parsed(text.get(i..end).unwrap_or_default(), value),
            Some(end),
        );
    }
    // Not a `T`: JSON of another shape, or damage.
    let mut raw = serde_json::Deserializer::from_str(rest).into_iter::<&RawValue>();
    match raw.next() {
        Some(Ok(value)) => (Item::Other(value), Some(i + raw.byte_offset())),
        Some(Err(e)) => (Item::Damaged(format!("at byte {i}: {e}")), None),
        None => (
            Item::Damaged(format!(
                "the document ends at byte {i} inside the array: it was cut short"
            )),
            None,
        ),
    }
}

/// Where the objects of a JSON array start and end, found by their braces and strings alone
/// (`memchr`, several times faster than parsing them), so that a large document's items can be
/// parsed on several threads. Stops at the array's end, or at the first item it cannot delimit
/// ([`ItemBounds::stopped`]: not an object, unbalanced, or not followed by `,` or `]`), from
/// which [`ArrayItems::resume`] reads on as one pass would. An item of invalid JSON can be
/// delimited here: its parse ([`item_at`]) says what it is, and where it ends.
pub(super) struct ItemBounds<'a> {
    bytes: &'a [u8],
    /// The next item's offset; `None` once the array ended or an item could not be delimited.
    at: Option<usize>,
    stopped: Option<usize>,
}

impl<'a> ItemBounds<'a> {
    /// The items of the array starting at byte `start` of `text` (after white space); `None`
    /// when no array starts there.
    pub(super) fn new(text: &'a str, start: usize) -> Option<Self> {
        let bytes = text.as_bytes();
        let i = skip_ws(bytes, start);
        if bytes.get(i) != Some(&b'[') {
            return None;
        }
        let first = skip_ws(bytes, i + 1);
        Some(ItemBounds {
            bytes,
            at: (bytes.get(first) != Some(&b']')).then_some(first),
            stopped: None,
        })
    }

    /// The offset of the item these bounds could not delimit, once they stopped there; `None`
    /// while they go on, and when the array ended.
    pub(super) fn stopped(&self) -> Option<usize> {
        self.stopped
    }
}

impl Iterator for ItemBounds<'_> {
    /// An item's first byte and the byte just past it.
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let start = self.at.take()?;
        let Some(end) = object_end(self.bytes, start) else {
            self.stopped = Some(start);
            return None;
        };
        let after = skip_ws(self.bytes, end);
        match self.bytes.get(after) {
            Some(b',') => self.at = Some(skip_ws(self.bytes, after + 1)),
            Some(b']') => {}
            _ => {
                self.stopped = Some(start);
                return None;
            }
        }
        Some((start, end))
    }
}

/// The index just past the object starting at `start`, by its braces outside strings.
fn object_end(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes.get(start) != Some(&b'{') {
        return None;
    }
    let mut depth = 0usize;
    let mut i = start;
    loop {
        let at = i + memchr::memchr3(b'"', b'{', b'}', bytes.get(i..)?)?;
        match bytes.get(at)? {
            b'"' => {
                i = string_end(bytes, at)? + 1;
                continue;
            }
            b'{' => depth += 1,
            _ => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
        }
        i = at + 1;
    }
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The index of the quote closing the string whose opening quote is at `start`: the next quote
/// or backslash found by `memchr`, an escape skipped whole.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        let at = i + memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        if bytes.get(at)? == &b'"' {
            return Some(at);
        }
        i = at + 2;
    }
}

/// The index just past the JSON value starting at `start` (its structure only: a scalar ends at
/// the next delimiter).
fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    match bytes.get(start)? {
        b'"' => string_end(bytes, start).map(|e| e + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                match bytes.get(i)? {
                    b'"' => i = string_end(bytes, i)?,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = start;
            while bytes
                .get(i)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                i += 1;
            }
            Some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_bounds_follow_braces_outside_strings_and_stop_where_a_parse_must_say_why() {
        let text = r#"{"Records": [ {"a":"}\"{","b":[{}]} ,{"c":{"d":"\\"}},"x",{}]}"#;
        let at = members(text)[0].1;
        let mut bounds = ItemBounds::new(text, at).unwrap();
        let items: Vec<&str> = bounds.by_ref().map(|(s, e)| &text[s..e]).collect();
        assert_eq!(items, [r#"{"a":"}\"{","b":[{}]}"#, r#"{"c":{"d":"\\"}}"#]);
        assert_eq!(&text[bounds.stopped().unwrap()..], r#""x",{}]}"#);
        // The array's end, an empty array, no array, an object cut short, a trailing comma.
        let whole = r#"[{}, {"a": 1}]"#;
        let mut bounds = ItemBounds::new(whole, 0).unwrap();
        assert_eq!(bounds.by_ref().count(), 2);
        assert_eq!(bounds.stopped(), None);
        assert_eq!(ItemBounds::new(" [ ] ", 0).unwrap().count(), 0);
        assert!(ItemBounds::new(r#"{"a": []}"#, 0).is_none());
        for cut in [r#"[{"a": "}"#, r#"[{}, {"a": {}"#, "[{},]"] {
            let mut bounds = ItemBounds::new(cut, 0).unwrap();
            let delimited = bounds.by_ref().count();
            let stopped = bounds.stopped().unwrap();
            assert_eq!(
                (delimited, &cut[stopped..]),
                match cut {
                    "[{},]" => (1, "]"),
                    r#"[{"a": "}"# => (0, r#"{"a": "}"#),
                    _ => (1, r#"{"a": {}"#),
                }
            );
        }
    }

    #[test]
    fn members_are_listed_wherever_they_stand_and_a_peek_lists_what_it_holds() {
        let text = r#" {"exportedBy": {"tool": "x", "v": [1, "}"]}, "count": 2, "Records": [{"a": 1}, {"b": "\"]"}]}"#;
        let names: Vec<&str> = members(text).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["exportedBy", "count", "Records"]);
        let (_, at) = members(text)[2];
        assert!(text[at..].starts_with("[{\"a\""));
        let cut = &text[..75];
        let names: Vec<&str> = members(cut).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["exportedBy", "count", "Records"]);
        assert!(members("[1]").is_empty());
    }

    #[test]
    fn array_items_are_read_up_to_the_damage() {
        #[derive(serde::Deserialize, Debug)]
        struct A {
            a: u32,
        }
        let items = |text| -> Vec<String> {
            ArrayItems::<A>::new(text, 0)
                .map(|item| match item {
                    Item::Parsed(raw, v) => format!("parsed {} from {raw}", v.a),
                    Item::Other(raw) => format!("other {}", raw.get()),
                    Item::Damaged(e) => format!("damaged {e}"),
                })
                .collect()
        };
        assert_eq!(
            items(r#"[ {"a": 1} , {"b": [2]},{"c": "#),
            [
                r#"parsed 1 from {"a": 1}"#,
                r#"other {"b": [2]}"#,
                "damaged at byte 24: EOF while parsing a value at line 1 column 6",
            ]
        );
        assert!(items("[]").is_empty());
        assert!(items(" [ ] ").is_empty());
        assert_eq!(
            items("[1, 2"),
            [
                "other 1",
                "other 2",
                "damaged the document ends at byte 5 inside the array: it was cut short"
            ]
        );
        assert_eq!(items("{}"), ["damaged expected an array at byte 0"]);
        assert_eq!(
            items(r#"[{"a": 1} {"a": 2}]"#),
            [
                r#"parsed 1 from {"a": 1}"#,
                "damaged at byte 10: expected `,` or `]` after an item"
            ]
        );
    }
}
