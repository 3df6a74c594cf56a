//! `impair`: UDP impairment proxy for QUIC interop testing on loopback.
//!
//! ```text
//! impair --listen 127.0.0.1:4443 --server 127.0.0.1:443 --scenario handshakeloss --seed 7 \
//!        --summary-file /tmp/summary.json
//! ```
//!
//! Runs until SIGINT, SIGTERM or `--duration`, then prints the summary (and writes it as JSON
//! to `--summary-file`). See `impair --help` and `impair --list-scenarios`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use interop::impair::{probe_server, Args, Proxy};

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list_scenarios {
        print!("{}", interop::impair::scenario::scenario_table());
        return ExitCode::SUCCESS;
    }
    let config = match args.config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("impair: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("impair: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("impair: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args, config: interop::impair::ProxyConfig) -> std::io::Result<()> {
    if args.wait_for_server {
        let took = probe_server(config.server, interop::impair::probe::PROBE_TIMEOUT).await?;
        if !args.quiet {
            eprintln!(
                "impair: server {} answered the probe after {took:.0?}",
                config.server
            );
        }
    }
    let mut proxy = Proxy::bind(config.clone()).await?;
    proxy.set_quiet(args.quiet);
    // Held open (never accepting) while forwarding, like the sim's TCP port 57832.
    let _ready = match args.ready_tcp {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    if !args.quiet {
        let (to_server, to_client) = config.link_configs();
        eprintln!(
            "impair: {} -> {} (seed {}, scenario {})\n  to_server: {to_server:?}\n  to_client: {to_client:?}",
            proxy.local_addr()?,
            config.server,
            config.seed,
            config.scenario.unwrap_or("-")
        );
    }
    let duration = args.duration;
    let summary = proxy.run(shutdown(duration)).await?;
    if !args.quiet {
        print!("{summary}");
    }
    if let Some(path) = &args.summary_file {
        std::fs::write(path, summary.to_json())?;
    }
    Ok(())
}

/// Completes on SIGINT, SIGTERM or after `duration`.
async fn shutdown(duration: Option<std::time::Duration>) {
    let timer = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
        () = timer => {}
    }
}
