//! The JSON shapes of the staff API, shared with `berth admin --json`.

use berth_store::containers::ContainerSummary;
use berth_store::customers::CustomerListing;
use berth_store::distros::Distro;
use berth_store::domains::Domain;
use berth_store::news::News;
use berth_store::payments::Payment;
use berth_store::servers::Server;
use serde_json::{json, Value};

use crate::customer::containers::summary_json;

/// A customer in staff listings.
pub fn customer(listing: &CustomerListing) -> Value {
    let customer = &listing.customer;
    json!({
        "username": customer.username,
        "uuid": customer.uuid,
        "email": customer.email,
        "company": customer.company,
        "vat": customer.vat,
        "containers": listing.containers,
    })
}

/// A server with its capacity and use.
pub fn server(server: &Server) -> Value {
    let capacity = &server.capacity;
    json!({
        "name": server.name,
        "address": server.address,
        "uuid": server.uuid,
        "memory": capacity.memory,
        "storage": capacity.storage,
        "used_memory": capacity.used_memory,
        "used_storage": capacity.used_storage,
        "free_memory": capacity.free_memory(),
        "free_storage": capacity.free_storage(),
        "weight": server.weight,
        "owner": server.owner,
        "datacenter": server.datacenter,
    })
}

/// A distro.
pub fn distro(distro: &Distro) -> Value {
    json!({"id": distro.id, "name": distro.name, "path": distro.path, "uuid": distro.uuid})
}

/// A container in staff listings: the customer's list shape plus its owner.
pub fn container(summary: &ContainerSummary) -> Value {
    let mut value = summary_json(summary);
    if let Value::Object(map) = &mut value {
        map.insert("customer".to_owned(), json!(summary.customer));
    }
    value
}

/// A domain in staff listings: the customer's detail shape plus its owner.
pub fn domain(domain: &Domain) -> Value {
    let mut value = crate::customer::domains::detail_json(domain);
    value["customer"] = json!(domain.customer);
    value
}

/// A news item with its audience; `date` is when it was published (unix seconds).
pub fn news(item: &News) -> Value {
    json!({"id": item.id, "content": item.content, "public": item.public, "date": item.created_at})
}

/// A payment booked on a customer's account; `paid_at` is unix seconds.
pub fn payment(payment: &Payment) -> Value {
    json!({
        "id": payment.id,
        "amount": payment.amount,
        "source": payment.source,
        "note": payment.note,
        "paid_at": payment.paid_at,
    })
}
