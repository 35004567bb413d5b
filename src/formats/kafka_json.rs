//! The rules of Kafka's own JSON reader (`org.apache.kafka.server.util.json`, Jackson with
//! default settings underneath), so files Kafka accepts parse here and files it rejects fail
//! with its message text:
//! - duplicate object keys: the last one wins (serde_json's `Value` does the same);
//! - no type coercion: `"0"` and `1.0` are not integers, an integer must fit an `int32`;
//! - content after the first JSON value is ignored (Jackson's `readTree` stops there);
//! - the messages are Kafka's (`No such field exists: ...`, ``Expected `Integer` value, ...``).

use serde::Deserialize;
use serde_json::{Map, Value};

/// Why the text is not a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonParseFailure {
    /// Nothing to parse (Kafka: `The input string shouldn't be empty`).
    Empty,
    /// A syntax error, phrased like Jackson's (`Unexpected character ...`).
    Syntax {
        line: Option<usize>,
        message: String,
    },
}

/// Parses the first JSON value of `text`, as Jackson's `readTree` does.
pub(crate) fn parse_full(text: &str) -> Result<Value, JsonParseFailure> {
    // Kafka only rejects the truly empty string this way; a file of only whitespace would
    // reach Jackson and fail less clearly. Both mean "no content", so both get this message.
    if text.trim().is_empty() {
        return Err(JsonParseFailure::Empty);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    // No `de.end()`: trailing content is ignored, as in Jackson's default configuration.
    Value::deserialize(&mut de).map_err(|e| syntax_failure(text, &e))
}

fn syntax_failure(text: &str, e: &serde_json::Error) -> JsonParseFailure {
    let line = (e.line() > 0).then_some(e.line());
    let msg = e.to_string();
    let detail = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    let position = format!("line: {}, column: {}", e.line(), e.column());
    let message = if e.is_eof() {
        format!("Unexpected end-of-input: {detail} at [{position}]")
    } else {
        match char_at(text, e.line(), e.column()) {
            Some(c) => format!(
                "Unexpected character ({} (code {})): {detail} at [{position}]",
                quote_char(c),
                c as u32
            ),
            None => format!("Unexpected character: {detail} at [{position}]"),
        }
    };
    JsonParseFailure::Syntax { line, message }
}

/// The character serde_json points at (line and column are 1-based; the column counts bytes).
fn char_at(text: &str, line: usize, column: usize) -> Option<char> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let idx = column.saturating_sub(1).min(l.len());
    l.get(idx..)
        .and_then(|rest| rest.chars().next())
        .or_else(|| l.chars().last())
}

fn quote_char(c: char) -> String {
    if c.is_control() {
        format!("CTRL-CHAR, code {}", c as u32)
    } else {
        format!("'{c}'")
    }
}

/// Jackson renders a node in messages as compact JSON; so does serde_json.
pub(crate) fn render(v: &Value) -> String {
    v.to_string()
}

pub(crate) fn as_object(v: &Value) -> Result<&Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("Expected JSON object, received {}", render(v)))
}

pub(crate) fn as_array(v: &Value) -> Result<&Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("Expected JSON array, received {}", render(v)))
}

/// A required field (Kafka's `JsonObject.apply`).
pub(crate) fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    obj.get(name)
        .ok_or_else(|| format!("No such field exists: `{name}`"))
}

/// An `int32` (Kafka's `DecodeInteger`: only JSON integers that fit 32 bits).
pub(crate) fn to_int(v: &Value) -> Result<i32, String> {
    v.as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| format!("Expected `Integer` value, received {}", render(v)))
}

pub(crate) fn to_string(v: &Value) -> Result<&str, String> {
    v.as_str()
        .ok_or_else(|| format!("Expected `String` value, received {}", render(v)))
}

fn to_list(v: &Value) -> Result<&Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("Expected `JSON array` value, received {}", render(v)))
}

pub(crate) fn to_int_list(v: &Value) -> Result<Vec<i32>, String> {
    to_list(v)?.iter().map(to_int).collect()
}

pub(crate) fn to_string_list(v: &Value) -> Result<Vec<String>, String> {
    to_list(v)?
        .iter()
        .map(|e| to_string(e).map(str::to_string))
        .collect()
}

/// Java's `List.toString` of the given items: `[1, 2]`, strings unquoted.
pub(crate) fn java_list<T: std::fmt::Display>(items: &[T]) -> String {
    let inner: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    format!("[{}]", inner.join(", "))
}

/// A JSON string literal (escaped as Jackson does for the characters topic names and paths
/// can contain).
pub(crate) fn string_literal(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_names_the_character() {
        let Err(JsonParseFailure::Syntax { line, message }) = parse_full("{invalid_json") else {
            panic!("expected a syntax error");
        };
        assert_eq!(line, Some(1));
        assert!(
            message.starts_with("Unexpected character ('i' (code 105))"),
            "{message}"
        );
    }

    #[test]
    fn eof_and_empty() {
        assert_eq!(parse_full(""), Err(JsonParseFailure::Empty));
        assert_eq!(parse_full(" \n"), Err(JsonParseFailure::Empty));
        let Err(JsonParseFailure::Syntax { message, .. }) = parse_full("{\"a\":") else {
            panic!("expected a syntax error");
        };
        assert!(message.starts_with("Unexpected end-of-input"), "{message}");
    }

    #[test]
    fn trailing_content_is_ignored_and_last_key_wins() {
        let v = parse_full("{\"a\":1,\"a\":2} trailing").unwrap();
        assert_eq!(v["a"], 2);
    }

    #[test]
    fn integers_are_not_coerced() {
        assert_eq!(to_int(&Value::from(7)), Ok(7));
        assert_eq!(to_int(&Value::from(-1)), Ok(-1));
        for (v, shown) in [
            (serde_json::json!("0"), "\"0\""),
            (serde_json::json!(1.0), "1.0"),
            (serde_json::json!(2147483648i64), "2147483648"),
            (serde_json::json!(null), "null"),
        ] {
            assert_eq!(
                to_int(&v),
                Err(format!("Expected `Integer` value, received {shown}"))
            );
        }
    }

    #[test]
    fn java_list_rendering() {
        assert_eq!(java_list(&[1, 2]), "[1, 2]");
        assert_eq!(java_list(&["any"]), "[any]");
        assert_eq!(java_list::<i32>(&[]), "[]");
    }
}
