//! Every answer the tests get from `/api` checked against `/api/openapi.json`: the path must
//! match a documented template, the method must be documented for it, the status documented
//! for the operation, and the body valid against that status's schema (OpenAPI 3.1 schemas
//! are JSON Schema 2020-12; `#/components/schemas/…` references resolve inside a schema that
//! embeds the document's components). What the document does not list must be refused: an
//! unknown path with 404, an unlisted method with 405, both with the error body.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

/// The document and the validators compiled from it so far, by schema.
struct Checker {
    document: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(|| Checker {
        document: berth_api::openapi::document(),
        validators: Mutex::new(HashMap::new()),
    })
}

/// Whether the segment `actual` of a request path matches the segment `template`, where
/// `{name}` stands for any non-empty text (`container.{metric}` matches `container.mem.rss`).
fn segment_matches(template: &str, actual: &str) -> bool {
    let Some((prefix, rest)) = template.split_once('{') else {
        return template == actual;
    };
    let suffix = rest.split_once('}').map_or("", |(_, suffix)| suffix);
    actual.len() > prefix.len() + suffix.len()
        && actual.starts_with(prefix)
        && actual.ends_with(suffix)
}

/// The documented template `path` (below `/api`, without its query) matches; the one with
/// the most literal segments when several do.
fn template<'a>(paths: &'a Map<String, Value>, path: &str) -> Option<&'a str> {
    let path = match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    };
    let actual: Vec<&str> = path.split('/').collect();
    paths
        .keys()
        .filter(|template| {
            let segments: Vec<&str> = template.split('/').collect();
            segments.len() == actual.len()
                && segments
                    .iter()
                    .zip(&actual)
                    .all(|(template, actual)| segment_matches(template, actual))
        })
        .max_by_key(|template| template.split('/').filter(|s| !s.contains('{')).count())
        .map(String::as_str)
}

impl Checker {
    /// The validator of `schema`, with the document's component schemas beside it.
    fn validator(&self, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        let key = schema.to_string();
        let mut validators = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(validator) = validators.get(&key) {
            return Ok(validator.clone());
        }
        let mut root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": {"schemas": self.document["components"]["schemas"].clone()},
        });
        match schema {
            Value::Object(fields) => {
                for (name, value) in fields {
                    root[name] = value.clone();
                }
            }
            other => return Err(format!("the schema is not an object: {other}")),
        }
        let validator = Arc::new(
            jsonschema::draft202012::new(&root)
                .map_err(|error| format!("the schema does not compile: {error}"))?,
        );
        validators.insert(key, validator.clone());
        Ok(validator)
    }

    /// Why the answer `status` `body` to `method` `path` (below `/api`) does not follow the
    /// document, if it does not. What the document does not list must be refused: a path
    /// no template matches with 404, a method its path does not list with 405, each with the
    /// error body.
    fn check(
        &self,
        method: &Method,
        path: &str,
        status: StatusCode,
        body: &Value,
    ) -> Result<(), String> {
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        let paths = self.document["paths"]
            .as_object()
            .ok_or("the document has no paths")?;
        let error = json!({"$ref": "#/components/schemas/Error"});
        let Some(template) = template(paths, path) else {
            if status != StatusCode::NOT_FOUND {
                return Err("no documented path matches, yet the answer is not 404".into());
            }
            return self.validate(&error, body, "an unknown path's 404");
        };
        let method_name = method.as_str().to_lowercase();
        let Some(operation) = paths[template].get(&method_name) else {
            if status != StatusCode::METHOD_NOT_ALLOWED {
                return Err(format!(
                    "{template} documents no {method}, yet the answer is not 405"
                ));
            }
            return self.validate(&error, body, "an undocumented method's 405");
        };
        let response = operation["responses"]
            .get(status.as_str())
            .ok_or_else(|| format!("{method} {template} documents no status {status}"))?;
        let schema = &response["content"]["application/json"]["schema"];
        if schema.is_null() {
            return Err(format!(
                "{method} {template} {status} documents no JSON body"
            ));
        }
        self.validate(schema, body, &format!("{method} {template} {status}"))
    }

    /// Why `body` does not match `schema` (the schema of `what`), if it does not.
    fn validate(&self, schema: &Value, body: &Value, what: &str) -> Result<(), String> {
        let validator = self.validator(schema)?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|error| format!("at {:?}: {error}", error.instance_path().to_string()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the body does not match the schema of {what}: {}",
                errors.join("; ")
            ))
        }
    }
}

/// Why the answer `status` `body` to `method` `path` (`/api/…`, query included) is not what
/// `/api/openapi.json` documents, if it is not.
pub fn check(method: &Method, path: &str, status: StatusCode, body: &Value) -> Result<(), String> {
    let below = path.strip_prefix("/api").unwrap_or(path);
    checker().check(method, below, status, body)
}

/// Fails the test unless the answer `status` `body` to `method` `path` (`/api/…`, query
/// included) is what `/api/openapi.json` documents.
pub fn assert_documented(method: &Method, path: &str, status: StatusCode, body: &Value) {
    if let Err(error) = check(method, path, status, body) {
        panic!("{method} {path} answered {status} {body}, against /api/openapi.json: {error}");
    }
}

/// Whether `path` (query included) goes to the customer API.
pub fn is_customer_api(path: &str) -> bool {
    path.starts_with("/api/")
}
