//! `qpack-qif`: the qifs interop tool (github qpackers/qifs conventions).
//!
//! `qpack-qif encode --table-size N --max-blocked N [--immediate-ack] IN.qif OUT`
//! `qpack-qif decode --table-size N --max-blocked N IN OUT.qif`
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use qpack::qif::{decode_file, encode_lists, parse_qif, write_qif, QifSettings};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "QPACK (RFC 9204) encoder/decoder for QIF interop files")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Encode a QIF file into the qifs encoded-file format.
    Encode {
        /// Dynamic table size (SETTINGS_QPACK_MAX_TABLE_CAPACITY of the decoder).
        #[arg(long)]
        table_size: u64,
        /// Max risked (blocked) streams (SETTINGS_QPACK_BLOCKED_STREAMS).
        #[arg(long)]
        max_blocked: u64,
        /// Treat every field section as acknowledged as soon as it is written.
        #[arg(long)]
        immediate_ack: bool,
        /// Input QIF file.
        input: PathBuf,
        /// Output encoded file.
        output: PathBuf,
    },
    /// Decode an encoded file into QIF (lists in stream-ID order).
    Decode {
        /// Dynamic table size the encoder assumed.
        #[arg(long)]
        table_size: u64,
        /// Max blocked streams to allow.
        #[arg(long)]
        max_blocked: u64,
        /// Input encoded file.
        input: PathBuf,
        /// Output QIF file.
        output: PathBuf,
    },
}

fn run(cli: Cli) -> Result<(), String> {
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let write = |p: &PathBuf, data: &[u8]| {
        std::fs::write(p, data).map_err(|e| format!("{}: {e}", p.display()))
    };
    match cli.command {
        Command::Encode {
            table_size,
            max_blocked,
            immediate_ack,
            input,
            output,
        } => {
            let lists = parse_qif(&read(&input)?);
            let settings = QifSettings {
                table_size,
                max_blocked,
                immediate_ack,
            };
            write(&output, &encode_lists(&lists, settings))
        }
        Command::Decode {
            table_size,
            max_blocked,
            input,
            output,
        } => {
            let lists = decode_file(&read(&input)?, table_size, max_blocked)
                .map_err(|e| format!("{}: {e}", input.display()))?;
            write(&output, &write_qif(&lists))
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qpack-qif: {e}");
            ExitCode::FAILURE
        }
    }
}
