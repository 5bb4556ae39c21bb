//! List filters: WHERE clauses built from the conditions a client asked for, with their
//! `$N` placeholders numbered in order, for queries on both backends.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

/// A value a condition compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    /// A whole number.
    Int(i64),
    /// A text.
    Text(String),
}

/// The conditions of a list query, all of which must hold.
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    clauses: Vec<String>,
    params: Vec<Param>,
}

impl Conditions {
    /// Adds `clause`, whose `?` marks stand for `params` in order.
    pub(crate) fn add(&mut self, clause: &str, params: impl IntoIterator<Item = Param>) {
        let mut pieces = clause.split('?');
        let mut numbered = pieces.next().unwrap_or_default().to_owned();
        for (i, piece) in pieces.enumerate() {
            numbered.push_str(&format!("${}{piece}", self.params.len() + i + 1));
        }
        self.params.extend(params);
        self.clauses.push(numbered);
    }

    /// Adds `column = ?` when `value` is given.
    pub(crate) fn equal(&mut self, column: &str, value: Option<Param>) {
        if let Some(value) = value {
            self.add(&format!("{column} = ?"), [value]);
        }
    }

    /// The conditions joined with AND (`1 = 1` when there are none).
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".to_owned()
        } else {
            self.clauses.join(" AND ")
        }
    }

    /// Binds the parameters to `query`, whose SQL holds [`Conditions::sql`] and no other
    /// placeholders before them.
    pub(crate) fn bind<'q>(
        &self,
        mut query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Query<'q, Any, AnyArguments<'q>> {
        for param in &self.params {
            query = match param {
                Param::Int(value) => query.bind(*value),
                Param::Text(value) => query.bind(value.clone()),
            };
        }
        query
    }

    /// How many parameters are bound so far (the next placeholder is this plus one).
    pub(crate) fn bound(&self) -> usize {
        self.params.len()
    }
}

/// `?, ?, …` for `count` values.
pub(crate) fn marks(count: usize) -> String {
    vec!["?"; count].join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut conditions = Conditions::default();
        conditions.add("c.customer_id = ?", [Param::Int(7)]);
        conditions.equal("a.vassal", None);
        conditions.equal("a.class", Some(Param::Text("x".into())));
        conditions.add(
            &format!("t.name IN ({})", marks(2)),
            [Param::Text("a".into()), Param::Text("b".into())],
        );
        assert_eq!(
            conditions.sql(),
            "c.customer_id = $1 AND a.class = $2 AND t.name IN ($3, $4)"
        );
        assert_eq!(conditions.bound(), 4);
        assert_eq!(Conditions::default().sql(), "1 = 1");
    }
}
