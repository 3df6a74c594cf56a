#![no_main]
//! A server `h3::Connection` fed arbitrary peer stream events (bytes, FIN, resets,
//! STOP_SENDING) interleaved with application calls (responses, body, GOAWAY, cancels) over
//! the in-memory transport: it must never panic, a connection error must close the transport
//! with the same code, nothing may happen after the close, and the transport's scheduler
//! always has each live request stream's current RFC 9218 priority.
use arbitrary::Arbitrary;
use h3::testing::{run_server_script, ScriptOp};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    Data {
        stream: u8,
        data: Vec<u8>,
        fin: bool,
    },
    Reset {
        stream: u8,
        code: u16,
    },
    StopSending {
        stream: u8,
        code: u16,
    },
    Writable {
        stream: u8,
    },
    Respond {
        stream: u8,
        status: u16,
        end: bool,
    },
    SendData {
        stream: u8,
        len: u16,
    },
    Finish {
        stream: u8,
    },
    ResetStream {
        stream: u8,
    },
    Goaway,
    Window(Option<u16>),
    SetPriority {
        stream: u8,
        urgency: u8,
        incremental: bool,
    },
    RespondWithPriority {
        stream: u8,
        value: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    valid_start: bool,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let ops = input.ops.into_iter().map(|op| match op {
        Op::Data { stream, data, fin } => ScriptOp::Data {
            stream: stream.into(),
            data,
            fin,
        },
        Op::Reset { stream, code } => ScriptOp::Reset {
            stream: stream.into(),
            code: code.into(),
        },
        Op::StopSending { stream, code } => ScriptOp::StopSending {
            stream: stream.into(),
            code: code.into(),
        },
        Op::Writable { stream } => ScriptOp::Writable {
            stream: stream.into(),
        },
        Op::Respond {
            stream,
            status,
            end,
        } => ScriptOp::Respond {
            stream: stream.into(),
            status,
            end,
        },
        Op::SendData { stream, len } => ScriptOp::SendData {
            stream: stream.into(),
            len,
        },
        Op::Finish { stream } => ScriptOp::Finish {
            stream: stream.into(),
        },
        Op::ResetStream { stream } => ScriptOp::ResetStream {
            stream: stream.into(),
        },
        Op::Goaway => ScriptOp::Goaway,
        Op::Window(w) => ScriptOp::Window(w),
        Op::SetPriority {
            stream,
            urgency,
            incremental,
        } => ScriptOp::SetPriority {
            stream: stream.into(),
            urgency,
            incremental,
        },
        Op::RespondWithPriority { stream, value } => ScriptOp::RespondWithPriority {
            stream: stream.into(),
            value,
        },
    });
    run_server_script(input.valid_start, ops);
});
