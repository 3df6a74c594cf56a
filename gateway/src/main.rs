//! The HTTP/3 ingress gateway binary. Its listeners, routing and proxying come with the gateway
//! issue; until then it reports that it is not built yet instead of pretending to serve.
fn main() {
    eprintln!(
        "gateway: not implemented yet (the QUIC transport is being built bottom-up; see README.md)"
    );
    std::process::exit(2);
}
