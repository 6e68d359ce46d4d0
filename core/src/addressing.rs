//! Which addresses the two programs talk to, derived the same way on both sides
//! (PROTOCOL.md §1.3–§1.5).

use core::net::Ipv4Addr;

/// The multicast rendezvous used when the TTL is not 1 and none was given.
pub const DEFAULT_MULTICAST_RENDEZVOUS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);

/// The rendezvous ("control") address: the interface's broadcast address when the TTL is 1
/// and no `--mcast-rdv-address` was given, otherwise that address or 224.0.0.1 (§1.3).
///
/// `broadcast` is the chosen interface's broadcast address; on a loopback interface without
/// one, pass the interface's own address (§1.3, loopback special case).
pub fn rendezvous(ttl: u8, mcast_rdv: Option<Ipv4Addr>, broadcast: Ipv4Addr) -> Ipv4Addr {
    match mcast_rdv {
        None if ttl == 1 => broadcast,
        None => DEFAULT_MULTICAST_RENDEZVOUS,
        Some(address) => address,
    }
}

/// The group a receiver joins to hear the data announced by the sender, if any: only a
/// multicast address that is neither the rendezvous (already joined) nor the receiver's own
/// (§1.5, MCAST_DATA).
pub fn data_group_to_join(
    announced: Ipv4Addr,
    own: Ipv4Addr,
    rendezvous: Ipv4Addr,
) -> Option<Ipv4Addr> {
    let qualifies = !announced.is_unspecified()
        && announced != own
        && announced != rendezvous
        && announced.is_multicast();
    qualifies.then_some(announced)
}

/// The sender's default data group derived from its own address: the first octet becomes
/// `232 | (first & 7)`, the others are kept (§1.4 rule 1; 10.66.0.1 → 234.66.0.1).
pub fn default_data_group(sender: Ipv4Addr) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(sender) & 0x07FF_FFFF) | 0xE800_0000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendezvous_is_the_broadcast_address_at_ttl_1() {
        let bcast = Ipv4Addr::new(10, 66, 0, 255);
        assert_eq!(rendezvous(1, None, bcast), bcast);
    }

    #[test]
    fn rendezvous_is_224_0_0_1_at_other_ttls() {
        let bcast = Ipv4Addr::new(10, 66, 0, 255);
        assert_eq!(rendezvous(2, None, bcast), Ipv4Addr::new(224, 0, 0, 1));
    }

    #[test]
    fn a_given_rendezvous_wins_whatever_the_ttl() {
        let bcast = Ipv4Addr::new(10, 66, 0, 255);
        let rdv = Ipv4Addr::new(239, 1, 2, 3);
        assert_eq!(rendezvous(1, Some(rdv), bcast), rdv);
        assert_eq!(rendezvous(4, Some(rdv), bcast), rdv);
    }

    #[test]
    fn default_data_group_keeps_three_octets_and_maps_the_first_into_232_to_239() {
        assert_eq!(
            default_data_group(Ipv4Addr::new(10, 66, 0, 1)),
            Ipv4Addr::new(234, 66, 0, 1)
        );
        assert_eq!(
            default_data_group(Ipv4Addr::new(192, 168, 7, 9)),
            Ipv4Addr::new(232, 168, 7, 9)
        );
    }

    #[test]
    fn receivers_join_only_a_foreign_multicast_data_group() {
        let own = Ipv4Addr::new(10, 66, 0, 11);
        let bcast = Ipv4Addr::new(10, 66, 0, 255);
        let group = Ipv4Addr::new(234, 66, 0, 1);
        assert_eq!(data_group_to_join(group, own, bcast), Some(group));
        assert_eq!(data_group_to_join(Ipv4Addr::UNSPECIFIED, own, bcast), None);
        assert_eq!(data_group_to_join(own, own, bcast), None);
        assert_eq!(data_group_to_join(group, own, group), None);
        assert_eq!(
            data_group_to_join(bcast, own, Ipv4Addr::new(224, 0, 0, 1)),
            None
        );
    }
}
