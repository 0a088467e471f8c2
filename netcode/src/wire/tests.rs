use super::*;
use ggrs::Message;

const AB: Route = Route {
    sender: 3,
    receiver: 1,
};

fn codec() -> WireCodec {
    WireCodec::new(MatchId(42), &MatchKey([9; 32]))
}

/// postcard: header.magic = 1 (varint), body variant 7 = KeepAlive.
fn keep_alive() -> Message {
    postcard::from_bytes(&[1, 7]).expect("KeepAlive decodes")
}

/// magic 129 (two varint bytes), variant 0 = SyncRequest, random 42.
fn sync_request() -> Message {
    postcard::from_bytes(&[0x81, 0x01, 0, 42]).expect("SyncRequest decodes")
}

fn sealed(c: &WireCodec, route: Route, seq: u64, msgs: &[Message]) -> Vec<u8> {
    let mut batch = Batch::new();
    for m in msgs {
        let mut enc = Vec::new();
        encode_message(m, &mut enc).expect("encode");
        batch.push(&enc).expect("fits");
    }
    let mut out = Vec::new();
    c.seal(route, seq, batch.payload(), &mut out).expect("seal");
    out
}

#[test]
fn short_and_long_are_typed() {
    let c = codec();
    let w = ReplayWindow::new();
    assert_eq!(
        c.verify(&[], AB, &w).unwrap_err(),
        WireError::TooShort { len: 0 }
    );
    assert_eq!(
        c.verify(&[0; MAX_DATAGRAM + 1], AB, &w).unwrap_err(),
        WireError::TooLarge {
            len: MAX_DATAGRAM + 1
        }
    );
    assert_eq!(
        c.verify(&[0; 40], AB, &w).unwrap_err(),
        WireError::WrongVersion { got: 0 }
    );
}

#[test]
fn seal_open_roundtrip_and_checks() {
    let c = codec();
    let msgs = [keep_alive(), sync_request()];
    let buf = sealed(&c, AB, 77, &msgs);
    assert_eq!(buf.len(), OVERHEAD + 2 + 4, "11 bytes around two messages");
    let mut w = ReplayWindow::new();
    let (h, payload) = c.open(&buf, AB, &mut w).expect("open");
    assert_eq!(h, WireHeader { sender: 3, seq: 77 });
    assert_eq!(decode_payload(payload).expect("decode"), msgs);
    assert_eq!(
        c.open(&buf, AB, &mut w).unwrap_err().reason(),
        DropReason::Replayed
    );
    // What is not sent is authenticated: another sender, another receiver
    // (a datagram reflected back or relayed to a third member), another
    // match, another key, another full sequence number with the same low bits.
    let fresh = || ReplayWindow::new();
    let other_sender = Route { sender: 2, ..AB };
    let reflected = Route {
        sender: 1,
        receiver: 3,
    };
    let relayed = Route { receiver: 4, ..AB };
    for route in [other_sender, reflected, relayed] {
        assert_eq!(
            c.open(&buf, route, &mut fresh()).unwrap_err(),
            WireError::BadTag
        );
    }
    let other_match = WireCodec::new(MatchId(43), &MatchKey([9; 32]));
    assert_eq!(
        other_match.open(&buf, AB, &mut fresh()).unwrap_err(),
        WireError::BadTag
    );
    let other_key = WireCodec::new(MatchId(42), &MatchKey([8; 32]));
    assert_eq!(
        other_key.open(&buf, AB, &mut fresh()).unwrap_err(),
        WireError::BadTag
    );
    let wrapped = sealed(&c, AB, 77 + (1 << 16), &msgs);
    assert_eq!(&wrapped[..3], &buf[..3], "same bits on the wire");
    assert_eq!(
        c.open(&wrapped, AB, &mut fresh()).unwrap_err(),
        WireError::BadTag
    );

    let mut v = buf.clone();
    v[0] = 1;
    assert_eq!(
        c.open(&v, AB, &mut fresh()).unwrap_err(),
        WireError::WrongVersion { got: 1 }
    );
    let mut flipped = buf.clone();
    flipped[HEADER_LEN] ^= 1;
    assert_eq!(
        c.open(&flipped, AB, &mut fresh()).unwrap_err(),
        WireError::BadTag
    );
}

#[test]
fn a_long_match_keeps_opening_after_16_bit_wraps() {
    let c = codec();
    let mut w = ReplayWindow::new();
    let msgs = [keep_alive()];
    // Every 7th datagram lost, every 5th delivered after the next one.
    let mut late = None;
    for seq in 0..200_000u64 {
        if seq % 7 == 0 {
            continue;
        }
        let d = sealed(&c, AB, seq, &msgs);
        if seq % 5 == 0 {
            late = Some((seq, d));
            continue;
        }
        assert_eq!(c.open(&d, AB, &mut w).expect("opens").0.seq, seq);
        if let Some((s, d)) = late.take() {
            assert_eq!(c.open(&d, AB, &mut w).expect("late opens").0.seq, s);
        }
    }
}

#[test]
fn batches_decode_whole_and_bounded() {
    let mut enc = Vec::new();
    encode_message(&keep_alive(), &mut enc).expect("encode");
    let one = enc.clone();
    assert!(!is_urgent(&one), "KeepAlive may wait");
    let mut sync = Vec::new();
    encode_message(&sync_request(), &mut sync).expect("encode");
    assert!(is_urgent(&sync), "SyncRequest leaves at once");
    assert!(is_urgent(&[]) && is_urgent(&[0x81, 0x81, 0x81, 7]));

    let mut batch = Batch::new();
    while batch.fits(&one) {
        batch.push(&one).expect("fits");
    }
    assert_eq!(batch.len(), MAX_BATCH);
    assert_eq!(
        decode_payload(batch.payload()).expect("decodes").len(),
        MAX_BATCH
    );
    let mut too_many = batch.payload().to_vec();
    too_many.extend_from_slice(&one);
    assert_eq!(decode_payload(&too_many).unwrap_err(), WireError::Malformed);
    assert_eq!(decode_payload(&[]).unwrap_err(), WireError::Malformed);
    let mut trailing = one.clone();
    trailing.push(0x80);
    assert_eq!(decode_payload(&trailing).unwrap_err(), WireError::Malformed);
    assert!(Batch::new().push(&[0; MAX_PAYLOAD + 1]).is_err());
}
