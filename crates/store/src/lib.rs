//! berth-store: persistence for berth on SQLite and PostgreSQL behind one interface.
