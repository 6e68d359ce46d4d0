//! `udp-sender`'s command line turned into core's `SenderConfig`: defaults, range checks
//! and the choices udpcast announces on the way ("Using mcast address …").

use crate::cli::sender_args::SenderArgs;
use crate::log::Log;
use crate::net::interface;
use udpcast_core::addressing;
use udpcast_core::sender::{Duplex, FecParams, PointToPoint, SenderConfig};
use udpcast_core::time::Duration;

/// The configuration `args` ask for on the interface `chosen`, or what is wrong with it;
/// the choices udpcast announces are logged.
pub fn from_args(
    args: &SenderArgs,
    chosen: &interface::Chosen,
    log: &Log,
) -> Result<SenderConfig, String> {
    let ttl = args.ttl.unwrap_or(1);
    let rendezvous = addressing::rendezvous(ttl, args.mcast_rdv, chosen.broadcast);
    let data_group = match args.mcast_data {
        Some(group) => group,
        None => {
            let group = addressing::default_data_group(chosen.address);
            log.info(&format!("Using mcast address {group}"));
            group
        }
    };
    let mut c = SenderConfig::new(chosen.address, rendezvous, data_group);
    c.portbase = args.portbase.unwrap_or(9000);
    if c.portbase == 0 || c.portbase == u16::MAX {
        return Err(format!("bad port base {}", c.portbase));
    }
    let block_size = args.blocksize.unwrap_or(1456);
    if block_size == 0 || block_size > 65_532 {
        return Err(format!("bad block size {block_size}"));
    }
    // udpcast rounds the block size down to a multiple of 4 (§3.1); core does too, and the
    // send loop's stride must match.
    c.block_size = (block_size - block_size % 4) as u16;
    if c.block_size == 0 {
        return Err(format!("bad block size {block_size}"));
    }
    c.pointopoint = match (args.pointopoint, args.nopointopoint) {
        (true, _) if args.asynchronous => PointToPoint::Never,
        (true, _) => PointToPoint::Always,
        (_, true) => PointToPoint::Never,
        _ => PointToPoint::Auto,
    };
    c.broadcast = args.broadcast;
    c.asynchronous = args.asynchronous;
    // Without an explicit choice udpcast asks the driver; every switched network (and
    // every virtual link) is full duplex, which is what the lab's veth pairs report too.
    c.duplex = if args.half_duplex && !args.full_duplex {
        Duplex::Half
    } else {
        Duplex::Full
    };
    if c.duplex == Duplex::Full && !args.asynchronous {
        log.info("Using full duplex mode");
    }
    c.fec = args.fec.map(|f| FecParams {
        stripes: f.stripes,
        redundancy: f.redundancy,
        stripe_size: f.stripe_size,
    });
    if let Some(f) = args.fec {
        log.info(&format!(
            "stripes={} redund={} stripesize={}",
            f.stripes, f.redundancy, f.stripe_size
        ));
    } else if args.asynchronous {
        log.info("Warning: Async mode but no forward error correction\nTransfer may fail if there is packet loss\nUse --fec 8x8 to enable forward error correction");
    }
    c.max_bitrate = args.max_bitrate;
    c.autorate = args.autorate;
    c.hello_interval = args.rexmit_hello_ms.map(Duration::from_millis);
    c.autostart = args.autostart.unwrap_or(0);
    c.min_receivers = args.min_receivers.unwrap_or(0);
    c.min_wait = args.min_wait_s.filter(|&s| s > 0).map(Duration::from_secs);
    c.max_wait = args.max_wait_s.filter(|&s| s > 0).map(Duration::from_secs);
    c.start_timeout = args
        .start_timeout_s
        .filter(|&s| s > 0)
        .map(Duration::from_secs);
    c.keyboard = !args.nokbd;
    if let Some(n) = args.retries_until_drop {
        c.retries_until_drop = n;
    }
    if let Some(s) = args.drop_timeout_s {
        c.drop_timeout = Duration::from_secs(s);
    }
    if let Some(n) = args.min_slice_size {
        if n > 1024 {
            return Err("min slice size too big".into());
        }
        c.min_slice_size = n.max(1);
    }
    if let Some(n) = args.max_slice_size {
        if n > 1024 {
            return Err("max slice size too big".into());
        }
        c.max_slice_size = n.max(c.min_slice_size);
    }
    c.slice_size = args.slice_size;
    c.streaming = args.streaming;
    if let Some(n) = args.rehello_offset {
        c.rehello_offset = n;
    }
    Ok(c)
}
