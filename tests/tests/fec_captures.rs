//! The FEC codec against the reference captures of Debian's udpcast (PROTOCOL.md §5, §7):
//! every FEC payload of a stripe with data is recomputed bit for bit from the captured DATA
//! payloads, the stale payloads of empty stripes follow §5.5, and whole input files are
//! rebuilt after erasing as many data blocks per stripe as the redundancy allows.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use udpcast_core::fec::{Decoder, Encoder, FecBlock, FecConfig, Kernel, KernelKind, SliceGeometry};
use udpcast_core::wire::Message;
use udpcast_tests::lab::SplitMix64;
use udpcast_tests::{fixtures, pcap};

const BLOCK_SIZE: usize = 1456;

/// The sender-side FEC captures: (capture, input file, stripes, redundancy).
const FEC_CAPTURES: [(&str, &str, usize, usize); 4] = [
    ("03_async_fec_8x8.pcap", "in100k.bin", 8, 8),
    ("06_streaming_async_join.pcap", "in500k.bin", 8, 8),
    ("10_async_fec_loss2.pcap", "in500k.bin", 8, 8),
    ("12_sync_fec_4x2_loss5.pcap", "in500k.bin", 4, 2),
];

/// One slice as seen in a capture.
#[derive(Default)]
struct Slice {
    bytes: u32,
    stripes: Option<u16>,
    data: BTreeMap<u16, Vec<u8>>,
    fec: BTreeMap<u16, Vec<u8>>,
}

/// Every DATA and FEC packet of a capture, grouped by slice, plus the slices only a REQACK
/// names (the synchronous end slice, §3.8). Duplicates (retransmitted DATA) must be
/// identical to the first copy.
fn slices(capture: &str) -> BTreeMap<u32, Slice> {
    let datagrams = pcap::read_udp(&fixtures::capture(capture)).expect("capture");
    let mut slices: BTreeMap<u32, Slice> = BTreeMap::new();
    for d in &datagrams {
        let Ok(message) = Message::parse(&d.payload) else {
            continue;
        };
        let (slice, bytes, block, payload, stripes) = match message {
            Message::Data(m) => (m.slice, m.bytes, m.block, m.payload, None),
            Message::Fec(m) => (m.slice, m.bytes, m.block, m.payload, Some(m.stripes)),
            Message::Reqack(m) => {
                let entry = slices.entry(m.slice).or_insert_with(|| Slice {
                    bytes: m.bytes,
                    ..Slice::default()
                });
                assert_eq!(entry.bytes, m.bytes, "{capture} #{}", d.number);
                continue;
            }
            _ => continue,
        };
        let entry = slices.entry(slice).or_insert_with(|| Slice {
            bytes,
            ..Slice::default()
        });
        assert_eq!(
            entry.bytes, bytes,
            "{capture} #{}: bytes of slice {slice}",
            d.number
        );
        let map = match stripes {
            None => {
                // §2.6: n = min(blockSize, bytes − blockNo·blockSize), never padded.
                let start = usize::from(block) * BLOCK_SIZE;
                let expected = (bytes as usize).saturating_sub(start).min(BLOCK_SIZE);
                assert_eq!(payload.len(), expected, "{capture} #{}", d.number);
                &mut entry.data
            }
            Some(s) => {
                assert_eq!(
                    *entry.stripes.get_or_insert(s),
                    s,
                    "{capture} #{}",
                    d.number
                );
                assert_eq!(payload.len(), BLOCK_SIZE, "{capture} #{}", d.number);
                &mut entry.fec
            }
        };
        if let Some(previous) = map.get(&block) {
            assert_eq!(
                previous, payload,
                "{capture} #{}: differing duplicate",
                d.number
            );
        } else {
            map.insert(block, payload.to_vec());
        }
    }
    slices
}

/// The slice's bytes from its DATA blocks; all of them must be present.
fn slice_bytes(capture: &str, number: u32, slice: &Slice) -> Vec<u8> {
    let blocks = (slice.bytes as usize).div_ceil(BLOCK_SIZE);
    assert_eq!(
        slice.data.len(),
        blocks,
        "{capture}: slice {number} lacks DATA"
    );
    let bytes: Vec<u8> = slice.data.values().flatten().copied().collect();
    assert_eq!(bytes.len(), slice.bytes as usize);
    bytes
}

fn expected_sha256(input: &str) -> String {
    let list = std::fs::read_to_string(fixtures::capture("inputs.sha256")).expect("inputs.sha256");
    list.lines()
        .find_map(|line| line.strip_suffix(input).map(|h| h.trim().to_string()))
        .unwrap_or_else(|| panic!("{input} not in inputs.sha256"))
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn kernels() -> Vec<Kernel> {
    KernelKind::ALL
        .into_iter()
        .filter_map(Kernel::new)
        .collect()
}

/// PROTOCOL.md §7: 306 FEC payloads of stripes with data, recomputed bit for bit, with
/// every kernel; §5.5: of the 366 payloads of empty stripes, 254 repeat the same block
/// number of the last slice of the same parity where that stripe had data, 112 are zero.
#[test]
fn every_fec_payload_with_data_is_recomputed_bit_for_bit() {
    let mut with_data = 0;
    let (mut stale, mut zero) = (0, 0);
    for (capture, _, stripes, redundancy) in FEC_CAPTURES {
        let config = FecConfig::new(stripes, redundancy, BLOCK_SIZE).unwrap();
        // §5.5: the C sender's two FEC buffers, by slice parity.
        let mut buffers = [vec![0u8; config.fec_len()], vec![0u8; config.fec_len()]];
        for (&number, slice) in &slices(capture) {
            if slice.fec.is_empty() {
                // Synchronous mode sends no FEC for the zero-byte end slice (§3.8).
                assert_eq!(slice.bytes, 0, "{capture}: slice {number} without FEC");
                continue;
            }
            assert_eq!(
                slice.stripes,
                Some(stripes as u16),
                "{capture}: slice {number}"
            );
            assert_eq!(
                slice.fec.len(),
                stripes * redundancy,
                "{capture}: slice {number}"
            );
            let data = slice_bytes(capture, number, slice);
            let geometry = config.slice(data.len()).unwrap();
            let mut fec = vec![0u8; config.fec_len()];
            let mut reference = None;
            for kernel in kernels() {
                Encoder::new(config, kernel)
                    .encode_slice(&data, &mut fec)
                    .unwrap();
                assert_eq!(
                    *reference.get_or_insert_with(|| fec.clone()),
                    fec,
                    "{kernel:?}"
                );
            }
            let buffer = &mut buffers[number as usize % 2];
            for (&b, captured) in &slice.fec {
                let position = geometry.fec_position(b);
                let range = usize::from(b) * BLOCK_SIZE..(usize::from(b) + 1) * BLOCK_SIZE;
                if geometry.stripe_blocks(position.stripe) > 0 {
                    assert_eq!(
                        &fec[range.clone()],
                        captured.as_slice(),
                        "{capture}: slice {number} FEC block {b}"
                    );
                    buffer[range].copy_from_slice(captured);
                    with_data += 1;
                } else {
                    assert_eq!(
                        &buffer[range],
                        captured.as_slice(),
                        "{capture}: slice {number} stale FEC block {b}"
                    );
                    if captured.iter().all(|&x| x == 0) {
                        zero += 1;
                    } else {
                        stale += 1;
                    }
                }
            }
        }
    }
    assert_eq!(with_data, 306, "FEC payloads of stripes with data (§7)");
    assert_eq!(
        (stale, zero),
        (254, 112),
        "stale and zero payloads of empty stripes (§7)"
    );
}

/// Rebuilds one slice from its DATA blocks minus `erase` and the FEC blocks in `fec`,
/// returning the slice's bytes and how many blocks the decoder rebuilt.
fn decode(
    decoder: &mut Decoder,
    geometry: &SliceGeometry,
    data: &BTreeMap<u16, Vec<u8>>,
    fec: &[(u16, Vec<u8>)],
) -> (Vec<u8>, usize) {
    let mut buffer = vec![0x55u8; geometry.bytes()];
    let mut received = vec![0u8; geometry.blocks().div_ceil(8)];
    for (&block, payload) in data {
        let start = usize::from(block) * BLOCK_SIZE;
        buffer[start..start + payload.len()].copy_from_slice(payload);
        received[usize::from(block) / 8] |= 1 << (block % 8);
    }
    let mut payloads: Vec<Vec<u8>> = fec.iter().map(|(_, p)| p.clone()).collect();
    let mut blocks: Vec<FecBlock<'_>> = fec
        .iter()
        .zip(payloads.iter_mut())
        .map(|((number, _), payload)| FecBlock {
            number: *number,
            payload,
        })
        .collect();
    let recovered = decoder
        .decode_slice(geometry, &mut buffer, &received, &mut blocks)
        .expect("decodable");
    (buffer, recovered)
}

/// §7: the whole file, rebuilt after erasing in every stripe of every slice as many data
/// blocks as the redundancy allows (random blocks, random FEC rows, several seeds), has
/// the input's SHA-256. Erased blocks: 69 + 65 + 65 + 25.
#[test]
fn files_rebuilt_after_maximal_erasure_match_the_inputs() {
    let expected_erased = [69, 65, 65, 25];
    for ((capture, input, stripes, redundancy), expected_erased) in
        FEC_CAPTURES.into_iter().zip(expected_erased)
    {
        let slices = slices(capture);
        let want = expected_sha256(input);
        assert_eq!(want, sha256_hex(&fixtures::input(input)), "fixture {input}");
        for seed in 1..=4u64 {
            let mut rng = SplitMix64(seed);
            let kernels = kernels();
            let kernel = kernels[seed as usize % kernels.len()];
            let mut decoder = Decoder::new(BLOCK_SIZE, kernel).unwrap();
            let mut file = Vec::new();
            let mut erased_total = 0;
            let mut end = false;
            for (&number, slice) in &slices {
                assert!(!end, "{capture}: slice {number} after the end slice");
                if slice.bytes == 0 {
                    end = true;
                    continue;
                }
                let geometry =
                    SliceGeometry::new(slice.bytes as usize, BLOCK_SIZE, stripes).unwrap();
                let mut data = slice.data.clone();
                let mut fec = Vec::new();
                for stripe in 0..stripes {
                    let k = geometry.stripe_blocks(stripe);
                    let mut columns: Vec<usize> = (0..k).collect();
                    rng.shuffle(&mut columns);
                    let erase = k.min(redundancy);
                    for &j in &columns[..erase] {
                        data.remove(&(geometry.block_at(stripe, j) as u16));
                    }
                    let mut rows: Vec<usize> = (0..redundancy).collect();
                    rng.shuffle(&mut rows);
                    for &r in &rows[..erase] {
                        let b = geometry.fec_block(r, stripe).unwrap();
                        fec.push((b, slice.fec[&b].clone()));
                    }
                    erased_total += erase;
                }
                rng.shuffle(&mut fec);
                let (bytes, recovered) = decode(&mut decoder, &geometry, &data, &fec);
                assert_eq!(recovered, slice.data.len() - data.len());
                file.extend_from_slice(&bytes);
            }
            assert!(end, "{capture}: no end slice");
            assert_eq!(erased_total, expected_erased, "{capture}: erased blocks");
            assert_eq!(sha256_hex(&file), want, "{capture} seed {seed} {kernel:?}");
        }
    }
}

/// §7: the receiver-side capture of the 2 % loss run lacks 20 frames; FEC decoding rebuilds
/// the 12 data blocks among them and the file matches in500k.bin.
#[test]
fn receiver_side_capture_with_losses_is_rebuilt_by_fec() {
    let capture = "10_async_fec_loss2_rxside.pcap";
    let slices = slices(capture);
    let want = expected_sha256("in500k.bin");
    for kernel in kernels() {
        let mut decoder = Decoder::new(BLOCK_SIZE, kernel).unwrap();
        let mut file = Vec::new();
        let mut recovered_total = 0;
        for slice in slices.values() {
            if slice.bytes == 0 {
                continue;
            }
            let stripes = usize::from(slice.stripes.expect("FEC seen for every slice"));
            let geometry = SliceGeometry::new(slice.bytes as usize, BLOCK_SIZE, stripes).unwrap();
            let fec: Vec<(u16, Vec<u8>)> = slice.fec.iter().map(|(&b, p)| (b, p.clone())).collect();
            let (bytes, recovered) = decode(&mut decoder, &geometry, &slice.data, &fec);
            recovered_total += recovered;
            file.extend_from_slice(&bytes);
        }
        assert_eq!(recovered_total, 12, "{kernel:?}: data blocks rebuilt");
        assert_eq!(sha256_hex(&file), want, "{kernel:?}");
    }
}
