//! `gateway`: run, validate, demo.
#![forbid(unsafe_code)]

use clap::{Args, Parser, Subcommand};
use gateway::config::Sources;
use gateway::demo::{self, DemoOptions};
use gateway::server::{run_until_signalled, Gateway, StartOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gateway",
    version,
    about = "An Istio-style ingress gateway: HTTPS over TCP (HTTP/1.1, HTTP/2) and HTTP/3 over UDP"
)]
struct Cli {
    /// Log filter (tracing-subscriber EnvFilter syntax); RUST_LOG wins when set.
    #[arg(long, global = true, default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Gateways and VirtualServices found in the configuration.
    Run(ConfigArgs),
    /// Check the configuration without serving; exit status 1 on any error.
    Validate(ConfigArgs),
    /// Generate certificates, start a built-in httpbin and serve the example manifests.
    Demo {
        /// Where certificates, manifests and settings are written.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Port bound for the manifests' port 443 (TCP, and UDP for HTTP/3).
        #[arg(long, default_value_t = 8443)]
        port: u16,
        /// Status port (/healthz/ready, /stats/prometheus).
        #[arg(long, default_value_t = 15021)]
        status_port: u16,
    },
}

#[derive(Args)]
struct ConfigArgs {
    /// A manifest file or a directory of them (.yaml, .yml, .json); repeatable.
    #[arg(long = "config", required = true)]
    configs: Vec<PathBuf>,
    /// The gateway settings file (port mapping, upstream addresses, credentials, QUIC switch).
    #[arg(long)]
    settings: Option<PathBuf>,
}

impl ConfigArgs {
    fn sources(&self) -> Sources {
        Sources {
            configs: self.configs.clone(),
            settings: self.settings.clone(),
        }
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Validate(args) => match args.sources().load() {
                Ok(config) => {
                    let servers: usize = config.ports.iter().map(|p| p.servers.len()).sum();
                    let routes: usize = config
                        .virtual_services
                        .iter()
                        .map(|v| v.routes.len())
                        .sum();
                    println!(
                        "configuration is valid: {} port(s), {servers} server(s), {} virtual service(s), {routes} route(s)",
                        config.ports.len(),
                        config.virtual_services.len()
                    );
                    Ok(())
                }
                Err(e) => Err(format!("invalid configuration:\n{e}")),
            },
            Command::Run(args) => {
                let sources = args.sources();
                let config = sources
                    .load()
                    .map_err(|e| format!("invalid configuration, nothing started:\n{e}"))?;
                let handle = Gateway::start(config, StartOptions { http3: Some(std::sync::Arc::new(gateway::listeners::h3_runtime::QuicHttp3Runtime)) })
                    .await
                    .map_err(|e| format!("starting listeners: {e}"))?;
                tracing::info!("status port on {}", handle.status_addr());
                run_until_signalled(handle, sources)
                    .await
                    .map_err(|e| e.to_string())
            }
            Command::Demo {
                dir,
                port,
                status_port,
            } => {
                let mut opts = DemoOptions {
                    port,
                    status_port,
                    ..DemoOptions::default()
                };
                if let Some(d) = dir {
                    opts.dir = d;
                }
                demo::run(opts).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
