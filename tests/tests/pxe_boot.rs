//! The boot image in a PXE room (`udpcast_tests::pxe`): emulated machines boot from the
//! network through dnsmasq, iPXE and pxelinux into `bootimage/`'s kernel and initrd, whose
//! launcher reads udpcast's parameters from the `append` line, receives a 64 MB image onto
//! the machine's disk and powers off. Every disk is then compared with the source byte for
//! byte. Also: Debian's sender, a gzip-compressed stream, a machine sending its own disk,
//! and what the launcher does with a missing `disk=`, a wrong `netmodule=` and a transfer
//! that fails.
//!
//! Each test boots real machines under software emulation: they run one at a time.

use std::fs;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use udpcast_tests::lab::{self, Lab, Proc};
use udpcast_tests::pxe::{self, Boot, BootImage, BootServer, Console, DiskBus, Machine};

const IMAGE_SIZE: u64 = 64 << 20;
/// Disks are larger than the image, as real ones are: the rest must stay untouched.
const DISK_SIZE: u64 = 80 << 20;
/// Power-on to power-off of one machine under emulation, with room for a loaded machine.
const MACHINE_LIMIT: Duration = Duration::from_secs(420);
const DEBIAN_SENDER: &str = "/usr/bin/udp-sender";

static ONE_ROOM_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A lab with the boot server on host 0 and `machines` machine ports, and the boot image;
/// `None` (after a loud skip, or a failure under `UDPCAST_REQUIRE_LAB`) if this machine
/// cannot have one.
fn room(machines: usize) -> Option<(MutexGuard<'static, ()>, Lab, &'static BootImage)> {
    let guard = ONE_ROOM_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(reason) = pxe::missing_tools() {
        lab::skip_or_fail("PXE room unavailable", &reason);
        return None;
    }
    let lab = Lab::builder(1 + machines).build_or_skip()?;
    let image = pxe::boot_image().unwrap_or_else(|e| panic!("{e}"));
    Some((guard, lab, image))
}

/// Our udp-sender on the server, sending `image.bin` to one receiver on `portbase`.
fn our_sender<'lab>(lab: &'lab Lab, portbase: u16, extra: &[&str]) -> Proc<'lab> {
    lab.host(0)
        .command(lab::our_program("udp-sender"))
        .args(["--file", "image.bin", "--interface", "h0e", "--nokbd"])
        .args(["--portbase", &portbase.to_string(), "--min-receivers", "1"])
        .args(extra)
        .timeout(MACHINE_LIMIT)
        .spawn()
        .unwrap()
}

/// Machine 1 with a virtio-blk `disk` (`/dev/vda`), booting from the network.
fn network_machine<'lab>(lab: &'lab Lab, disk: &Path, console: Console) -> Machine<'lab> {
    Machine::power_on(
        lab,
        1,
        disk,
        DiskBus::VirtioBlk,
        Boot::Network,
        console,
        MACHINE_LIMIT,
    )
    .unwrap()
}

fn blank_disk(path: &Path) {
    fs::File::create(path)
        .and_then(|f| f.set_len(DISK_SIZE))
        .unwrap();
}

/// The disk holds the image, then zeros up to its end.
fn assert_disk_holds(disk: &Path, image: &Path) {
    let got = fs::read(disk).unwrap();
    let want = fs::read(image).unwrap();
    assert_eq!(
        got.len() as u64,
        DISK_SIZE,
        "{} changed size",
        disk.display()
    );
    if got[..want.len()] != want[..] {
        let first = got.iter().zip(&want).position(|(a, b)| a != b).unwrap();
        panic!(
            "{} differs from the image from byte {first} on (image sha256 {}, disk's first {} \
             bytes sha256 {})",
            disk.display(),
            lab::sha256_hex(&want),
            want.len(),
            lab::sha256_hex(&got[..want.len()])
        );
    }
    assert!(
        got[want.len()..].iter().all(|&b| b == 0),
        "{} was written past the image's end",
        disk.display()
    );
}

fn report_boot(machine: &mut Machine<'_>, name: &str) {
    let receiving = machine
        .wait_for_console("udpcast: receiving", MACHINE_LIMIT)
        .unwrap_or_else(|| {
            panic!(
                "{name} never started receiving:\n{}",
                machine.console_tail()
            )
        });
    // Straight to fd 2, so that the figure shows in a passing test's output too.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "{name}: power-on to receiving {:.1} s",
        receiving.as_secs_f64()
    );
}

/// Two machines boot from the network with the append line as sites write it and receive
/// the image from `sender`, started with `sender_args`.
fn clone_two_machines(sender: &str, sender_args: &[&str]) {
    let Some((_guard, lab, image)) = room(2) else {
        return;
    };
    let source = lab.path("image.bin");
    lab::write_random_file(&source, IMAGE_SIZE, 9).unwrap();
    let server = BootServer::start(&lab, image).unwrap();
    server
        .set_default(
            "dhcp=yes port=9000 umode=rcv disk=/dev/sda compr=none auto=yes \
             udpcparam=--nokbd lang=US kbmap=US console=ttyS0",
        )
        .unwrap();
    let mut tx = lab
        .host(0)
        .command(sender)
        .args(["--file", "image.bin", "--interface", "h0e", "--nokbd"])
        .args(["--min-receivers", "2"])
        .args(sender_args)
        .timeout(MACHINE_LIMIT)
        .spawn()
        .unwrap();
    let disks = [lab.path("disk1.raw"), lab.path("disk2.raw")];
    let mut machines: Vec<Machine<'_>> = disks
        .iter()
        .enumerate()
        .map(|(i, disk)| {
            blank_disk(disk);
            Machine::power_on(
                &lab,
                i + 1,
                disk,
                DiskBus::VirtioScsi,
                Boot::Network,
                Console::Screen,
                MACHINE_LIMIT,
            )
            .unwrap()
        })
        .collect();
    for (i, machine) in machines.iter_mut().enumerate() {
        report_boot(machine, &format!("machine {}", i + 1));
    }
    // Both udpcast senders log this line as the first data block goes out.
    if tx
        .wait_for_stderr("Starting transfer", MACHINE_LIMIT)
        .unwrap()
    {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "power-on to first data: {:.1} s",
            machines[0].since_power_on().as_secs_f64()
        );
    }
    for machine in &mut machines {
        machine
            .wait_power_off(MACHINE_LIMIT)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            machine
                .console()
                .contains(&format!("udpcast: RECEIVED {IMAGE_SIZE} bytes")),
            "no result line:\n{}",
            machine.console_tail()
        );
    }
    tx.expect_success(Duration::from_secs(30));
    for disk in &disks {
        assert_disk_holds(disk, &source);
    }
}

#[test]
fn our_sender_clones_two_machines_booted_from_the_network() {
    clone_two_machines(&lab::our_program("udp-sender").to_string_lossy(), &[]);
}

#[test]
fn debian_sender_clones_two_machines_booted_from_the_network() {
    clone_two_machines(DEBIAN_SENDER, &[]);
}

/// An image built with `--key-file`: the machine takes part only in an authenticated
/// transfer, with the key the image carries, and clones the disk from our keyed sender.
#[test]
fn a_keyed_image_clones_from_a_keyed_sender() {
    let Some((_guard, lab, _)) = room(1) else {
        return;
    };
    let image = pxe::keyed_boot_image().unwrap_or_else(|e| panic!("{e}"));
    let key = pxe::boot_image_key();
    let source = lab.path("image.bin");
    lab::write_random_file(&source, IMAGE_SIZE, 12).unwrap();
    let server = BootServer::start(&lab, image).unwrap();
    server
        .set_default(
            "dhcp=yes port=9004 umode=rcv disk=vda compr=none auto=yes \
             udpcparam=--nokbd console=ttyS0",
        )
        .unwrap();
    let mut tx = our_sender(&lab, 9004, &["--key-file", key.to_str().unwrap()]);
    let disk = lab.path("disk1.raw");
    blank_disk(&disk);
    let mut machine = network_machine(&lab, &disk, Console::Screen);
    report_boot(&mut machine, "machine (keyed)");
    machine
        .wait_power_off(MACHINE_LIMIT)
        .unwrap_or_else(|e| panic!("{e}"));
    tx.expect_success(Duration::from_secs(30));
    assert_disk_holds(&disk, &source);
    let said = tx.stderr();
    assert!(!said.contains("refused datagrams"), "{said}");
    assert!(
        machine
            .console()
            .contains(&format!("RECEIVED {IMAGE_SIZE} bytes of /dev/vda")),
        "no result line:\n{}",
        machine.console_tail()
    );
}

/// compr=gz: the sender compresses (udpcast's `--pipe`), the machine decompresses onto its
/// disk; `disk=` without `/dev/`, a quoted udpcparam, and verify=yes (the launcher reads
/// the disk back and prints its SHA-256).
#[test]
fn gzip_compressed_stream_is_decompressed_onto_the_disk() {
    let Some((_guard, lab, image)) = room(1) else {
        return;
    };
    let source = lab.path("image.bin");
    lab::write_random_file(&source, IMAGE_SIZE, 10).unwrap();
    let server = BootServer::start(&lab, image).unwrap();
    server
        .set_default(
            "dhcp=yes port=9002 umode=rcv disk=vda compr=gz auto=yes verify=yes \
             udpcparam=\"--nokbd --start-timeout 400 --rcvbuf 8m\" console=ttyS0",
        )
        .unwrap();
    let mut tx = our_sender(&lab, 9002, &["--pipe", "gzip -c"]);
    let disk = lab.path("disk1.raw");
    blank_disk(&disk);
    let mut machine = network_machine(&lab, &disk, Console::Screen);
    report_boot(&mut machine, "machine (gz)");
    machine
        .wait_power_off(MACHINE_LIMIT)
        .unwrap_or_else(|e| panic!("{e}"));
    tx.expect_success(Duration::from_secs(30));
    assert_disk_holds(&disk, &source);
    let digest = lab::sha256_file(&source).unwrap();
    assert!(
        machine
            .console()
            .contains(&format!("RECEIVED {IMAGE_SIZE} bytes of /dev/vda")),
        "no result line:\n{}",
        machine.console_tail()
    );
    assert!(
        machine
            .console()
            .contains(&format!("sha256 {digest} (read back")),
        "the read-back digest is not the image's ({digest}):\n{}",
        machine.console_tail()
    );
}

/// umode=snd: the machine sends its own disk to a receiver on the server (the `_` form of
/// udpcparam, as sites write it where the boot loader cannot quote).
#[test]
fn machine_sends_its_disk_to_a_receiver() {
    let Some((_guard, lab, image)) = room(1) else {
        return;
    };
    let server = BootServer::start(&lab, image).unwrap();
    server
        .set_for_machine(
            1,
            "dhcp=yes port=9004 umode=snd disk=vda auto=yes \
             udpcparam=--nokbd_--min-receivers_1 console=ttyS0",
        )
        .unwrap();
    let disk = lab.path("disk1.raw");
    lab::write_random_file(&disk, IMAGE_SIZE, 11).unwrap();
    let mut rx = lab
        .host(0)
        .command(lab::our_program("udp-receiver"))
        .args([
            "--file",
            "received.bin",
            "--interface",
            "h0e",
            "--nokbd",
            "--portbase",
            "9004",
        ])
        .timeout(MACHINE_LIMIT)
        .spawn()
        .unwrap();
    let mut machine = network_machine(&lab, &disk, Console::Screen);
    machine
        .wait_power_off(MACHINE_LIMIT)
        .unwrap_or_else(|e| panic!("{e}"));
    rx.expect_success(Duration::from_secs(30));
    assert!(
        machine
            .console()
            .contains(&format!("udpcast: SENT {IMAGE_SIZE} bytes of /dev/vda")),
        "no result line:\n{}",
        machine.console_tail()
    );
    assert_eq!(
        lab::sha256_file(&lab.path("received.bin")).unwrap(),
        lab::sha256_file(&disk).unwrap(),
        "the receiver's file is not the machine's disk"
    );
}

/// Boots the image directly (no PXE: the launcher's behaviour is what is tested) with
/// `cmdline`, waits for `expected` on the console, and checks that the machine then
/// stays up with a shell and wrote nothing.
fn launcher_stops_with(cmdline: &str, expected: &str) {
    let Some((_guard, lab, image)) = room(1) else {
        return;
    };
    let disk = lab.path("disk1.raw");
    blank_disk(&disk);
    let cmdline = format!("console=ttyS0 {cmdline}");
    let mut machine = Machine::power_on(
        &lab,
        1,
        &disk,
        DiskBus::VirtioBlk,
        Boot::Direct(image, &cmdline),
        Console::Screen,
        MACHINE_LIMIT,
    )
    .unwrap();
    let shown = machine.wait_for_console(expected, Duration::from_secs(240));
    assert!(
        shown.is_some(),
        "the console never said {expected:?}:\n{}",
        machine.console_tail()
    );
    assert!(
        machine
            .wait_for_console("built-in shell", Duration::from_secs(30))
            .is_some(),
        "no shell after the error:\n{}",
        machine.console_tail()
    );
    // It waits for the operator: neither powered off nor rebooted a little later.
    assert!(
        machine.wait_power_off(Duration::from_secs(3)).is_err(),
        "the machine went down after an error:\n{}",
        machine.console_tail()
    );
    machine.power_off();
    assert!(
        fs::read(&disk).unwrap().iter().all(|&b| b == 0),
        "the disk was written to"
    );
}

#[test]
fn missing_disk_with_auto_yes_says_so_and_gives_a_shell() {
    launcher_stops_with(
        "umode=rcv dhcp=yes auto=yes",
        "udpcast: ERROR: disk= is missing from the kernel command line, and auto=yes asks nothing",
    );
}

#[test]
fn wrong_netmodule_says_so_and_gives_a_shell() {
    launcher_stops_with(
        "umode=rcv disk=vda dhcp=yes auto=yes netmodule=nosuchcard",
        "udpcast: ERROR: netmodule=nosuchcard: no such network module in this image",
    );
}

/// The sender dies mid-stream: the machine says the disk is incomplete and waits, even
/// with auto_reboot=success (qemu runs with -no-reboot, so a reboot would end it).
#[test]
fn failed_transfer_is_reported_and_never_rebooted_into() {
    let Some((_guard, lab, image)) = room(1) else {
        return;
    };
    let server = BootServer::start(&lab, image).unwrap();
    server
        .set_default(
            "dhcp=yes port=9006 umode=rcv disk=vda auto=yes auto_reboot=success \
             udpcparam=\"--nokbd --receive-timeout 5\" console=ttyS0",
        )
        .unwrap();
    let source = lab.path("image.bin");
    lab::write_random_file(&source, IMAGE_SIZE, 12).unwrap();
    let mut tx = our_sender(&lab, 9006, &["--max-bitrate", "40m"]);
    let disk = lab.path("disk1.raw");
    blank_disk(&disk);
    let mut machine = network_machine(&lab, &disk, Console::Screen);
    assert!(
        tx.wait_for_stderr("Starting transfer", MACHINE_LIMIT)
            .unwrap(),
        "the transfer never started:\n{}",
        machine.console_tail()
    );
    std::thread::sleep(Duration::from_secs(3));
    tx.kill().unwrap();
    assert!(
        machine
            .wait_for_console("is INCOMPLETE, do not boot it", Duration::from_secs(120))
            .is_some(),
        "no failure message:\n{}",
        machine.console_tail()
    );
    assert!(
        machine
            .wait_for_console("built-in shell", Duration::from_secs(30))
            .is_some(),
        "no shell after the failure:\n{}",
        machine.console_tail()
    );
    assert!(
        machine.wait_power_off(Duration::from_secs(3)).is_err(),
        "the machine rebooted or powered off after a failed transfer:\n{}",
        machine.console_tail()
    );
    machine.power_off();
}

/// auto=no: the launcher asks on the console for what the command line lacks, showing
/// each default; Enter takes the default. Here it asks for the disk (no default), refuses
/// one that does not exist, takes the right one and a port base, and receives.
#[test]
fn without_auto_the_console_asks_for_missing_values() {
    let Some((_guard, lab, image)) = room(1) else {
        return;
    };
    let server = BootServer::start(&lab, image).unwrap();
    server
        .set_default("umode=rcv dhcp=yes udpcparam=--nokbd console=ttyS0")
        .unwrap();
    let source = lab.path("image.bin");
    lab::write_random_file(&source, 8 << 20, 13).unwrap();
    let mut tx = our_sender(&lab, 9008, &[]);
    let disk = lab.path("disk1.raw");
    blank_disk(&disk);
    let mut machine = network_machine(&lab, &disk, Console::Keyboard);
    let answer = |machine: &mut Machine<'_>, question: &str, line: &str| {
        assert!(
            machine.wait_for_console(question, MACHINE_LIMIT).is_some(),
            "the console never asked {question:?}:\n{}",
            machine.console_tail()
        );
        machine.type_line(line).unwrap();
    };
    answer(
        &mut machine,
        "compression on the wire (none/gz/lzop) [none]: ",
        "",
    );
    answer(&mut machine, "port base [9000]: ", "9008");
    answer(
        &mut machine,
        "(never: power off / success: reboot / always) [never]: ",
        "",
    );
    answer(&mut machine, "(e.g. sda, nvme0n1) []: ", "sdq");
    assert!(
        machine
            .wait_for_console("udpcast: disk=sdq: no such disk", MACHINE_LIMIT)
            .is_some(),
        "a disk that does not exist was not refused:\n{}",
        machine.console_tail()
    );
    // The question comes again; the first answer's prompt is already on the console, so
    // wait for the refusal first, then answer.
    machine.type_line("vda").unwrap();
    answer(
        &mut machine,
        "network driver module (AUTO tries each) [AUTO]: ",
        "",
    );
    machine
        .wait_power_off(MACHINE_LIMIT)
        .unwrap_or_else(|e| panic!("{e}"));
    tx.expect_success(Duration::from_secs(30));
    let got = fs::read(&disk).unwrap();
    let want = fs::read(&source).unwrap();
    assert!(
        got[..want.len()] == want[..],
        "the disk does not hold the image"
    );
}

/// dhcp=no with a static address, a named network module and disk module, and an lzop
/// stream (busybox's lzop on both sides); booted directly, as a site booting from USB
/// would, so no DHCP server runs at all.
#[test]
fn static_address_named_modules_and_lzop() {
    let Some((_guard, lab, image)) = room(1) else {
        return;
    };
    let source = lab.path("image.bin");
    lab::write_random_file(&source, 16 << 20, 14).unwrap();
    let busybox = lab::find_program("busybox").expect("busybox-static is installed");
    let mut tx = lab
        .host(0)
        .command(lab::our_program("udp-sender"))
        .args([
            "--file",
            "image.bin",
            "--interface",
            "h0e",
            "--nokbd",
            "--portbase",
            "9010",
        ])
        .args(["--min-receivers", "1", "--pipe"])
        .arg(format!("{} lzop -c", busybox.display()))
        .timeout(MACHINE_LIMIT)
        .spawn()
        .unwrap();
    let disk = lab.path("disk1.raw");
    blank_disk(&disk);
    let cmdline = "console=ttyS0 umode=rcv disk=vda port=9010 compr=lzop auto=yes dhcp=no \
                   ip=10.66.0.150 netmask=255.255.255.0 netmodule=virtio_net \
                   diskmodule=virtio_blk udpcparam=--nokbd";
    let mut machine = Machine::power_on(
        &lab,
        1,
        &disk,
        DiskBus::VirtioBlk,
        Boot::Direct(image, cmdline),
        Console::Screen,
        MACHINE_LIMIT,
    )
    .unwrap();
    machine
        .wait_power_off(MACHINE_LIMIT)
        .unwrap_or_else(|e| panic!("{e}"));
    tx.expect_success(Duration::from_secs(30));
    let console = machine.console();
    assert!(
        console.contains("udpcast: address 10.66.0.150/24 on eth0"),
        "the static address was not used:\n{}",
        machine.console_tail()
    );
    assert!(
        console.contains(&format!("RECEIVED {} bytes of /dev/vda", 16 << 20)),
        "no result line:\n{}",
        machine.console_tail()
    );
    let got = fs::read(&disk).unwrap();
    let want = fs::read(&source).unwrap();
    assert!(
        got[..want.len()] == want[..],
        "the disk does not hold the image"
    );
}
