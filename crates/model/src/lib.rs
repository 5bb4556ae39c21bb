//! berth-model: the domain types and rules of berth, pure: no I/O, no async.
