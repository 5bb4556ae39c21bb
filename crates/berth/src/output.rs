//! Admin output: human-readable tables by default, JSON for scripts.

use comfy_table::{presets, Table};
use serde_json::Value;

/// Prints `rows` (JSON objects) as a table of `columns`, or as a JSON array with `json`.
pub fn print_rows(rows: &[Value], columns: &[&str], json: bool) {
    if json {
        println!("{}", Value::Array(rows.to_vec()));
        return;
    }
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table.set_header(columns.iter().map(|c| c.to_uppercase()));
    for row in rows {
        table.add_row(columns.iter().map(|column| cell(&row[*column])));
    }
    println!("{table}");
}

/// Prints one object as `key: value` lines, or as JSON with `json`.
pub fn print_object(object: &Value, json: bool) {
    if json {
        println!("{object}");
        return;
    }
    if let Value::Object(map) = object {
        for (key, value) in map {
            println!("{key}: {}", cell(value));
        }
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}
