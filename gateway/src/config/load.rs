//! Reading manifests: files or directories of files, several YAML documents per file.

use super::error::{ConfigError, Origin};
use super::manifest::{GatewayManifest, SecretManifest, VirtualServiceManifest};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};

/// Every resource read, in the order read (files sorted by name within a directory).
#[derive(Debug, Default, Clone)]
pub struct Manifests {
    pub gateways: Vec<(Origin, GatewayManifest)>,
    pub virtual_services: Vec<(Origin, VirtualServiceManifest)>,
    pub secrets: Vec<(Origin, SecretManifest)>,
}

const ISTIO_NETWORKING: &str = "networking.istio.io/";

/// Reads every path: a file, or a directory whose `.yaml`, `.yml` and `.json` files are read
/// in name order (not recursively, like `kubectl apply -f DIR`).
pub fn load_paths(paths: &[PathBuf], errors: &mut Vec<ConfigError>) -> Manifests {
    let mut out = Manifests::default();
    for path in paths {
        if path.is_dir() {
            let mut files = match std::fs::read_dir(path) {
                Ok(entries) => entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.is_file()
                            && matches!(
                                p.extension().and_then(|e| e.to_str()),
                                Some("yaml" | "yml" | "json")
                            )
                    })
                    .collect::<Vec<_>>(),
                Err(e) => {
                    errors.push(ConfigError::file(
                        path,
                        format!("cannot read directory: {e}"),
                    ));
                    continue;
                }
            };
            files.sort();
            if files.is_empty() {
                errors.push(ConfigError::file(
                    path,
                    "directory holds no .yaml, .yml or .json file",
                ));
            }
            for file in files {
                load_file(&file, &mut out, errors);
            }
        } else {
            load_file(path, &mut out, errors);
        }
    }
    out
}

fn load_file(path: &Path, out: &mut Manifests, errors: &mut Vec<ConfigError>) {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_str(path, &text, out, errors),
        Err(e) => errors.push(ConfigError::file(path, format!("cannot read file: {e}"))),
    }
}

/// The 1-based line where each document starts (the line after each `---` separator).
fn document_lines(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut seen_content = false;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") {
            starts.push(i + 2);
            seen_content = true;
        } else if !seen_content && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            starts.push(1);
            seen_content = true;
        }
    }
    starts
}

/// Parses the documents of one file's text into `out`.
pub fn parse_str(path: &Path, text: &str, out: &mut Manifests, errors: &mut Vec<ConfigError>) {
    let lines = document_lines(text);
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let origin = Origin {
            file: path.to_owned(),
            document: index + 1,
            line: lines.get(index).copied().unwrap_or(1),
        };
        let value = match Value::deserialize(document) {
            Ok(v) => v,
            Err(e) => {
                errors.push(ConfigError {
                    origin,
                    resource: None,
                    field: None,
                    message: format!("invalid YAML: {e}"),
                });
                // The YAML stream cannot be resynchronised after a syntax error.
                return;
            }
        };
        add_value(origin, value, out, errors);
    }
}

fn add_value(origin: Origin, value: Value, out: &mut Manifests, errors: &mut Vec<ConfigError>) {
    if value.is_null() {
        return;
    }
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let (Some(kind), Some(api_version)) = (text("kind"), text("apiVersion")) else {
        errors.push(ConfigError {
            origin,
            resource: None,
            field: Some(
                if value.get("kind").is_none() {
                    "kind"
                } else {
                    "apiVersion"
                }
                .into(),
            ),
            message:
                "missing (every document must be a Kubernetes resource with apiVersion and kind)"
                    .into(),
        });
        return;
    };
    let name = value
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>")
        .to_owned();
    let namespace = value
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let resource = match &namespace {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    };
    let istio = api_version.starts_with(ISTIO_NETWORKING);
    match kind.as_str() {
        "List" if api_version == "v1" => {
            if let Some(Value::Sequence(items)) = value.get("items") {
                for item in items.clone() {
                    add_value(origin.clone(), item, out, errors);
                }
            }
        }
        "Gateway" if istio => {
            if let Some(g) = typed(&origin, &resource, value, errors) {
                out.gateways.push((origin, g));
            }
        }
        "VirtualService" if istio => {
            if let Some(v) = typed(&origin, &resource, value, errors) {
                out.virtual_services.push((origin, v));
            }
        }
        "Secret" if api_version == "v1" => {
            if let Some(s) = typed(&origin, &resource, value, errors) {
                out.secrets.push((origin, s));
            }
        }
        "Gateway" | "VirtualService" => errors.push(ConfigError {
            origin,
            resource: Some(resource),
            field: Some("apiVersion".into()),
            message: format!(
                "`{api_version}` is not supported: expected networking.istio.io/v1, v1beta1 or v1alpha3"
            ),
        }),
        _ => tracing::warn!(
            "{origin}: {resource} ({api_version}) is not a kind this gateway reads; ignored"
        ),
    }
}

fn typed<T: DeserializeOwned>(
    origin: &Origin,
    resource: &str,
    value: Value,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(t) => Some(t),
        Err(e) => {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            errors.push(ConfigError {
                origin: origin.clone(),
                resource: Some(resource.to_owned()),
                field: (path != ".").then_some(path),
                message,
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_lines_follow_separators() {
        assert_eq!(document_lines("a: 1\n---\nb: 2\n"), vec![1, 3]);
        assert_eq!(document_lines("---\na: 1\n---\nb: 2\n"), vec![2, 4]);
        assert_eq!(document_lines("# c\n\na: 1\n"), vec![1]);
    }
}
