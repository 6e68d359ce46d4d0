//! Proof that the network lab works: Debian's own udp-sender and udp-receiver (udpcast
//! 20120424) move files through it, with and without injected loss, plus checks of the
//! lab's topology, process control, isolation between labs and skip behaviour.
//!
//! These tests need root (they skip loudly otherwise, and fail under
//! `UDPCAST_REQUIRE_LAB=1`). Every process is bounded by a time limit, so a stuck program
//! fails its test instead of hanging the suite.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use udpcast_tests::lab::{self, Lab, Loss};

/// Per-process limit: far above the few seconds a transfer takes, far below "hung".
const PROCESS_LIMIT: Duration = Duration::from_secs(40);
const INPUT_SIZE: u64 = 4 << 20;

struct Debian {
    sender: PathBuf,
    receiver: PathBuf,
}

fn debian_udpcast() -> Option<Debian> {
    Some(Debian {
        sender: lab::require_program("udp-sender")?,
        receiver: lab::require_program("udp-receiver")?,
    })
}

/// Sends a fresh pseudo-random file from host 0 to `receivers` with the Debian programs and
/// checks that every receiver wrote an identical copy and that all exit with status 0.
/// Returns the time from starting the sender to the last receiver's exit.
fn debian_transfer(lab: &Lab, debian: &Debian, receivers: &[usize], seed: u64) -> Duration {
    let input = lab.path(format!("in-{seed}.bin"));
    lab::write_random_file(&input, INPUT_SIZE, seed).unwrap();

    // Receivers first: the C receiver sends a single CONNECT_REQ at start and afterwards
    // only answers HELLOs, so it must already listen when the sender says hello.
    let mut rx: Vec<_> = receivers
        .iter()
        .map(|&i| {
            lab.host(i)
                .command(&debian.receiver)
                .args(["--nokbd", "--file"])
                .arg(lab.path(format!("out-{seed}-h{i}.bin")))
                .timeout(PROCESS_LIMIT)
                .spawn()
                .unwrap()
        })
        .collect();
    for r in &mut rx {
        let ready = r
            .wait_for_stderr("UDP receiver for", Duration::from_secs(10))
            .unwrap();
        assert!(ready, "[{}] did not start:\n{}", r.label(), r.stderr());
    }

    let started = Instant::now();
    // The hello interval repeats HELLO until the transfer starts: a receiver that missed
    // the first one still connects (the C sender otherwise says hello only once).
    let mut tx = lab
        .host(0)
        .command(&debian.sender)
        .args([
            "--nokbd",
            "--rexmit-hello-interval",
            "1000",
            "--min-receivers",
        ])
        .arg(receivers.len().to_string())
        .arg("--file")
        .arg(&input)
        .timeout(PROCESS_LIMIT)
        .spawn()
        .unwrap();
    let mut all: Vec<&mut lab::Proc> = std::iter::once(&mut tx).chain(rx.iter_mut()).collect();
    lab::expect_all_success(&mut all, PROCESS_LIMIT + Duration::from_secs(5));
    let elapsed = started.elapsed();

    let want = lab::sha256_file(&input).unwrap();
    for &i in receivers {
        let out = lab.path(format!("out-{seed}-h{i}.bin"));
        assert_eq!(
            lab::sha256_file(&out).unwrap(),
            want,
            "output of host {i} differs"
        );
    }
    elapsed
}

#[test]
fn debian_sender_to_two_debian_receivers() {
    let Some(debian) = debian_udpcast() else {
        return;
    };
    let Some(lab) = Lab::builder(3).require_program("tcpdump").build_or_skip() else {
        return;
    };

    let capture = lab.host(0).capture("udp").unwrap();
    let took = debian_transfer(&lab, &debian, &[1, 2], 1);
    let capture = capture.stop().unwrap();
    eprintln!("transfer to 2 receivers: {took:?}");

    assert_eq!(
        capture.dropped_by_kernel,
        Some(0),
        "tcpdump lost packets: {capture:?}"
    );
    let datagrams = capture.read_udp().unwrap();
    let sender = lab.host(0);
    let hello_to_broadcast = datagrams.iter().any(|d| {
        *d.src.ip() == sender.addr()
            && d.src.port() == lab::DEFAULT_PORTBASE + 1
            && *d.dst.ip() == sender.broadcast()
            && d.dst.port() == lab::DEFAULT_PORTBASE
    });
    assert!(
        hello_to_broadcast,
        "no HELLO to the broadcast address in the capture"
    );
    let from_sender = datagrams
        .iter()
        .filter(|d| *d.src.ip() == sender.addr())
        .count();
    let min_blocks = INPUT_SIZE.div_ceil(1456) as usize;
    assert!(
        from_sender >= min_blocks,
        "only {from_sender} datagrams from the sender"
    );
}

#[test]
fn debian_transfer_survives_loss_toward_one_receiver() {
    let Some(debian) = debian_udpcast() else {
        return;
    };
    let Some(lab) = Lab::builder(3).require_program("nft").build_or_skip() else {
        return;
    };

    // Only the multicast data group (DATA and REQACK): Debian's receiver sends its
    // CONNECT_REQ once per HELLO, and once the transfer has started a receiver whose
    // CONNECT_REPLY was lost can never join, so the sender waits for it for minutes.
    // 234.66.0.1 is the sender's default data group for its address 10.66.0.1.
    let data_group = Ipv4Addr::new(234, 66, 0, 1);
    let loss = lab
        .add_loss(&Loss::toward(2, 50).destination(data_group))
        .unwrap();
    let took = debian_transfer(&lab, &debian, &[1, 2], 2);
    let counters = loss.remove().unwrap();
    eprintln!("transfer with 5% loss toward host 2: {took:?}, {counters:?}");

    assert!(
        counters.dropped > 0,
        "the loss rule dropped nothing: {counters:?}"
    );
    // 5 % of thousands of frames: far from both 0 and everything.
    let share = counters.dropped as f64 / counters.matched as f64;
    assert!(
        (0.02..0.10).contains(&share),
        "dropped share {share:.3} is not about 5%"
    );
}

#[test]
fn debian_transfer_with_igmp_snooping() {
    let Some(debian) = debian_udpcast() else {
        return;
    };
    let Some(lab) = Lab::builder(3).igmp_snooping(true).build_or_skip() else {
        return;
    };
    assert!(lab.igmp_snooping());
    let took = debian_transfer(&lab, &debian, &[1, 2], 3);
    eprintln!("transfer with IGMP snooping: {took:?}");
}

#[test]
fn two_labs_coexist_in_one_process() {
    let Some(debian) = debian_udpcast() else {
        return;
    };
    let Some(a) = Lab::new_or_skip(3) else { return };
    let Some(b) = Lab::new_or_skip(3) else { return };
    assert_ne!(a.id(), b.id());
    assert_ne!(a.host(1).netns(), b.host(1).netns());
    // Same addresses, ports and multicast group in both: only namespace isolation keeps
    // the two simultaneous transfers apart.
    assert_eq!(a.host(1).addr(), b.host(1).addr());

    let namespaces: Vec<String> = a
        .hosts()
        .chain(b.hosts())
        .map(|h| h.netns().to_owned())
        .collect();
    for ns in &namespaces {
        assert!(netns_exists(ns), "namespace {ns} missing");
    }

    std::thread::scope(|s| {
        let ta = s.spawn(|| debian_transfer(&a, &debian, &[1, 2], 10));
        let tb = s.spawn(|| debian_transfer(&b, &debian, &[1, 2], 11));
        eprintln!(
            "simultaneous transfers: {:?} and {:?}",
            ta.join().unwrap(),
            tb.join().unwrap()
        );
    });

    let (a_dir, b_dir) = (a.dir().to_owned(), b.dir().to_owned());
    drop(a);
    drop(b);
    for ns in &namespaces {
        assert!(!netns_exists(ns), "namespace {ns} survived its lab");
    }
    if std::env::var_os(lab::KEEP_ENV).is_none() {
        assert!(
            !a_dir.exists() && !b_dir.exists(),
            "lab directories survived their labs"
        );
    }
}

fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// The topology the lab promises, and the process handling every test relies on.
#[test]
fn lab_topology_and_process_control() {
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let h0 = lab.host(0);
    assert_eq!(h0.addr().to_string(), "10.66.0.1");
    assert_eq!(h0.broadcast().to_string(), "10.66.0.255");
    assert_eq!(lab.host(1).addr().to_string(), "10.66.0.11");

    // Broadcast address (udp-receiver needs it), multicast route, lo up, no IPv6.
    let addrs = h0.command("ip").args(["-o", "addr", "show"]).run().unwrap();
    let addrs = String::from_utf8_lossy(&addrs.stdout);
    assert!(
        addrs.contains("inet 10.66.0.1/24 brd 10.66.0.255 scope global h0e"),
        "{addrs}"
    );
    assert!(addrs.contains("inet 127.0.0.1/8"), "{addrs}");
    assert!(!addrs.contains("inet6"), "IPv6 is on:\n{addrs}");
    let routes = h0.command("ip").args(["route", "show"]).run().unwrap();
    let routes = String::from_utf8_lossy(&routes.stdout);
    assert!(routes.contains("224.0.0.0/4 dev h0e"), "{routes}");
    let links = h0.command("ip").args(["-o", "link", "show"]).run().unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    assert_eq!(
        links.lines().count(),
        2,
        "a host should have only lo and its veth:\n{links}"
    );
    let bridge = Command::new("ip")
        .args(["-n", lab.switch_netns(), "-d", "link", "show", lab.bridge()])
        .output()
        .unwrap();
    let bridge = String::from_utf8_lossy(&bridge.stdout);
    assert!(bridge.contains("mcast_snooping 0"), "{bridge}");

    // The time limit ends a process that would run for ever.
    let started = Instant::now();
    let mut sleeper = h0
        .command("sleep")
        .arg("30")
        .timeout(Duration::from_secs(1))
        .spawn()
        .unwrap();
    let status = sleeper
        .wait_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("not ended");
    assert_eq!(status.code(), Some(124));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(sleeper.describe_status().unwrap().contains("timed out"));

    // stderr is readable while running; stop, continue and kill reach the program, not
    // just timeout(1) in front of it. The shell prints its pid, which `exec` hands on.
    let mut p = h0
        .command("sh")
        .args(["-c", "echo pid $$ >&2; exec sleep 30"])
        .timeout(Duration::from_secs(20))
        .spawn()
        .unwrap();
    assert!(p.wait_for_stderr("pid ", Duration::from_secs(5)).unwrap());
    let program: u32 = p
        .stderr()
        .trim()
        .trim_start_matches("pid ")
        .parse()
        .unwrap();
    assert_ne!(program, p.pid());
    let state_is =
        |pid, want| lab::wait_until(Duration::from_secs(5), || process_state(pid) == want);
    p.signal(libc::SIGSTOP).unwrap();
    assert!(state_is(program, Some('T')) && state_is(p.pid(), Some('T')));
    p.signal(libc::SIGCONT).unwrap();
    assert!(state_is(program, Some('S')));
    let status = p.kill().unwrap();
    assert!(!status.success());
    assert!(p.describe_status().unwrap().contains("harness"));
    // Orphaned by the kill, the program may linger as a zombie if init does not reap.
    assert!(lab::wait_until(Duration::from_secs(5), || {
        matches!(process_state(program), None | Some('Z'))
    }));
    assert!(
        p.signal(libc::SIGCONT).is_err(),
        "signalling a reaped process must fail"
    );

    // Piped stdin, stdout to the log file; a dropped Proc takes its process with it.
    let mut cat = h0.command("cat").stdin(lab::Input::Piped).spawn().unwrap();
    std::io::Write::write_all(cat.stdin().unwrap(), b"through the pipe").unwrap();
    cat.close_stdin();
    cat.expect_success(Duration::from_secs(5));
    assert_eq!(cat.stdout(), b"through the pipe");
    let orphan = h0.command("sleep").arg("30").spawn().unwrap();
    let pid = orphan.pid();
    drop(orphan);
    assert!(
        process_state(pid).is_none(),
        "dropped process {pid} still exists"
    );
}

/// State letter of a process from /proc (R, S, T, Z, …), None if it is gone.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// Runs one lab test in a child test process with the lab made unavailable, once normally
/// (it must pass and say SKIPPED on stderr) and once under UDPCAST_REQUIRE_LAB=1 (it must
/// fail). Needs no root.
#[test]
fn unavailable_lab_skips_loudly_or_fails_when_required() {
    let exe = std::env::current_exe().unwrap();
    let run = |require: &str| {
        Command::new(&exe)
            .args([
                "--exact",
                "lab_topology_and_process_control",
                "--test-threads",
                "1",
            ])
            .env(lab::UNAVAILABLE_ENV, "simulated by the skip test")
            .env(lab::REQUIRE_ENV, require)
            .output()
            .unwrap()
    };
    let skipped = run("0");
    let stderr = String::from_utf8_lossy(&skipped.stderr);
    assert!(skipped.status.success(), "a skip must pass: {skipped:?}");
    assert!(
        stderr.contains("SKIPPED: network lab unavailable: UDPCAST_LAB_UNAVAILABLE is set"),
        "no loud skip message on stderr:\n{stderr}"
    );

    let required = run("1");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&required.stdout),
        String::from_utf8_lossy(&required.stderr)
    );
    assert!(
        !required.status.success(),
        "under UDPCAST_REQUIRE_LAB a skip must fail:\n{all}"
    );
    assert!(
        all.contains("network lab unavailable"),
        "the failure must say why:\n{all}"
    );
}
