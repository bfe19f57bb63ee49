//! Members read the way `serde_json::Value`'s accessors read them (`as_str`, `as_u64`,
//! `as_object`, `as_array`), but straight from the text: a member of another JSON type than the
//! one looked for is skipped unread and reads as absent, and strings are borrowed from the input
//! where they hold no escape. A reader whose records are mostly members it never looks at (a HAR
//! entry's timings, cache, cookies of other requests) derives a struct of these instead of
//! building a `Value` of the whole record.
//!
//! Derived structs still refuse a member given twice (`Value` keeps the last); a reader falls
//! back to deserializing them from a parsed `Value` when the text does not deserialize.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Skips a map's or a sequence's members.
fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// What a visitor answers for a value of a type it does not read: nothing.
macro_rules! absent_scalars {
    ($($visit:ident: $ty:ty),* $(,)?) => {
        $(fn $visit<E: serde::de::Error>(self, _: $ty) -> Result<Self::Value, E> {
            Ok(Default::default())
        })*

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
}

/// A visitor's description, and nothing for every scalar: what a container type reads them as.
macro_rules! containers_only {
    () => {
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }

        absent_scalars!(
            visit_bool: bool,
            visit_i64: i64,
            visit_u64: u64,
            visit_f64: f64,
            visit_str: &str,
        );
    };
}

/// A string member (`Value::as_str`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Text<'a>(pub Option<Cow<'a, str>>);

impl Text<'_> {
    /// The string, when the member was one.
    pub(super) fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Borrowed(s))))
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Owned(s.to_owned()))))
            }

            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Owned(s))))
            }

            absent_scalars!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64);

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Text<'a>, A::Error> {
                drain_seq(seq).map(|()| Text(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text<'a>, A::Error> {
                drain_map(map).map(|()| Text(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A number member (`Value::as_u64`, `Value::as_f64`).
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Num(pub Option<serde_json::Number>);

impl Num {
    pub(super) fn as_u64(&self) -> Option<u64> {
        self.0.as_ref().and_then(serde_json::Number::as_u64)
    }

    pub(super) fn as_f64(&self) -> Option<f64> {
        self.0.as_ref().and_then(serde_json::Number::as_f64)
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Num, E> {
                Ok(Num(Some(n.into())))
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Num, E> {
                Ok(Num(Some(n.into())))
            }

            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Num, E> {
                Ok(Num(serde_json::Number::from_f64(n)))
            }

            absent_scalars!(visit_bool: bool, visit_str: &str);

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Num, A::Error> {
                drain_seq(seq).map(|()| Num(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Num, A::Error> {
                drain_map(map).map(|()| Num(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// An object member read as `T` (`Value::as_object`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;

            containers_only!();

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Obj<T>, A::Error> {
                drain_seq(seq).map(|()| Obj(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An array member's objects (`Value::as_array`, then `as_object` of each): other items, and a
/// member that is no array, read as none.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;

            containers_only!();

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Obj<T>>()? {
                    items.extend(item.0);
                }
                Ok(List(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List<T>, A::Error> {
                drain_map(map).map(|()| List(Vec::new()))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::Value;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Message<'a> {
        #[serde(borrow)]
        name: Text<'a>,
        status: Num,
        #[serde(borrow)]
        inner: Obj<Pair<'a>>,
        #[serde(borrow)]
        pairs: List<Pair<'a>>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Pair<'a> {
        #[serde(borrow)]
        name: Text<'a>,
        #[serde(borrow)]
        value: Text<'a>,
    }

    /// Each member reads as `Value`'s accessor reads the same member of the parsed text,
    /// whatever its type, and strings without escapes are borrowed.
    #[test]
    fn members_read_as_the_value_accessors_read_them() {
        let texts = [
            r#"{"name":"a","status":200,"inner":{"name":"n","value":"v"},"pairs":[{"name":"x","value":"1"},7,{"name":2},[],{"value":"only"}]}"#,
            r#"{"name":7,"status":"200","inner":[1],"pairs":{"name":"x"}}"#,
            r#"{"name":{"deep":[1,{"a":null}]},"status":-3,"inner":"s","pairs":"no"}"#,
            r#"{"name":null,"status":12.5,"inner":null,"pairs":null,"other":{"x":[1,2,{"y":3}]}}"#,
            r#"{"name":"esc\"aped\u00e9","status":18446744073709551615,"inner":{"name":true,"value":["v"]}}"#,
            r#"{}"#,
        ];
        for text in texts {
            let typed: Message<'_> = serde_json::from_str(text).unwrap();
            let value: Value = serde_json::from_str(text).unwrap();
            let from_value = Message::deserialize(&value).unwrap();
            assert_eq!(typed, from_value, "{text}");
            assert_eq!(typed.name.get(), value["name"].as_str(), "{text}");
            assert_eq!(typed.status.as_u64(), value["status"].as_u64(), "{text}");
            assert_eq!(typed.status.as_f64(), value["status"].as_f64(), "{text}");
            let inner = value["inner"].as_object();
            assert_eq!(typed.inner.0.is_some(), inner.is_some(), "{text}");
            if let (Some(t), Some(v)) = (&typed.inner.0, inner) {
                assert_eq!(t.name.get(), v.get("name").and_then(Value::as_str));
                assert_eq!(t.value.get(), v.get("value").and_then(Value::as_str));
            }
            let pairs: Vec<(Option<&str>, Option<&str>)> = value["pairs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .map(|p| {
                    (
                        p.get("name").and_then(Value::as_str),
                        p.get("value").and_then(Value::as_str),
                    )
                })
                .collect();
            let typed_pairs: Vec<_> = typed
                .pairs
                .0
                .iter()
                .map(|p| (p.name.get(), p.value.get()))
                .collect();
            assert_eq!(typed_pairs, pairs, "{text}");
        }
        let typed: Message<'_> = serde_json::from_str(texts[0]).unwrap();
        assert!(matches!(typed.name.0, Some(Cow::Borrowed("a"))));
        let escaped: Message<'_> = serde_json::from_str(texts[4]).unwrap();
        assert_eq!(escaped.name.get(), Some("esc\"aped\u{e9}"));
    }

    #[test]
    fn a_member_given_twice_is_refused_by_the_text_and_read_last_from_a_value() {
        let text = r#"{"name":"first","name":"last"}"#;
        assert!(serde_json::from_str::<Message<'_>>(text).is_err());
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            Message::deserialize(&value).unwrap().name.get(),
            Some("last")
        );
    }
}
