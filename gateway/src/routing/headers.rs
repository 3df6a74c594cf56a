//! Header rules (`headers.request` / `headers.response`: set, add, remove).

use crate::config::HeaderOps;
use http::HeaderMap;

/// Applies one set of operations: remove, then set (replace), then add (append), as Envoy
/// orders header manipulation.
pub fn apply(ops: &HeaderOps, headers: &mut HeaderMap) {
    for name in &ops.remove {
        headers.remove(name);
    }
    for (name, value) in &ops.set {
        headers.insert(name.clone(), value.clone());
    }
    for (name, value) in &ops.add {
        headers.append(name.clone(), value.clone());
    }
}
