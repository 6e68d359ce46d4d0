//! A PXE room inside the network lab: a boot server and machines that boot from the
//! network, as a classroom does, so the boot image (`bootimage/`) is tested the way it is
//! used.
//!
//! ```text
//!   lab host 0 (10.66.0.1):  dnsmasq (DHCP + TFTP: pxelinux.0, pxelinux.cfg, kernel, initrd)
//!                            and whatever sender or receiver the test runs
//!   lab host i ≥ 1:          no address; bridge brvm ── h<i>e (its switch port)
//!                                              └──── vm0 (tap) ── qemu: the machine
//! ```
//!
//! Each machine is a `qemu-system-x86_64` under software emulation (no KVM needed) with
//! Debian's iPXE ROM, booting from the network (`-boot n`): iPXE asks dnsmasq for an
//! address and `pxelinux.0`, pxelinux reads `pxelinux.cfg/…`, loads the kernel and initrd
//! and passes the `append` line; the launcher does the rest and powers the machine off,
//! which ends qemu. Its serial console goes to a file the test reads.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::lab::{find_program, Lab, Proc};

/// Debian's pxelinux and the syslinux module it loads first.
const PXELINUX: &str = "/usr/lib/PXELINUX/pxelinux.0";
const LDLINUX: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";
/// Programs a PXE room needs beyond the lab's own.
pub const PROGRAMS: [&str; 2] = ["qemu-system-x86_64", "dnsmasq"];
/// Files a PXE room needs from Debian's packages (pxelinux, syslinux-common).
pub const FILES: [&str; 2] = [PXELINUX, LDLINUX];

/// The boot image under test: `bootimage/build.sh`'s two files.
#[derive(Debug)]
pub struct BootImage {
    /// `udpcast-linux`.
    pub kernel: PathBuf,
    /// `udpcast-initrd`.
    pub initrd: PathBuf,
}

/// Builds the boot image once per test process (`target/bootimage/pxe-test`), with the
/// builder's default modules, as a user would.
pub fn boot_image() -> Result<&'static BootImage, String> {
    static IMAGE: OnceLock<Result<BootImage, String>> = OnceLock::new();
    IMAGE
        .get_or_init(|| build_image("pxe-test", &[]))
        .as_ref()
        .map_err(Clone::clone)
}

/// The key file [`keyed_boot_image`] carries.
pub fn boot_image_key() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bootimage/pxe-test.key")
}

/// The boot image built with `--key-file` [`boot_image_key`] (authenticated transfers),
/// once per test process (`target/bootimage/pxe-test-keyed`).
pub fn keyed_boot_image() -> Result<&'static BootImage, String> {
    static IMAGE: OnceLock<Result<BootImage, String>> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            let key = boot_image_key();
            std::fs::create_dir_all(key.parent().unwrap())
                .and_then(|()| std::fs::write(&key, b"a room's key: 32 bytes or more, any\n"))
                .map_err(|e| format!("cannot write {}: {e}", key.display()))?;
            build_image("pxe-test-keyed", &["--key-file".as_ref(), key.as_os_str()])
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn build_image(name: &str, args: &[&std::ffi::OsStr]) -> Result<BootImage, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = root.join("target/bootimage").join(name);
    let built = Command::new(root.join("bootimage/build.sh"))
        .args(args)
        .arg(&out)
        .output()
        .map_err(|e| format!("cannot run bootimage/build.sh: {e}"))?;
    if !built.status.success() {
        return Err(format!(
            "bootimage/build.sh failed ({}):\n{}",
            built.status,
            String::from_utf8_lossy(&built.stderr)
        ));
    }
    eprint!("{}", String::from_utf8_lossy(&built.stdout));
    Ok(BootImage {
        kernel: out.join("udpcast-linux"),
        initrd: out.join("udpcast-initrd"),
    })
}

/// What is missing on this machine for a PXE room, if anything.
pub fn missing_tools() -> Option<String> {
    for program in PROGRAMS {
        if find_program(program).is_none() {
            return Some(format!("`{program}` is not installed (scripts/setup.sh)"));
        }
    }
    FILES
        .iter()
        .find(|f| !Path::new(f).exists())
        .map(|f| format!("{f} is missing (pxelinux, syslinux-common; scripts/setup.sh)"))
}

/// The MAC address of the machine on lab host `index`.
pub fn mac(index: usize) -> String {
    format!("52:54:00:66:00:{index:02x}")
}

/// The boot server: dnsmasq on lab host 0, serving DHCP and TFTP from `<lab>/tftp`.
pub struct BootServer<'lab> {
    tftp: PathBuf,
    _dnsmasq: Proc<'lab>,
}

impl<'lab> BootServer<'lab> {
    /// Fills the TFTP folder (pxelinux, its module, the boot image) and starts dnsmasq.
    pub fn start(lab: &'lab Lab, image: &BootImage) -> io::Result<BootServer<'lab>> {
        let tftp = lab.path("tftp");
        fs::create_dir_all(tftp.join("pxelinux.cfg"))?;
        fs::copy(PXELINUX, tftp.join("pxelinux.0"))?;
        fs::copy(LDLINUX, tftp.join("ldlinux.c32"))?;
        fs::copy(&image.kernel, tftp.join("udpcast-linux"))?;
        fs::copy(&image.initrd, tftp.join("udpcast-initrd"))?;
        let server = lab.host(0);
        let mut dnsmasq = server
            .command(find_program("dnsmasq").expect("checked by missing_tools"))
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                // No DNS: only DHCP and TFTP, only on the lab's interface.
                "--port=0",
                "--bind-interfaces",
                &format!("--interface={}", server.iface()),
                "--dhcp-range=10.66.0.100,10.66.0.199,255.255.255.0,1h",
                "--dhcp-boot=pxelinux.0",
                "--enable-tftp",
                "--user=root",
                "--log-dhcp",
                "--log-facility=-",
            ])
            .arg(format!("--tftp-root={}", tftp.display()))
            .arg(format!("--dhcp-leasefile={}", lab.path("leases").display()))
            .arg(format!("--pid-file={}", lab.path("dnsmasq.pid").display()))
            .timeout(Duration::from_secs(1800))
            .label("dnsmasq")
            .spawn()?;
        if !dnsmasq.wait_for_stderr("TFTP root is", Duration::from_secs(10))? {
            return Err(io::Error::other(format!(
                "dnsmasq did not start: {}",
                dnsmasq.stderr()
            )));
        }
        Ok(BootServer {
            tftp,
            _dnsmasq: dnsmasq,
        })
    }

    /// Writes the pxelinux configuration every machine without one of its own boots:
    /// one entry, booted at once, with this `append` line and `ipappend 3`.
    pub fn set_default(&self, append: &str) -> io::Result<()> {
        self.write_config("default", append)
    }

    /// Writes the configuration of the machine on lab host `index` (pxelinux looks for
    /// `01-<mac>` before `default`).
    pub fn set_for_machine(&self, index: usize, append: &str) -> io::Result<()> {
        self.write_config(&format!("01-{}", mac(index).replace(':', "-")), append)
    }

    fn write_config(&self, name: &str, append: &str) -> io::Result<()> {
        fs::write(
            self.tftp.join("pxelinux.cfg").join(name),
            format!(
                "default udp\nprompt 0\ntimeout 0\n\nlabel udp\n  kernel udpcast-linux\n  \
                 append initrd=udpcast-initrd {append}\n  ipappend 3\n"
            ),
        )
    }
}

/// How a machine's disk is attached.
#[derive(Clone, Copy, Debug)]
pub enum DiskBus {
    /// virtio-blk: the guest sees `/dev/vda`.
    VirtioBlk,
    /// virtio-scsi with one SCSI disk: the guest sees `/dev/sda`, as sites write it.
    VirtioScsi,
}

/// How a machine starts.
#[derive(Clone, Debug)]
pub enum Boot<'a> {
    /// From the network, as in a classroom (`-boot n`).
    Network,
    /// The boot image handed to qemu directly, with this kernel command line: for the
    /// launcher's own behaviour, where PXE would only add time.
    Direct(&'a BootImage, &'a str),
}

/// Where a machine's serial console goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Console {
    /// To a file only: nobody types.
    Screen,
    /// Also a keyboard: [`Machine::type_line`] types on it.
    Keyboard,
}

/// A machine of the room: qemu on lab host `index`, with `disk` as its disk.
pub struct Machine<'lab> {
    qemu: Proc<'lab>,
    console: PathBuf,
    started: Instant,
    index: usize,
}

impl<'lab> Machine<'lab> {
    /// Plugs a machine into lab host `index` (≥ 1) and powers it on.
    pub fn power_on(
        lab: &'lab Lab,
        index: usize,
        disk: &Path,
        bus: DiskBus,
        boot: Boot<'_>,
        console: Console,
        limit: Duration,
    ) -> io::Result<Machine<'lab>> {
        assert!(index >= 1, "lab host 0 is the boot server");
        let host = lab.host(index);
        // The host's own address would answer ARP for nothing; its port becomes the
        // machine's cable: veth and tap on one bridge that floods like the switch does.
        let plug = format!(
            "addr flush dev {e}\n\
             link add brvm type bridge mcast_snooping 0\n\
             link set {e} master brvm\n\
             tuntap add dev vm0 mode tap\n\
             link set vm0 master brvm\n\
             link set vm0 up\n\
             link set brvm up\n",
            e = host.iface()
        );
        let out = host
            .command("ip")
            .args(["-batch", "-"])
            .stdin(crate::lab::Input::File(write_temp(
                lab,
                &format!("plug{index}"),
                &plug,
            )?))
            .run()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "cannot plug a machine into lab host {index}: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }

        let label = format!("machine{index}");
        let console_path = lab.path(format!("{label}.console"));
        let drive = format!("file={},format=raw,if=none,id=d0", disk.display());
        let mut args: Vec<String> = [
            "-accel",
            "tcg",
            "-m",
            "384",
            "-display",
            "none",
            "-monitor",
            "none",
            "-no-reboot",
            "-netdev",
            "tap,id=n0,ifname=vm0,script=no,downscript=no",
            "-device",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("virtio-net-pci,netdev=n0,mac={}", mac(index)));
        let serial = match console {
            Console::Screen => format!("file:{}", console_path.display()),
            Console::Keyboard => "stdio".to_owned(),
        };
        args.extend(["-serial".into(), serial]);
        args.extend(["-drive".into(), drive]);
        match bus {
            DiskBus::VirtioBlk => args.extend(["-device".into(), "virtio-blk-pci,drive=d0".into()]),
            DiskBus::VirtioScsi => args.extend([
                "-device".into(),
                "virtio-scsi-pci,id=scsi0".into(),
                "-device".into(),
                "scsi-hd,drive=d0,bus=scsi0.0".into(),
            ]),
        }
        match boot {
            Boot::Network => args.extend(["-boot".into(), "n".into()]),
            Boot::Direct(image, cmdline) => {
                args.extend(["-kernel".into(), image.kernel.display().to_string()]);
                args.extend(["-initrd".into(), image.initrd.display().to_string()]);
                args.extend(["-append".into(), cmdline.to_string()]);
            }
        }
        let mut command = host
            .command("qemu-system-x86_64")
            .args(&args)
            .timeout(limit)
            .label(&label);
        if console == Console::Keyboard {
            command = command
                .stdin(crate::lab::Input::Piped)
                .stdout_file(&console_path);
        }
        let qemu = command.spawn()?;
        Ok(Machine {
            qemu,
            console: console_path,
            started: Instant::now(),
            index,
        })
    }

    /// Time since the machine was powered on.
    pub fn since_power_on(&self) -> Duration {
        self.started.elapsed()
    }

    /// Everything the machine printed on its serial console so far.
    pub fn console(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.console).unwrap_or_default()).into_owned()
    }

    /// Waits until the console shows `needle`; the time since power-on when it did, or
    /// `None` if it did not within `within` (or qemu ended first).
    pub fn wait_for_console(&mut self, needle: &str, within: Duration) -> Option<Duration> {
        let deadline = Instant::now() + within;
        loop {
            if self.console().contains(needle) {
                return Some(self.started.elapsed());
            }
            if Instant::now() >= deadline || !self.qemu.is_running() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the machine to power itself off; on time out or a qemu failure, an
    /// error that quotes the console.
    pub fn wait_power_off(&mut self, within: Duration) -> Result<Duration, String> {
        match self.qemu.wait_timeout(within) {
            Ok(Some(status)) if status.success() => Ok(self.started.elapsed()),
            Ok(Some(status)) => Err(format!(
                "machine {} (qemu) ended with {status}: {}\n--- console ---\n{}",
                self.index,
                self.qemu.stderr().trim(),
                self.console_tail()
            )),
            Ok(None) => Err(format!(
                "machine {} did not power off within {within:?}\n--- console ---\n{}",
                self.index,
                self.console_tail()
            )),
            Err(e) => Err(format!("waiting for machine {}: {e}", self.index)),
        }
    }

    /// The last lines of the console, for failure messages.
    pub fn console_tail(&self) -> String {
        let text = self.console();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// Types `line` and Enter on the console (a machine powered on with
    /// [`Console::Keyboard`]).
    pub fn type_line(&mut self, line: &str) -> io::Result<()> {
        use std::io::Write;
        let keyboard = self
            .qemu
            .stdin()
            .ok_or_else(|| io::Error::other("this machine has no keyboard"))?;
        // A serial console's Enter is a carriage return.
        keyboard.write_all(format!("{line}\r").as_bytes())?;
        keyboard.flush()
    }

    /// Pulls the plug.
    pub fn power_off(&mut self) {
        let _ = self.qemu.kill();
    }
}

fn write_temp(lab: &Lab, name: &str, text: &str) -> io::Result<PathBuf> {
    let path = lab.path(name);
    fs::write(&path, text)?;
    Ok(path)
}
