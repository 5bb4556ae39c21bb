//! One operation of the document: its summary, parameters, request body, success answer and
//! every error status it can answer, each with the error body's schema.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::reference;

/// One operation: what it does, its parameters, request body schema and success answer.
pub(super) struct Operation {
    summary: &'static str,
    parameters: Vec<Value>,
    body: Option<Value>,
    status: &'static str,
    answer: Value,
    errors: &'static [&'static str],
    /// Overrides the document's security requirements (`[]`: no credentials needed).
    security: Option<Value>,
}

impl Operation {
    /// An operation answering `status` with a body of schema `answer` on success.
    pub(super) fn new(summary: &'static str, status: &'static str, answer: Value) -> Operation {
        Operation {
            summary,
            parameters: Vec::new(),
            body: None,
            status,
            answer,
            errors: &["401"],
            security: None,
        }
    }

    /// An optional query parameter.
    pub(super) fn query(mut self, name: &str, description: &str) -> Operation {
        self.parameters.push(json!({
            "name": name, "in": "query", "required": false,
            "schema": {"type": "string"}, "description": description,
        }));
        self
    }

    /// The request body's schema.
    pub(super) fn body(mut self, schema: Value) -> Operation {
        self.body = Some(schema);
        self
    }

    /// The error statuses of the operation itself (those that come with credentials, a
    /// body, a query or path parameters are added by [`Operation::statuses`]).
    pub(super) fn errors(mut self, errors: &'static [&'static str]) -> Operation {
        self.errors = errors;
        self
    }

    /// Needs no credentials.
    pub(super) fn public(self) -> Operation {
        self.security(json!([]))
    }

    /// Other security requirements than the document's.
    pub(super) fn security(mut self, security: Value) -> Operation {
        self.security = Some(security);
        self
    }

    /// Every error status the operation can answer: its own, and those that come with
    /// credentials (401, 403 for a staff-only account, 429 for too many failed logins), a
    /// body (400, 408, 413), a query (400), a path with ids (404) and the store (500).
    fn statuses(&self, path_parameters: &[&str]) -> BTreeSet<&'static str> {
        let mut statuses: BTreeSet<&'static str> = self.errors.iter().copied().collect();
        let public = self
            .security
            .as_ref()
            .is_some_and(|security| security.as_array().is_some_and(Vec::is_empty));
        if !public {
            statuses.extend(["401", "403", "429"]);
        }
        if self.body.is_some() {
            statuses.extend(["400", "408", "413"]);
        }
        if !self.parameters.is_empty() {
            statuses.insert("400");
        }
        if !path_parameters.is_empty() {
            statuses.insert("404");
        }
        statuses.insert("500");
        statuses
    }

    /// The operation object of the document, under a path with `path_parameters`.
    pub(super) fn render(self, path_parameters: &[&str]) -> Value {
        let statuses = self.statuses(path_parameters);
        let mut parameters: Vec<Value> = path_parameters
            .iter()
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        parameters.extend(self.parameters);
        let mut responses = Map::new();
        responses.insert(
            self.status.to_owned(),
            json!({"description": "success", "content": {"application/json": {"schema": self.answer}}}),
        );
        for status in statuses {
            let mut response = json!({
                "description": error_description(status),
                "content": {"application/json": {"schema": reference("Error")}},
            });
            if status == "429" {
                response["headers"] = json!({"Retry-After": {
                    "description": "seconds to wait before trying again",
                    "schema": {"type": "integer"},
                }});
            }
            responses.insert(status.to_owned(), response);
        }
        let mut operation = json!({
            "summary": self.summary,
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(body) = self.body {
            operation["requestBody"] = json!({"content": {"application/json": {"schema": body}}});
        }
        if let Some(security) = self.security {
            operation["security"] = security;
        }
        operation
    }
}

/// What an error status means, in the document.
fn error_description(status: &str) -> &'static str {
    match status {
        "400" => "a malformed body, field or query parameter",
        "401" => "missing or wrong credentials",
        "403" => "not yours, not allowed, or not a customer account",
        "404" => "no such object (or not yours)",
        "405" => "method not allowed",
        "408" => "the request body did not arrive in time",
        "409" => "conflicts with the current state",
        "413" => "the request body is larger than 64 KiB",
        "416" => "the range is not satisfiable",
        "429" => "too many failed logins from this address or for this username; see Retry-After",
        "500" => "the store failed",
        _ => "error",
    }
}
