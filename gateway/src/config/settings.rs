//! The gateway's own settings file: what Kubernetes and istiod would otherwise provide.
//!
//! ```yaml
//! enableQuicListeners: true      # PILOT_ENABLE_QUIC_LISTENERS (the env var overrides it)
//! bindAddress: 0.0.0.0
//! statusPort: 15021
//! drainTimeout: 30s
//! ports:                         # manifest port -> bound port, as a Service's port -> targetPort
//!   443: 8443
//! upstreams:                     # destination host[:port] -> address to connect to
//!   httpbin.default.svc.cluster.local:8000: 127.0.0.1:8000
//! credentialDirectory: certs     # <credentialName>.crt / .key (relative to this file)
//! ```

use super::duration::parse_duration;
use super::error::ConfigError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable Istio's pilot reads to create QUIC listeners.
pub const QUIC_ENV: &str = "PILOT_ENABLE_QUIC_LISTENERS";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SettingsFile {
    #[serde(default)]
    enable_quic_listeners: Option<bool>,
    #[serde(default)]
    bind_address: Option<IpAddr>,
    #[serde(default)]
    status_port: Option<u16>,
    #[serde(default)]
    drain_timeout: Option<String>,
    #[serde(default)]
    connect_timeout: Option<String>,
    #[serde(default)]
    server_header: Option<String>,
    #[serde(default)]
    ports: BTreeMap<u16, u16>,
    #[serde(default)]
    upstreams: BTreeMap<String, String>,
    #[serde(default)]
    credential_directory: Option<PathBuf>,
}

/// Resolved settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Create the UDP/HTTP/3 mirror of every HTTPS server (and advertise it with alt-svc).
    pub enable_quic: bool,
    pub bind_address: IpAddr,
    /// Port of /healthz/ready and /stats/prometheus; 0 picks a free port.
    pub status_port: u16,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub drain_timeout: Duration,
    pub connect_timeout: Duration,
    /// Value of the `server` response header.
    pub server_header: String,
    /// Manifest port -> port actually bound (identity when absent).
    pub ports: BTreeMap<u16, u16>,
    /// `host:port` or `host` -> `address:port` to connect to instead of resolving by DNS.
    pub upstreams: BTreeMap<String, String>,
    pub credential_directory: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enable_quic: true,
            bind_address: IpAddr::from([0, 0, 0, 0]),
            status_port: 15021,
            drain_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            server_header: "istio-envoy".into(),
            ports: BTreeMap::new(),
            upstreams: BTreeMap::new(),
            credential_directory: None,
        }
    }
}

impl Settings {
    /// The port bound for a manifest port.
    pub fn bound_port(&self, manifest_port: u16) -> u16 {
        self.ports
            .get(&manifest_port)
            .copied()
            .unwrap_or(manifest_port)
    }

    /// Reads a settings file; `env_quic` is the value of [`QUIC_ENV`], if set.
    pub fn load(path: &Path, env_quic: Option<&str>) -> Result<Settings, Vec<ConfigError>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError::file(
                path,
                format!("cannot read settings: {e}"),
            )]
        })?;
        Self::parse(path, &text, env_quic)
    }

    pub fn parse(
        path: &Path,
        text: &str,
        env_quic: Option<&str>,
    ) -> Result<Settings, Vec<ConfigError>> {
        let field_error = |field: &str, message: String| ConfigError {
            origin: super::error::Origin::file_only(path),
            resource: Some("settings".into()),
            field: Some(field.into()),
            message,
        };
        let file: SettingsFile = if text.trim().is_empty() {
            SettingsFile::default()
        } else {
            let de = serde_yaml_ng::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let field = e.path().to_string();
                vec![field_error(&field, e.into_inner().to_string())]
            })?
        };
        let mut errors = Vec::new();
        let mut settings = Settings::default();
        if let Some(q) = file.enable_quic_listeners {
            settings.enable_quic = q;
        }
        if let Some(a) = file.bind_address {
            settings.bind_address = a;
        }
        if let Some(p) = file.status_port {
            settings.status_port = p;
        }
        for (field, value, slot) in [
            (
                "drainTimeout",
                &file.drain_timeout,
                &mut settings.drain_timeout,
            ),
            (
                "connectTimeout",
                &file.connect_timeout,
                &mut settings.connect_timeout,
            ),
        ] {
            if let Some(text) = value {
                match parse_duration(text) {
                    Ok(d) => *slot = d,
                    Err(e) => errors.push(field_error(field, e)),
                }
            }
        }
        if let Some(h) = file.server_header {
            if http::HeaderValue::from_str(&h).is_err() {
                errors.push(field_error(
                    "serverHeader",
                    "not a valid header value".into(),
                ));
            }
            settings.server_header = h;
        }
        settings.ports = file.ports;
        for (from, to) in &file.upstreams {
            if to
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .is_none()
            {
                errors.push(field_error(
                    &format!("upstreams.{from}"),
                    format!("`{to}` must be address:port"),
                ));
            }
        }
        settings.upstreams = file
            .upstreams
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        settings.credential_directory = file.credential_directory.map(|d| {
            if d.is_relative() {
                path.parent().unwrap_or(Path::new(".")).join(d)
            } else {
                d
            }
        });
        if let Some(env) = env_quic {
            match parse_bool(env) {
                Some(b) => settings.enable_quic = b,
                None => errors.push(ConfigError {
                    origin: super::error::Origin::file_only(Path::new("<environment>")),
                    resource: None,
                    field: Some(QUIC_ENV.into()),
                    message: format!("`{env}` is not a boolean"),
                }),
            }
        }
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(errors)
        }
    }

    /// Defaults plus the environment, when no settings file is given.
    pub fn from_env(env_quic: Option<&str>) -> Result<Settings, Vec<ConfigError>> {
        Self::parse(Path::new("<defaults>"), "", env_quic)
    }
}

/// Parses a boolean the way Go's strconv.ParseBool (and so istiod) does.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_settings_file() {
        let s = Settings::parse(
            Path::new("/etc/gw/settings.yaml"),
            "ports:\n  443: 8443\nupstreams:\n  Httpbin:8000: 127.0.0.1:8000\ncredentialDirectory: certs\ndrainTimeout: 5s\n",
            None,
        )
        .unwrap();
        assert_eq!(s.bound_port(443), 8443);
        assert_eq!(s.bound_port(80), 80);
        assert_eq!(s.upstreams["httpbin:8000"], "127.0.0.1:8000");
        assert_eq!(s.credential_directory, Some(PathBuf::from("/etc/gw/certs")));
        assert_eq!(s.drain_timeout, Duration::from_secs(5));
        assert!(s.enable_quic);
    }

    #[test]
    fn environment_switches_quic_off() {
        let s = Settings::parse(
            Path::new("s.yaml"),
            "enableQuicListeners: true\n",
            Some("false"),
        )
        .unwrap();
        assert!(!s.enable_quic);
        let e = Settings::parse(Path::new("s.yaml"), "", Some("maybe")).unwrap_err();
        assert!(e[0].to_string().contains(QUIC_ENV), "{}", e[0]);
    }

    #[test]
    fn unknown_field_is_named() {
        let e = Settings::parse(Path::new("s.yaml"), "port:\n  443: 8443\n", None).unwrap_err();
        let text = e[0].to_string();
        assert!(text.starts_with("s.yaml: settings"), "{text}");
        assert!(text.contains("unknown field `port`"), "{text}");
        let e = Settings::parse(Path::new("s.yaml"), "drainTimeout: soon\n", None).unwrap_err();
        assert!(
            e[0].to_string().contains("field `drainTimeout`"),
            "{}",
            e[0]
        );
    }
}
