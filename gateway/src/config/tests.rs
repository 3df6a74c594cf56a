//! Config parsing tests: the shipped examples, and each kind of invalid input with the exact
//! file, resource and field in the message.

use super::*;
use base64::Engine;
use std::path::PathBuf;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// A `kubectl create secret tls httpbin-credential -o yaml`-shaped Secret with a fresh key.
pub(crate) fn secret_yaml(name: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["httpbin.quic-corp.com".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  creationTimestamp: null\n  name: {name}\n  namespace: istio-system\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n",
        b64(&cert.pem()),
        b64(&key.serialize_pem())
    )
}

fn settings() -> Settings {
    Settings::parse(
        &examples().join("settings.yaml"),
        &std::fs::read_to_string(examples().join("settings.yaml")).unwrap(),
        None,
    )
    .unwrap()
}

const GATEWAY: &str = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['*']\n---\n";

fn errors_of(text: &str) -> Vec<String> {
    let e = parse_text("bad.yaml", text, &Settings::default()).unwrap_err();
    e.0.iter().map(ToString::to_string).collect()
}

fn assert_error(text: &str, expected: &[&str]) {
    let errors = errors_of(text);
    let joined = errors.join("\n");
    for want in expected {
        assert!(joined.contains(want), "expected `{want}` in:\n{joined}");
    }
}

#[test]
fn seed_examples_load() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.yaml");
    std::fs::write(&secret, secret_yaml("httpbin-credential")).unwrap();
    let config = load_with_settings(&[examples().join("manifests"), secret], &settings()).unwrap();
    assert_eq!(config.ports.len(), 1);
    let port = &config.ports[0];
    assert_eq!((port.port, port.bind_port), (443, 8443));
    assert_eq!(port.protocol, ServerProtocol::Https);
    assert_eq!(port.alt_svc(true).unwrap(), "h3=\":443\"; ma=86400");
    assert!(port.alt_svc(false).is_none());
    assert!(port.servers[0].certificate.is_some());
    assert_eq!(config.virtual_services.len(), 2);
    let seed = &config.virtual_services[0];
    assert_eq!(seed.id, "default/httpbin");
    assert_eq!(seed.gateways, vec!["default/httpbin-gateway".to_string()]);
    assert_eq!(seed.routes[0].matches.len(), 2);
    match &seed.routes[0].action {
        Action::Forward(d) => {
            assert_eq!(
                (d[0].host.as_str(), d[0].port, d[0].weight),
                ("httpbin", 8000, 100)
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(seed.routes[0].retries, RetryPolicy::default());
}

#[test]
fn credentials_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["a.example".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.path().join("httpbin-credential.crt"), cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("httpbin-credential.key"),
        key.serialize_pem(),
    )
    .unwrap();
    let mut s = settings();
    s.credential_directory = Some(dir.path().to_owned());
    let config = load_with_settings(&[examples().join("manifests")], &s).unwrap();
    assert!(config.ports[0].servers[0].certificate.is_some());
}

#[test]
fn missing_credential_is_named() {
    let mut s = settings();
    s.credential_directory = None;
    let e = load_with_settings(&[examples().join("manifests/httpbin-gateway.yaml")], &s)
        .unwrap_err()
        .to_string();
    assert!(e.contains("httpbin-gateway.yaml:1 (document 1): Gateway httpbin-gateway: field `spec.servers[0].tls.credentialName`: credential `httpbin-credential` not found"), "{e}");
}

#[test]
fn unknown_field_names_file_resource_and_path() {
    let text = format!("{GATEWAY}apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs\n  namespace: web\nspec:\n  hosts: [a.example]\n  gateways: [default/gw]\n  http:\n  - match:\n    - uri:\n        prefx: /a\n    route:\n    - destination: {{host: a}}\n");
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("bad.yaml:10 (document 2): VirtualService web/vs: field `spec.http[0].match[0].uri.prefx`: unknown field `prefx`, expected one of `exact`, `prefix`, `regex`"),
        "{}",
        errors[0]
    );
}

#[test]
fn wrong_types_and_missing_fields() {
    assert_error(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n  servers:\n  - port: {number: eighty, protocol: HTTP}\n    hosts: ['*']\n",
        &["Gateway gw: field `spec.servers[0].port.number`: invalid type"],
    );
    assert_error(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n  servers:\n  - port: {number: 80, protocol: HTTP}\n",
        &["Gateway gw: field `spec.servers[0]`: missing field `hosts`"],
    );
    assert_error(
        "kind: Gateway\n",
        &["bad.yaml:1 (document 1): field `apiVersion`: missing"],
    );
    assert_error("a: [\n", &["invalid YAML"]);
}

#[test]
fn semantic_errors_name_the_field() {
    let vs = |http: &str| {
        format!("{GATEWAY}apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs\nspec:\n  hosts: [a.example]\n  gateways: [gw]\n  http:\n{http}")
    };
    assert_error(
        &vs("  - match:\n    - uri: {regex: '(['}\n    route: [{destination: {host: a}}]\n"),
        &["VirtualService vs: field `spec.http[0].match[0].uri.regex`: invalid regular expression"],
    );
    assert_error(
        &vs("  - match:\n    - uri: {exact: /a, prefix: /b}\n    route: [{destination: {host: a}}]\n"),
        &["field `spec.http[0].match[0].uri`: give only one of exact, prefix or regex"],
    );
    assert_error(
        &vs("  - timeout: soon\n    route: [{destination: {host: a}}]\n"),
        &["field `spec.http[0].timeout`: `soon` is not a duration"],
    );
    assert_error(
        &vs("  - retries: {attempts: 3, retryOn: 'sometimes'}\n    route: [{destination: {host: a}}]\n"),
        &["field `spec.http[0].retries.retryOn`: `sometimes` is not a retry condition"],
    );
    assert_error(
        &vs("  - redirect: {uri: /x, redirectCode: 200}\n"),
        &["field `spec.http[0].redirect.redirectCode`: 200 is not a redirect status"],
    );
    assert_error(
        &vs("  - name: empty\n"),
        &["field `spec.http[0].route`: missing"],
    );
    assert_error(
        &vs("  - route: [{destination: {host: a, subset: v1}}]\n"),
        &["field `spec.http[0].route[0].destination.subset`: subset `v1` needs a DestinationRule"],
    );
    assert_error(
        &vs("  - route: [{destination: {host: a}, weight: 0}, {destination: {host: b}, weight: 0}]\n"),
        &["field `spec.http[0].route`: with several destinations, weights must not all be 0"],
    );
    assert_error(
        &vs("  - route: [{destination: {host: a}}]\n    headers: {request: {set: {'bad header': x}}}\n"),
        &["field `spec.http[0].headers.request.set.bad header`: `bad header` is not a valid header name"],
    );
    assert_error(
        &format!("{GATEWAY}apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs\nspec:\n  hosts: [a.example]\n  gateways: [nope]\n"),
        &["VirtualService vs: field `spec.gateways[0]`: gateway `nope` (default/nope) is not defined"],
    );
}

#[test]
fn gateway_server_errors() {
    assert_error(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n  servers:\n  - port: {number: 443, protocol: TLS}\n    hosts: ['*']\n",
        &["field `spec.servers[0].port.protocol`: `TLS` is not supported"],
    );
    assert_error(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n  servers:\n  - port: {number: 443, protocol: HTTPS}\n    hosts: ['*']\n    tls: {mode: PASSTHROUGH, credentialName: x}\n",
        &["field `spec.servers[0].tls.mode`: `PASSTHROUGH` is not supported"],
    );
    assert_error(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n  servers:\n  - port: {number: 70000, protocol: HTTP}\n    hosts: ['*']\n",
        &["field `spec.servers[0].port.number`: 70000 is not a port number"],
    );
    assert_error(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n  servers:\n  - port: {number: 80, protocol: HTTP}\n    hosts: ['*']\n  - port: {number: 80, protocol: HTTPS}\n    hosts: ['a']\n    tls: {mode: SIMPLE, credentialName: c}\n",
        &["spec.servers[1]"],
    );
}

#[test]
fn secret_errors() {
    let text = format!(
        "{}---\n{}",
        secret_yaml("other").replace("tls.key", "tls.kee"),
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n  servers:\n  - port: {number: 443, protocol: HTTPS}\n    hosts: ['*']\n    tls: {mode: SIMPLE, credentialName: other}\n"
    );
    assert_error(
        &text,
        &[
            "field `spec.servers[0].tls.credentialName`: Secret other",
            "field `data.tls.key` is missing",
        ],
    );
}

#[test]
fn validate_cli_paths_report_files() {
    let e = load_with_settings(
        &[PathBuf::from("/nonexistent/gw.yaml")],
        &Settings::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("/nonexistent/gw.yaml: cannot read file"),
        "{e}"
    );
}
