//! A frozen sender, and garbage sprayed at both ends during a transfer.

use std::fs;
use std::io::Write;
use std::time::{Duration, Instant};

use udpcast_tests::lab;

use crate::{assert_same, file_len, setup, start_rule, strs, Impl, LIMIT, MB};

#[test]
fn frozen_sender_trips_our_receive_timeout() {
    let Some(s) = setup(2) else { return };
    // 32 MB at 8 Mb/s would take half a minute: the freeze comes long before the end.
    let input = s.input("in-freeze.bin", 32 * MB, 27);
    let out = s.lab.path("out-freeze.bin");
    let mut rx = s.receiver(1, Impl::Ours, &["--nokbd", "--receive-timeout", "2"], &out);
    let rule = start_rule(1);
    let mut args = strs(&rule);
    args.extend(["--max-bitrate", "8m"]);
    let mut tx = s.sender(&args, &input);
    let flowing = lab::wait_until(Duration::from_secs(20), || file_len(&out) >= MB);
    assert!(
        flowing,
        "no data arrived:\n{}\n{}",
        tx.stderr(),
        rx.stderr()
    );
    tx.signal(libc::SIGSTOP).unwrap();
    let frozen = Instant::now();
    let status = rx.wait_timeout(Duration::from_secs(10)).unwrap();
    let took = frozen.elapsed();
    tx.signal(libc::SIGCONT).unwrap();
    tx.kill().unwrap();
    eprintln!("our receiver ended {took:?} after the sender froze");
    let status = status.unwrap_or_else(|| {
        panic!(
            "our receiver still runs 10 s after the freeze:\n{}",
            rx.stderr()
        )
    });
    assert!(
        !status.success(),
        "our receiver claimed success:\n{}",
        rx.stderr()
    );
    assert!(
        took < Duration::from_secs(5),
        "our receiver took {took:?} to notice a sender silent for 2 s"
    );
    assert!(file_len(&out) < 32 * MB, "the whole file arrived?");
}

/// Sends random datagrams and truncated or corrupted udpcast-looking messages, from an
/// ephemeral port and from port 9001, to each `host:port` argument, until killed.
const SPRAYER: &str = r#"
import os, random, socket, sys, time
random.seed(int(sys.argv[1]))
targets = [(t.split(':')[0], int(t.split(':')[1])) for t in sys.argv[2:]]
socks = []
for port in (0, 9001):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.bind(('', port))
    socks.append(s)
OPS = [b'\x00\x00', b'\x00\x01', b'\x00\x02', b'\x00\x03', b'\x00\x04', b'\x00\x06',
       b'\x00\x07', b'\x00\x08', b'\x00\x09', b'\x00\x0a', b'\x00\x0b', b'\x05\x00',
       b'\xff\xff']
def datagram():
    kind = random.randrange(4)
    if kind == 0:
        return os.urandom(random.randrange(0, 1500))
    op = random.choice(OPS)
    if kind == 1:
        return op[:random.randrange(0, 3)]
    if kind == 2:
        return op + os.urandom(random.randrange(0, 30))
    # a DATA or FEC header claiming plausible slices and lengths, with garbage payload
    return (random.choice([b'\x00\x08', b'\x00\x09']) + b'\x00\x00'
            + random.randrange(0, 4).to_bytes(4, 'big')
            + random.randrange(0, 1100).to_bytes(2, 'big') + b'\x00\x00'
            + random.randrange(0, 1 << 21).to_bytes(4, 'big')
            + os.urandom(random.randrange(0, 1457)))
sent = 0
while True:
    for t in targets:
        try:
            random.choice(socks).sendto(datagram(), t)
            sent += 1
        except OSError as e:
            print('send to', t, e, file=sys.stderr)
    if sent % 200 == 0:
        print('sent', sent, file=sys.stderr, flush=True)
        time.sleep(0.02)
"#;

#[test]
fn garbage_sprayed_during_a_transfer_is_ignored() {
    let Some(s) = setup(3) else { return };
    let sprayer = s.lab.path("sprayer.py");
    fs::File::create(&sprayer)
        .and_then(|mut f| f.write_all(SPRAYER.as_bytes()))
        .unwrap();
    let input = s.input("in-spray.bin", 16 * MB, 28);
    let out = s.lab.path("out-spray.bin");
    let mut rx = s.receiver(1, Impl::Ours, &["--nokbd"], &out);
    let rule = start_rule(1);
    let mut args = strs(&rule);
    // Multicast data (no automatic point-to-point), slow enough to be sprayed for seconds.
    args.extend(["--nopointopoint", "--max-bitrate", "40m"]);
    let mut tx = s.sender(&args, &input);
    // Spray once data flows: a well-formed HELLO from another host before that would be a
    // second sender, not garbage.
    let flowing = lab::wait_until(Duration::from_secs(20), || file_len(&out) > 0);
    assert!(
        flowing,
        "no data arrived:\n{}\n{}",
        tx.stderr(),
        rx.stderr()
    );
    let target = s.lab.host(1);
    let mut spray = s
        .lab
        .host(2)
        .command("python3")
        .arg(&sprayer)
        .arg("28")
        .arg(format!("{}:9000", target.addr()))
        .arg(format!("{}:9001", target.addr()))
        .arg(format!("{}:9000", target.broadcast()))
        .arg("234.66.0.1:9000")
        .timeout(LIMIT)
        .label("h2-sprayer")
        .spawn()
        .unwrap();
    lab::expect_all_success(&mut [&mut tx, &mut rx], LIMIT);
    let sprayed = spray.stderr();
    spray.kill().unwrap();
    assert!(
        sprayed.contains("sent 200"),
        "the sprayer did not spray:\n{sprayed}"
    );
    assert_same(&input, &out);
}
