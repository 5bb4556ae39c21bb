//! Reading fields of a JSON object the way uwsgi.it clients write them: numbers may come as
//! strings ("30001"), booleans as 0/1, and a wrong type is a 400 that names the field; and
//! reading the ids of item paths.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde_json::{Map, Value};

use crate::error::ApiError;

fn wrong(field: &str, expected: &str) -> ApiError {
    ApiError::bad_request(format!("{field}: must be {expected}"))
}

/// A whole number from a JSON number or a numeric string.
pub fn as_int(field: &str, value: &Value) -> Result<i64, ApiError> {
    match value {
        Value::Number(number) => number
            .as_i64()
            .ok_or_else(|| wrong(field, "a whole number within 64 bits")),
        Value::String(text) => text
            .trim()
            .parse::<i64>()
            .map_err(|_| wrong(field, "a whole number")),
        _ => Err(wrong(field, "a whole number")),
    }
}

/// A whole number or null (an empty string counts as null).
pub fn as_optional_int(field: &str, value: &Value) -> Result<Option<i64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.trim().is_empty() => Ok(None),
        other => as_int(field, other).map(Some),
    }
}

/// A string.
pub fn as_str<'a>(field: &str, value: &'a Value) -> Result<&'a str, ApiError> {
    value.as_str().ok_or_else(|| wrong(field, "a string"))
}

/// A string or null.
pub fn as_optional_str<'a>(field: &str, value: &'a Value) -> Result<Option<&'a str>, ApiError> {
    match value {
        Value::Null => Ok(None),
        other => as_str(field, other).map(Some),
    }
}

/// A boolean from true/false, 0/1 or "true"/"false"/"1"/"0"/"on"/"off"/"".
pub fn as_bool(field: &str, value: &Value) -> Result<bool, ApiError> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::Number(number) if number.as_i64() == Some(0) => Ok(false),
        Value::Number(number) if number.as_i64() == Some(1) => Ok(true),
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "on" | "yes" => Ok(true),
            "false" | "0" | "off" | "no" | "" => Ok(false),
            _ => Err(wrong(field, "true or false")),
        },
        _ => Err(wrong(field, "true or false")),
    }
}

/// A list of strings.
pub fn as_string_list(field: &str, value: &Value) -> Result<Vec<String>, ApiError> {
    value
        .as_array()
        .ok_or_else(|| wrong(field, "a list of strings"))?
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| wrong(field, "a list of strings"))
        })
        .collect()
}

/// An optional text field of `object`: absent, null or a string (a wrong type is 400).
pub fn optional_string(
    object: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, ApiError> {
    Ok(object
        .get(field)
        .map(|value| as_optional_str(field, value))
        .transpose()?
        .flatten()
        .map(str::to_owned))
}

/// An optional field of `object` read with `read` (e.g. [`as_optional_str`]): `None` when
/// absent, so that "absent" and "null" stay apart.
pub fn field<'a, T>(
    object: &'a Map<String, Value>,
    field: &str,
    read: impl FnOnce(&str, &'a Value) -> Result<T, ApiError>,
) -> Result<Option<T>, ApiError> {
    object
        .get(field)
        .map(|value| read(field, value))
        .transpose()
}

/// A required field of `object`.
pub fn required<'a>(object: &'a Map<String, Value>, field: &str) -> Result<&'a Value, ApiError> {
    object
        .get(field)
        .ok_or_else(|| ApiError::bad_request(format!("{field}: is required")))
}

/// An optional whole number from a query parameter: absent or empty means none (uwsgi.it
/// clients send blank form fields), anything else must be a whole number.
pub fn query_int(field: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| wrong(field, "a whole number")),
    }
}

/// The numeric id that ends an item path (`/tags/<id>`); anything that is not a whole
/// number is a 404, like a missing object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ObjectId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        path_id(&text).map(ObjectId)
    }
}

/// Parses a path id; anything that is not a whole number is a 404, like a missing object.
pub fn path_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().map_err(|_| ApiError::not_found())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_may_be_strings() {
        assert_eq!(as_int("uid", &json!("30001")), Ok(30001));
        assert_eq!(as_int("uid", &json!(30001)), Ok(30001));
        assert!(as_int("uid", &json!(1.5)).is_err());
        assert!(as_int("uid", &json!(1e300)).is_err());
        assert!(as_int("uid", &json!("x")).is_err());
        assert!(as_int("uid", &json!(null)).is_err());
    }

    #[test]
    fn booleans_accept_form_values() {
        assert_eq!(as_bool("f", &json!(true)), Ok(true));
        assert_eq!(as_bool("f", &json!(0)), Ok(false));
        assert_eq!(as_bool("f", &json!("on")), Ok(true));
        assert!(as_bool("f", &json!(7)).is_err());
    }

    #[test]
    fn blank_query_numbers_are_no_filter() {
        assert_eq!(query_int("level", None), Ok(None));
        assert_eq!(query_int("level", Some("")), Ok(None));
        assert_eq!(query_int("level", Some("2")), Ok(Some(2)));
        assert!(query_int("level", Some("high")).is_err());
    }

    #[test]
    fn path_ids_are_numbers_or_not_found() {
        assert_eq!(path_id("12"), Ok(12));
        assert_eq!(path_id("1x").map_err(|e| e.status.as_u16()), Err(404));
        assert_eq!(
            path_id("99999999999999999999").map_err(|e| e.status.as_u16()),
            Err(404)
        );
    }
}
