//! `SSLKEYLOGFILE`: when it is set, the runtime's TLS configurations log their secrets to it.
//!
//! rustls' [`KeyLogFile`](rustls::KeyLogFile) opens the file in append mode, so several
//! endpoints and processes can share it; one instance serves the whole process.

use std::sync::{Arc, OnceLock};

/// The process-wide key log, if `SSLKEYLOGFILE` is set.
fn key_log() -> Option<Arc<dyn rustls::KeyLog>> {
    static LOG: OnceLock<Option<Arc<dyn rustls::KeyLog>>> = OnceLock::new();
    LOG.get_or_init(|| {
        std::env::var_os("SSLKEYLOGFILE")
            .map(|_| Arc::new(rustls::KeyLogFile::new()) as Arc<dyn rustls::KeyLog>)
    })
    .clone()
}

/// Whether `log` already writes secrets (the default `NoKeyLog` does not).
fn logs(log: &Arc<dyn rustls::KeyLog>) -> bool {
    log.will_log("CLIENT_HANDSHAKE_TRAFFIC_SECRET")
}

/// `config` with the key log installed, unless unset or it already logs.
pub(super) fn client(config: Arc<rustls::ClientConfig>) -> Arc<rustls::ClientConfig> {
    match key_log() {
        Some(log) if !logs(&config.key_log) => {
            let mut c = (*config).clone();
            c.key_log = log;
            Arc::new(c)
        }
        _ => config,
    }
}

/// `config` with the key log installed, unless unset or it already logs.
pub(super) fn server(config: Arc<rustls::ServerConfig>) -> Arc<rustls::ServerConfig> {
    match key_log() {
        Some(log) if !logs(&config.key_log) => {
            let mut c = (*config).clone();
            c.key_log = log;
            Arc::new(c)
        }
        _ => config,
    }
}
