//! Configuration: Istio manifests (files or directories, several documents per file), the
//! gateway settings file, and validation into a servable [`Config`].

pub mod credentials;
pub mod duration;
pub mod error;
pub mod load;
pub mod manifest;
pub mod model;
pub mod settings;
pub mod validate;

#[cfg(test)]
mod tests;

pub use error::{ConfigError, ConfigErrors, Origin};
pub use model::*;
pub use settings::{Settings, QUIC_ENV};

use std::path::{Path, PathBuf};

/// What `gateway run` / `gateway validate` were given.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub configs: Vec<PathBuf>,
    pub settings: Option<PathBuf>,
}

impl Sources {
    /// Reads and validates everything, taking PILOT_ENABLE_QUIC_LISTENERS from the environment.
    pub fn load(&self) -> Result<Config, ConfigErrors> {
        let env = std::env::var(QUIC_ENV).ok();
        self.load_with_env(env.as_deref())
    }

    pub fn load_with_env(&self, env_quic: Option<&str>) -> Result<Config, ConfigErrors> {
        let settings = match &self.settings {
            Some(path) => Settings::load(path, env_quic),
            None => Settings::from_env(env_quic),
        }
        .map_err(ConfigErrors)?;
        load_with_settings(&self.configs, &settings)
    }
}

/// Reads and validates manifests under the given settings.
pub fn load_with_settings(paths: &[PathBuf], settings: &Settings) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    if paths.is_empty() {
        errors.push(ConfigError::file(
            Path::new("<command line>"),
            "no --config given",
        ));
        return Err(ConfigErrors(errors));
    }
    let manifests = load::load_paths(paths, &mut errors);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    validate::compile(&manifests, settings).map_err(ConfigErrors)
}

/// Parses manifests from text (one file's worth), for tests and the demo.
pub fn parse_text(name: &str, text: &str, settings: &Settings) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let mut manifests = load::Manifests::default();
    load::parse_str(Path::new(name), text, &mut manifests, &mut errors);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    validate::compile(&manifests, settings).map_err(ConfigErrors)
}
