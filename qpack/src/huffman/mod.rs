//! Huffman coding of string literals (RFC 9204 §4.1.2, code from RFC 7541 Appendix B).
//!
//! Decoding walks a 4-bit-at-a-time state machine built once from the code table: each of the
//! 256 internal nodes of the code tree is a state, and each nibble moves to a new state,
//! emitting at most one symbol (the shortest code is 5 bits).

mod table;

use std::sync::OnceLock;
use table::CODES;

/// The string ended in the middle of a symbol with bad padding, or contained EOS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HuffmanError;

/// Number of bytes `encode` writes for `src`.
pub fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src.iter().map(|&b| CODES[b as usize].1 as usize).sum();
    bits.div_ceil(8)
}

/// Append the Huffman encoding of `src` to `out`.
pub fn encode(src: &[u8], out: &mut Vec<u8>) {
    out.reserve(encoded_len(src));
    let mut acc: u64 = 0;
    let mut nbits: u32 = 0;
    for &b in src {
        let (code, len) = CODES[b as usize];
        acc = (acc << len) | u64::from(code);
        nbits += u32::from(len);
        while nbits >= 8 {
            nbits -= 8;
            out.push((acc >> nbits) as u8);
        }
        acc &= (1u64 << nbits) - 1;
    }
    if nbits > 0 {
        // RFC 7541 §5.2: pad with the most significant bits of EOS (all ones).
        let pad = 8 - nbits;
        out.push(((acc << pad) | ((1 << pad) - 1)) as u8);
    }
}

const EMIT: u8 = 1;
/// Stopping after this transition leaves valid padding (RFC 7541 §5.2: at most 7 bits, all 1).
const ACCEPT: u8 = 2;
/// The nibble completed EOS, which RFC 7541 §5.2 makes a decoding error.
const FAIL: u8 = 4;

#[derive(Clone, Copy, Default)]
struct Transition {
    next: u8,
    flags: u8,
    sym: u8,
}

struct Machine {
    /// `[state * 16 + nibble]`.
    transitions: Vec<Transition>,
}

fn machine() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(build)
}

/// Child pointer in the code tree: an internal node id or a leaf symbol.
#[derive(Clone, Copy)]
enum Node {
    Empty,
    Internal(usize),
    Leaf(u16),
}

fn build() -> Machine {
    // Internal nodes: children[node] = [zero, one]; node 0 is the root.
    let mut children: Vec<[Node; 2]> = vec![[Node::Empty; 2]];
    // For accepting states: depth from the root and whether the path is all ones.
    let mut all_ones_depth: Vec<Option<u32>> = vec![Some(0)];
    for (sym, &(code, len)) in CODES.iter().enumerate() {
        let mut node = 0usize;
        for i in (0..u32::from(len)).rev() {
            let bit = ((code >> i) & 1) as usize;
            if i == 0 {
                children[node][bit] = Node::Leaf(sym as u16);
                break;
            }
            node = match children[node][bit] {
                Node::Internal(n) => n,
                _ => {
                    let n = children.len();
                    children.push([Node::Empty; 2]);
                    let parent = all_ones_depth[node];
                    all_ones_depth.push(match (parent, bit) {
                        (Some(d), 1) => Some(d + 1),
                        _ => None,
                    });
                    children[node][bit] = Node::Internal(n);
                    n
                }
            };
        }
    }
    assert_eq!(
        children.len(),
        256,
        "a complete code over 257 symbols has 256 internal nodes"
    );
    let mut transitions = vec![Transition::default(); 256 * 16];
    for state in 0..256 {
        for nibble in 0..16u8 {
            let mut node = state;
            let mut t = Transition::default();
            for i in (0..4).rev() {
                let bit = ((nibble >> i) & 1) as usize;
                match children[node][bit] {
                    Node::Internal(n) => node = n,
                    Node::Leaf(256) => {
                        t.flags |= FAIL;
                        break;
                    }
                    Node::Leaf(sym) => {
                        t.flags |= EMIT;
                        t.sym = sym as u8;
                        node = 0;
                    }
                    Node::Empty => unreachable!("the Huffman code is complete"),
                }
            }
            t.next = node as u8;
            if matches!(all_ones_depth[node], Some(d) if d <= 7) {
                t.flags |= ACCEPT;
            }
            transitions[state * 16 + nibble as usize] = t;
        }
    }
    Machine { transitions }
}

/// Append the decoding of `src` to `out`.
pub fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    let m = machine();
    out.reserve(src.len() + src.len() / 2);
    let mut state = 0usize;
    // An empty string is valid; otherwise the last transition decides.
    let mut accept = true;
    for &b in src {
        for nibble in [b >> 4, b & 0x0f] {
            let t = m.transitions[state * 16 + nibble as usize];
            if t.flags & FAIL != 0 {
                return Err(HuffmanError);
            }
            if t.flags & EMIT != 0 {
                out.push(t.sym);
            }
            state = t.next as usize;
            accept = t.flags & ACCEPT != 0;
        }
    }
    if accept {
        Ok(())
    } else {
        Err(HuffmanError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(s, &mut out);
        out
    }

    #[test]
    fn rfc7541_c4_examples() {
        assert_eq!(enc(b"www.example.com"), hex("f1e3c2e5f23a6ba0ab90f4ff"));
        assert_eq!(enc(b"no-cache"), hex("a8eb10649cbf"));
        assert_eq!(enc(b"custom-key"), hex("25a849e95ba97d7f"));
        assert_eq!(enc(b"custom-value"), hex("25a849e95bb8e8b4bf"));
        let mut out = Vec::new();
        decode(&hex("f1e3c2e5f23a6ba0ab90f4ff"), &mut out).unwrap();
        assert_eq!(out, b"www.example.com");
    }

    #[test]
    fn all_bytes_round_trip() {
        let src: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        let e = enc(&src);
        assert_eq!(e.len(), encoded_len(&src));
        let mut out = Vec::new();
        decode(&e, &mut out).unwrap();
        assert_eq!(out, src);
    }

    #[test]
    fn bad_padding() {
        let mut out = Vec::new();
        // 'a' is 00011 (5 bits); padding with zeros instead of ones is invalid.
        assert_eq!(decode(&[0b0001_1000], &mut out), Err(HuffmanError));
        // A whole byte of ones after a complete symbol is more than 7 bits of padding.
        assert_eq!(decode(&[0b0001_1111, 0xff], &mut out), Err(HuffmanError));
        // EOS itself (30 ones) is an error.
        assert_eq!(
            decode(&[0xff, 0xff, 0xff, 0xff], &mut out),
            Err(HuffmanError)
        );
        out.clear();
        assert_eq!(decode(&[0b0001_1111], &mut out), Ok(()));
        assert_eq!(out, b"a");
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
