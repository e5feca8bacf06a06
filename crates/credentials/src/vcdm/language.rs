//! §4.6 names and descriptions: a string, a language value object (`@value` with optional
//! `@language` and `@direction`, nothing else), or an array of them (one per language).

use serde_json::{Map, Value};

use super::{NonConforming, Rule, items, show};

pub(super) fn check(
    doc: &Map<String, Value>,
    property: &str,
    rule: Rule,
) -> Result<(), NonConforming> {
    let Some(value) = doc.get(property) else {
        return Ok(());
    };
    let values = items(value);
    if values.is_empty() {
        return Err(NonConforming::new(rule, format!("{property} is empty")));
    }
    match values.iter().find(|v| !is_language_value(v)) {
        Some(bad) => Err(NonConforming::new(
            rule,
            format!(
                "{property} {} is not a string or a language value object",
                show(bad)
            ),
        )),
        None => Ok(()),
    }
}

fn is_language_value(value: &Value) -> bool {
    match value {
        Value::String(_) => true,
        Value::Object(object) => {
            object.get("@value").is_some_and(Value::is_string)
                && object.iter().all(|(key, member)| match key.as_str() {
                    "@value" => true,
                    "@language" => member.as_str().is_some_and(is_language_tag),
                    "@direction" => matches!(member.as_str(), Some("ltr" | "rtl")),
                    _ => false,
                })
        }
        _ => false,
    }
}

/// The shape of a BCP 47 tag (RFC 5646 §2.1): subtags of 1–8 letters or digits joined by `-`,
/// the first of letters. Whether the subtags are registered is not checked.
fn is_language_tag(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    subtags.next().is_some_and(|first| {
        (1..=8).contains(&first.len()) && first.bytes().all(|b| b.is_ascii_alphabetic())
    }) && subtags
        .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn language_values() {
        assert!(is_language_value(&json!("Licencia")));
        assert!(is_language_value(
            &json!({"@value": "Licencia", "@language": "es-CL", "@direction": "ltr"})
        ));
        assert!(!is_language_value(&json!({"@value": "x", "@lang": "es"})));
        assert!(!is_language_value(&json!({"@language": "es"})));
        assert!(!is_language_value(
            &json!({"@value": "x", "@direction": "up"})
        ));
        assert!(!is_language_value(
            &json!({"@value": "x", "@language": "not a tag"})
        ));
        assert!(!is_language_value(&json!(3)));
    }
}
