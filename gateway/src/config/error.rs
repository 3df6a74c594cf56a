//! Configuration errors that name the file, the resource and the field.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a resource came from: a file and the YAML document within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    /// 1-based index of the document in a multi-document file.
    pub document: usize,
    /// 1-based line on which the document starts.
    pub line: usize,
}

impl Origin {
    pub fn file_only(file: &Path) -> Self {
        Origin {
            file: file.to_owned(),
            document: 0,
            line: 0,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.document == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(
                f,
                "{}:{} (document {})",
                self.file.display(),
                self.line,
                self.document
            )
        }
    }
}

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub origin: Origin,
    /// `Kind namespace/name`, when the problem is inside a resource.
    pub resource: Option<String>,
    /// The field path, e.g. `spec.http[0].match[0].uri`.
    pub field: Option<String>,
    pub message: String,
}

impl ConfigError {
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            origin: Origin::file_only(file),
            resource: None,
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(resource) = &self.resource {
            write!(f, ": {resource}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found; nothing starts while this is non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

/// Collects errors for one resource.
pub(crate) struct Reporter<'a> {
    pub origin: &'a Origin,
    pub resource: String,
    pub errors: &'a mut Vec<ConfigError>,
}

impl Reporter<'_> {
    pub fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            origin: self.origin.clone(),
            resource: Some(self.resource.clone()),
            field: Some(field.into()),
            message: message.into(),
        });
    }
}
