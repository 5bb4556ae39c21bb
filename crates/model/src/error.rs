//! The error every validation in berth returns.

use std::fmt;

/// A value a client sent that berth refuses, with the field it came in and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The name of the offending field, as the client spelt it.
    pub field: String,
    /// What is wrong with it, in words a customer understands.
    pub message: String,
}

impl ValidationError {
    /// A validation error for `field` saying `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}
