//! The running gateway: listeners for every port, the status port, reload and shutdown.

use crate::config::{Config, ServerProtocol, Sources};
use crate::listeners::http3::{Http3ListenerSpec, Http3Runtime};
use crate::listeners::tcp::TcpListenerHandle;
use crate::listeners::{ListenerKind, RunningListener};
use crate::ops::status::StatusServer;
use crate::ops::Metrics;
use crate::service::GatewayService;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Options that are not configuration.
#[derive(Clone, Default)]
pub struct StartOptions {
    /// The HTTP/3 runtime that starts UDP listeners; `None` until it exists (see
    /// [`crate::listeners::http3`]).
    pub http3: Option<Arc<dyn Http3Runtime>>,
}

pub struct Gateway;

struct Entry {
    bind: SocketAddr,
    listener: Box<dyn RunningListener>,
}

/// A started gateway.
pub struct GatewayHandle {
    service: GatewayService,
    ready: Arc<AtomicBool>,
    status: StatusServer,
    listeners: Mutex<BTreeMap<(u16, ListenerKind), Entry>>,
    options: StartOptions,
    drain_timeout: Mutex<Duration>,
}

impl Gateway {
    /// Binds every listener and the status port; nothing is left running on error.
    pub async fn start(config: Config, options: StartOptions) -> std::io::Result<GatewayHandle> {
        let metrics = Arc::new(Metrics::new());
        let service = GatewayService::new(&config, metrics.clone());
        let ready = Arc::new(AtomicBool::new(false));
        let status_addr =
            SocketAddr::new(config.settings.bind_address, config.settings.status_port);
        let status = StatusServer::start(status_addr, metrics, ready.clone()).await?;
        let handle = GatewayHandle {
            service,
            ready,
            status,
            listeners: Mutex::new(BTreeMap::new()),
            options,
            drain_timeout: Mutex::new(config.settings.drain_timeout),
        };
        if let Err(e) = handle.sync_listeners(&config).await {
            handle.abort().await;
            return Err(e);
        }
        handle.ready.store(true, Ordering::Relaxed);
        Ok(handle)
    }
}

impl GatewayHandle {
    pub fn service(&self) -> &GatewayService {
        &self.service
    }

    pub fn status_addr(&self) -> SocketAddr {
        self.status.addr
    }

    /// The address the TCP listener of manifest port `port` is bound to.
    pub async fn local_addr(&self, port: u16) -> Option<SocketAddr> {
        self.listeners
            .lock()
            .await
            .get(&(port, ListenerKind::Tcp))
            .map(|e| e.listener.local_addr())
    }

    /// The address the UDP (HTTP/3) listener of manifest port `port` is bound to, if it runs.
    pub async fn quic_addr(&self, port: u16) -> Option<SocketAddr> {
        self.listeners
            .lock()
            .await
            .get(&(port, ListenerKind::Quic))
            .map(|e| e.listener.local_addr())
    }

    /// Starts listeners for new ports (or moved bind ports) and stops removed ones.
    async fn sync_listeners(&self, config: &Config) -> std::io::Result<()> {
        let settings = &config.settings;
        let mut wanted: BTreeMap<(u16, ListenerKind), SocketAddr> = BTreeMap::new();
        for p in &config.ports {
            let bind = SocketAddr::new(settings.bind_address, p.bind_port);
            wanted.insert((p.port, ListenerKind::Tcp), bind);
            if p.protocol == ServerProtocol::Https && settings.enable_quic {
                wanted.insert((p.port, ListenerKind::Quic), bind);
            }
        }
        let mut listeners = self.listeners.lock().await;
        let stale: Vec<(u16, ListenerKind)> = listeners
            .iter()
            .filter(|(k, e)| wanted.get(k) != Some(&e.bind))
            .map(|(k, _)| *k)
            .collect();
        for key in stale {
            if let Some(e) = listeners.remove(&key) {
                tracing::info!("stopping {:?} listener for port {}", key.1, key.0);
                e.listener.begin_shutdown();
                tokio::spawn(e.listener.drained());
            }
        }
        for (key, bind) in wanted {
            if listeners.contains_key(&key) {
                continue;
            }
            let (port, kind) = key;
            let listener: Box<dyn RunningListener> = match kind {
                ListenerKind::Tcp => {
                    let l = TcpListenerHandle::start(bind, port, self.service.clone()).await?;
                    tracing::info!(
                        "TCP listener for port {port} on {} (HTTP/1.1, HTTP/2)",
                        l.local_addr()
                    );
                    Box::new(l)
                }
                ListenerKind::Quic => {
                    let Some(runtime) = &self.options.http3 else {
                        tracing::warn!(
                            "HTTP/3 listener for port {port} (UDP {bind}) not started: this build has no HTTP/3 runtime yet; alt-svc is advertised and clients fall back to TCP"
                        );
                        continue;
                    };
                    // The UDP socket takes the port the TCP listener actually bound.
                    let tcp_addr = listeners
                        .get(&(port, ListenerKind::Tcp))
                        .map(|e| e.listener.local_addr())
                        .unwrap_or(bind);
                    let alt = config
                        .ports
                        .iter()
                        .find(|p| p.port == port)
                        .and_then(|p| p.alt_svc(true));
                    let spec = Http3ListenerSpec::new(tcp_addr, port, self.service.clone(), alt);
                    runtime.start(spec)?
                }
            };
            listeners.insert(key, Entry { bind, listener });
        }
        Ok(())
    }

    /// Applies a new configuration: new requests and handshakes use it at once; established
    /// TCP and QUIC connections keep serving.
    pub async fn reload(&self, config: Config) -> std::io::Result<()> {
        self.service.update(&config);
        *self.drain_timeout.lock().await = config.settings.drain_timeout;
        self.sync_listeners(&config).await
    }

    /// Reloads from files.
    pub async fn reload_from(&self, sources: &Sources) -> Result<(), String> {
        let config = sources.load().map_err(|e| e.to_string())?;
        self.reload(config).await.map_err(|e| e.to_string())
    }

    /// Graceful shutdown: not ready, stop accepting, GOAWAY, wait for in-flight requests up to
    /// the drain timeout. Returns whether everything drained in time.
    pub async fn shutdown(&self) -> bool {
        self.ready.store(false, Ordering::Relaxed);
        let deadline = *self.drain_timeout.lock().await;
        let mut listeners = self.listeners.lock().await;
        let mut drains = Vec::new();
        for (_, e) in listeners.iter() {
            e.listener.begin_shutdown();
            drains.push(e.listener.drained());
        }
        listeners.clear();
        drop(listeners);
        let drained = tokio::time::timeout(deadline, futures_util::future::join_all(drains))
            .await
            .is_ok();
        self.status.stop();
        if !drained {
            tracing::warn!("drain deadline ({deadline:?}) passed with requests in flight");
        }
        drained
    }

    async fn abort(&self) {
        let mut listeners = self.listeners.lock().await;
        for (_, e) in listeners.iter() {
            e.listener.begin_shutdown();
        }
        listeners.clear();
        self.status.stop();
    }
}

/// Serves until SIGTERM or SIGINT (graceful shutdown) and reloads on SIGHUP.
pub async fn run_until_signalled(handle: GatewayHandle, sources: Sources) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: draining"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: draining"); break; }
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading configuration");
                match handle.reload_from(&sources).await {
                    Ok(()) => tracing::info!("configuration reloaded"),
                    Err(e) => tracing::error!("reload failed, keeping the previous configuration:\n{e}"),
                }
            }
        }
    }
    let drained = handle.shutdown().await;
    tracing::info!(drained, "gateway stopped");
    Ok(())
}
