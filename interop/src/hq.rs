//! HTTP/0.9 over QUIC as the interop runner uses it (RUNNER.md §1.7): the client sends
//! `GET /path\r\n` on a bidirectional stream and finishes it; the server answers with the file's
//! bytes and FIN.

use std::path::{Component, Path, PathBuf};

/// ALPN of HTTP/0.9 over QUIC.
pub const ALPN: &[u8] = b"hq-interop";

/// The request line for `path`.
pub fn request(path: &str) -> Vec<u8> {
    format!("GET {path}\r\n").into_bytes()
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadRequest {
    /// Not `GET <path>`.
    Malformed,
    /// The path leaves the served directory or names no regular file.
    NotFound,
}

/// Finds the file a request names under `www`, refusing anything that escapes it.
pub fn resolve(www: &Path, request: &[u8]) -> Result<PathBuf, BadRequest> {
    let line = std::str::from_utf8(request).map_err(|_| BadRequest::Malformed)?;
    let path = line
        .strip_prefix("GET ")
        .ok_or(BadRequest::Malformed)?
        .trim_end_matches(['\r', '\n', ' '])
        .trim_start();
    if !path.starts_with('/') || path.contains('\0') {
        return Err(BadRequest::Malformed);
    }
    let relative = Path::new(path.trim_start_matches('/'));
    // Only plain names: no "..", no root, no prefixes.
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(BadRequest::NotFound);
    }
    let full = www.join(relative);
    // Symlinks could still point outside: compare canonical paths.
    let canonical = full.canonicalize().map_err(|_| BadRequest::NotFound)?;
    let root = www.canonicalize().map_err(|_| BadRequest::NotFound)?;
    if !canonical.starts_with(&root) || !canonical.is_file() {
        return Err(BadRequest::NotFound);
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_only_files_inside_www() {
        let dir = std::env::temp_dir().join(format!("hq-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/f"), b"x").unwrap();
        assert_eq!(
            resolve(&dir, b"GET /sub/f\r\n").unwrap(),
            dir.canonicalize().unwrap().join("sub/f")
        );
        assert_eq!(
            resolve(&dir, b"GET /sub/f").unwrap(),
            dir.canonicalize().unwrap().join("sub/f")
        );
        assert_eq!(
            resolve(&dir, b"GET /../etc/passwd\r\n"),
            Err(BadRequest::NotFound)
        );
        assert_eq!(resolve(&dir, b"GET /sub\r\n"), Err(BadRequest::NotFound));
        assert_eq!(
            resolve(&dir, b"GET /missing\r\n"),
            Err(BadRequest::NotFound)
        );
        assert_eq!(
            resolve(&dir, b"POST /sub/f\r\n"),
            Err(BadRequest::Malformed)
        );
        assert_eq!(resolve(&dir, b"GET sub/f\r\n"), Err(BadRequest::Malformed));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
