//! Unit tests of [`InputTap`](super::InputTap): what GGRS is shown.

use super::ggrs_mirror::{self, MirrorInput, MirrorStatus};
use super::{InputTap, SeatInputs};
use crate::addr::PeerAddr;
use ggrs::{Message, NonBlockingSocket};

/// A socket that hands over the same messages on every receive.
struct Replay(Vec<(PeerAddr, Message)>);

impl NonBlockingSocket<PeerAddr> for Replay {
    fn send_to(&mut self, _: &Message, _: &PeerAddr) {}
    fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
        self.0.clone()
    }
}

/// Survivor 0's inputs saying it dropped player 2 after frame 8.
fn dropped_news() -> MirrorInput {
    let status = |disconnected, last_frame| MirrorStatus {
        disconnected,
        last_frame,
    };
    MirrorInput {
        peer_connect_status: vec![status(false, 10), status(false, 9), status(true, 8)],
        disconnect_requested: false,
        start_frame: 0,
        ack_frame: 9,
        bytes: ggrs_mirror::encode_inputs(&[0], &[vec![1], vec![2]]),
    }
}

fn statuses_seen(tap: &mut InputTap<Replay>) -> Vec<Vec<MirrorStatus>> {
    tap.receive_all_messages()
        .iter()
        .filter_map(|(_, m)| ggrs_mirror::read_input(m))
        .map(|(_, i)| i.peer_connect_status)
        .collect()
}

#[test]
fn news_of_a_frozen_seats_drop_waits_for_release() {
    let news = ggrs_mirror::input_message(7, dropped_news()).expect("a GGRS message");
    let seats = SeatInputs::default();
    let mut tap = InputTap::new(Replay(vec![(PeerAddr::Sim(0), news)]), seats.clone());
    let sent = dropped_news().peer_connect_status;
    assert_eq!(statuses_seen(&mut tap), vec![sent.clone()], "not frozen");

    seats.freeze(PeerAddr::Sim(2), 2);
    let mut hidden = sent.clone();
    hidden[2].disconnected = false;
    assert_eq!(statuses_seen(&mut tap), vec![hidden], "frozen");
    // Only the status changes: frames, ack and inputs are the sender's.
    let shown = tap.receive_all_messages();
    let (magic, input) = ggrs_mirror::read_input(&shown[0].1).expect("input");
    assert_eq!(
        (magic, input.ack_frame, input.bytes),
        (7, 9, dropped_news().bytes)
    );

    seats.release(PeerAddr::Sim(2));
    assert_eq!(statuses_seen(&mut tap), vec![sent.clone()], "released");
    seats.freeze(PeerAddr::Sim(2), 2);
    assert_eq!(
        statuses_seen(&mut tap),
        vec![sent],
        "frozen again: released"
    );
}
