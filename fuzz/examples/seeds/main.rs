//! Writes the seed corpora under `fuzz/corpus/<target>/` from the reference captures in
//! `tests/fixtures/captures/` (Debian's udpcast 20120424) and from scripts of our own.
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example seeds
//!
//! (`scripts/fuzz.sh --seeds` runs it.) It replaces the files it writes and leaves the
//! others; every seed is named after what it holds, so a rerun is a no-op in git.

mod fec;
mod pcap;
mod replays;
mod sessions;
mod wire;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use udpcast_core::extension::{Identity, StreamName};

use fec::fec_seeds;
use pcap::{read_pcap, Datagram};
use replays::{receiver_seeds, sender_seeds};
use sessions::{authenticated_seeds, regressions, session_seeds};
use wire::{trailer_seeds, wire_seeds};

struct Corpus {
    root: PathBuf,
    written: BTreeMap<&'static str, (usize, usize)>,
}

impl Corpus {
    fn put(&mut self, target: &'static str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("corpus directory");
        fs::write(dir.join(name), bytes).expect("seed written");
        let entry = self.written.entry(target).or_default();
        entry.0 += 1;
        entry.1 += bytes.len();
    }
}

fn main() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let captures_dir = fuzz.join("../tests/fixtures/captures");
    let mut corpus = Corpus {
        root: fuzz.join("corpus"),
        written: BTreeMap::new(),
    };
    let mut captures: Vec<(String, Vec<Datagram>)> = fs::read_dir(&captures_dir)
        .expect("the captures")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                read_pcap(&p),
            )
        })
        .collect();
    captures.sort_by(|a, b| a.0.cmp(&b.0));

    wire_seeds(&mut corpus, &captures);
    trailer_seeds(&mut corpus);
    fec_seeds(&mut corpus, &captures);
    receiver_seeds(&mut corpus, &captures);
    sender_seeds(&mut corpus, &captures);
    session_seeds(&mut corpus);
    authenticated_seeds(&mut corpus);
    regressions(&fuzz.join("regressions"));
    for (target, (files, bytes)) in &corpus.written {
        println!("{target:18} {files:4} seeds {bytes:8} bytes");
    }
}

fn identity() -> Identity {
    Identity {
        session: 0x1122_3344_5566_7788,
        name: StreamName::new("disk.img").expect("valid"),
        total_size: Some(100_000),
    }
}
