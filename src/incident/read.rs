//! Reading an event's JSON field by field, for the store's bulk reads.
//!
//! The derived `Deserialize` for [`Event`] (a flattened, internally tagged kind) buffers every
//! field of the object before it can choose the variant. Warroom writes `"type"` before the
//! kind's fields (`{"id":…,"incident":…,"at":…,"author":…,"type":"note","text":…}`), so this
//! reader takes the header fields as they come, reads `"type"`, and lets the kind's variant read
//! the rest straight from the parser (through `KindFields`, the kind externally tagged).
//!
//! It accepts only that shape: anything else (a kind field before `"type"`, a header field
//! twice, an unknown tag) is an error here, and [`Event::from_json`] then reads the text again
//! with the derived `Deserialize`, which decides what it means. So the two can only differ in
//! speed: where this reader succeeds, the derived one gives the same event (tested in
//! tests/event_json.rs on every kind and on shuffled, duplicated and unknown fields).

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, forward_to_deserialize_any};
use uuid::Uuid;

use super::event::{Event, KindFields, utc_time};

impl Event {
    /// Parses an event's JSON (as [`serde_json::from_str`] does), quickly when the fields come
    /// in the order warroom writes them.
    pub fn from_json(text: &str) -> serde_json::Result<Event> {
        Event::from_json_streamed(text).or_else(|_| serde_json::from_str(text))
    }

    /// The field-by-field reader alone: an error for any shape but the one warroom writes.
    /// [`Event::from_json`] is what to call; this is public for the tests that hold the two
    /// readers to the same answers.
    pub fn from_json_streamed(text: &str) -> serde_json::Result<Event> {
        serde_json::from_str::<Streamed>(text).map(|s| s.0)
    }
}

struct Streamed(Event);

impl<'de> Deserialize<'de> for Streamed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EventVisitor)
    }
}

/// An object key, borrowed from the input when it has no escapes. Also how sync's wire check
/// reads an event's keys.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Key<'de> {
    fn as_str(&self) -> &str {
        &self.0
    }

    /// Hands the key to `seed` as a string, still borrowed when it was.
    fn deserialize_into<S: DeserializeSeed<'de>, E: de::Error>(self, seed: S) -> Result<S::Value, E> {
        match self.0 {
            Cow::Borrowed(s) => seed.deserialize(BorrowedStrDeserializer::new(s)),
            Cow::Owned(s) => seed.deserialize(StringDeserializer::new(s)),
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// `at`, read by the same function as the derived `Deserialize` uses.
struct At(DateTime<Utc>);

impl<'de> Deserialize<'de> for At {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        utc_time(d).map(At)
    }
}

/// The fields every event has besides its kind, wherever they come in the object.
#[derive(Default)]
struct Header {
    id: Option<Uuid>,
    incident: Option<Uuid>,
    at: Option<DateTime<Utc>>,
    author: Option<String>,
}

impl Header {
    /// Reads the value of `key` when it is a header field: Ok(true) then, Ok(false) otherwise.
    fn take<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        fn set<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<bool, E> {
            match slot.replace(value) {
                None => Ok(true),
                Some(_) => Err(E::duplicate_field(name)),
            }
        }
        match key {
            "id" => set(&mut self.id, map.next_value()?, "id"),
            "incident" => set(&mut self.incident, map.next_value()?, "incident"),
            "at" => set(&mut self.at, map.next_value::<At>()?.0, "at"),
            "author" => set(&mut self.author, map.next_value()?, "author"),
            _ => Ok(false),
        }
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Streamed;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Streamed, A::Error> {
        let mut head = Header::default();
        while let Some(key) = map.next_key::<Key>()? {
            if head.take(key.as_str(), &mut map)? {
                continue;
            }
            if key.as_str() != "type" {
                return Err(de::Error::custom("a kind field before `type`"));
            }
            let tag = map.next_value::<Key>()?;
            let kind = KindFields::deserialize(Rest { tag, map: &mut map, head: &mut head })?;
            let missing = de::Error::missing_field;
            return Ok(Streamed(Event {
                id: head.id.ok_or_else(|| missing("id"))?,
                incident: head.incident.ok_or_else(|| missing("incident"))?,
                at: head.at.ok_or_else(|| missing("at"))?,
                author: head.author.ok_or_else(|| missing("author"))?,
                kind: kind.into(),
            }));
        }
        Err(de::Error::missing_field("type"))
    }
}

/// The rest of the object after `"type"`, presented to `KindFields` as the variant named by the
/// tag whose fields are the remaining entries (header fields among them are taken out).
struct Rest<'a, 'de, A> {
    tag: Key<'de>,
    map: &'a mut A,
    head: &'a mut Header,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for Rest<'_, 'de, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, A::Error> {
        Err(de::Error::custom("an event kind is read as an enum"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

impl<'a, 'de, A: MapAccess<'de>> de::EnumAccess<'de> for Rest<'a, 'de, A> {
    type Error = A::Error;
    type Variant = Fields<'a, A>;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Fields<'a, A>), A::Error> {
        let variant = self.tag.deserialize_into(seed)?;
        Ok((variant, Fields { map: self.map, head: self.head }))
    }
}

/// The kind's fields: the object's remaining entries, less the header fields.
struct Fields<'a, A> {
    map: &'a mut A,
    head: &'a mut Header,
}

impl<'de, A: MapAccess<'de>> de::VariantAccess<'de> for Fields<'_, A> {
    type Error = A::Error;

    /// `unknown`: its other fields are ignored, as the derived `#[serde(other)]` does.
    fn unit_variant(mut self) -> Result<(), A::Error> {
        while self.next_key_seed(std::marker::PhantomData::<IgnoredAny>)?.is_some() {
            self.map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value, A::Error> {
        Err(de::Error::custom("no event kind is a newtype"))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, A::Error> {
        Err(de::Error::custom("no event kind is a tuple"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Fields<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        while let Some(key) = self.map.next_key::<Key>()? {
            if self.head.take(key.as_str(), self.map)? {
                continue;
            }
            if key.as_str() == "type" {
                return Err(de::Error::duplicate_field("type"));
            }
            return key.deserialize_into(seed).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}
