//! berth-api: the HTTP control plane of berth.
