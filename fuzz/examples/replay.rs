//! Runs inputs through one harness outside libFuzzer, with a normal build (and
//! `FUZZ_TRACE=1` to see what happens):
//!
//!     cargo run --release --manifest-path fuzz/Cargo.toml --example replay -- TARGET FILE
//!
//! Given a directory instead of a file, it runs every file in it and prints the total
//! time and the slowest inputs (to see where a target's executions per second go).

use std::time::{Duration, Instant};

fn run(target: &str, data: &[u8]) -> String {
    match target {
        "wire_parse" => format!("{:?}", udpcast_fuzz::wire::run(data)),
        "trailer_parse" => format!("{:?}", udpcast_fuzz::trailer::run(data)),
        "fec_roundtrip" => format!("{:?}", udpcast_fuzz::fec::run(data)),
        "receiver" => format!("{:?}", udpcast_fuzz::receiver::run(data)),
        "sender" => format!("{:?}", udpcast_fuzz::sender::run(data)),
        "verified_session" => format!("{:?}", udpcast_fuzz::session::run(data)),
        "authenticated" => format!("{:?}", udpcast_fuzz::authenticated::run(data)),
        other => {
            eprintln!("no target {other}");
            std::process::exit(2);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, target, path] = &args[..] else {
        eprintln!("usage: replay TARGET FILE|DIRECTORY");
        std::process::exit(2);
    };
    let path = std::path::Path::new(path);
    if !path.is_dir() {
        let data = std::fs::read(path).expect("readable input");
        println!("{}", run(target, &data));
        return;
    }
    let mut times: Vec<(Duration, String, usize)> = Vec::new();
    for entry in std::fs::read_dir(path)
        .expect("readable directory")
        .flatten()
    {
        // A working corpus may change under us while libFuzzer runs.
        let Ok(data) = std::fs::read(entry.path()) else {
            continue;
        };
        let start = Instant::now();
        run(target, &data);
        times.push((
            start.elapsed(),
            entry.file_name().to_string_lossy().into_owned(),
            data.len(),
        ));
    }
    let total: Duration = times.iter().map(|t| t.0).sum();
    times.sort_by_key(|t| std::cmp::Reverse(t.0));
    println!(
        "{} inputs in {total:?} ({:?} each)",
        times.len(),
        total / times.len().max(1) as u32
    );
    for (time, name, len) in times.iter().take(5) {
        println!("{time:>12?}  {len:>6} bytes  {name}");
    }
}
