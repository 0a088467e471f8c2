//! Unit tests of [`InputTap`](super::InputTap): what GGRS is shown.

use super::SeatInputs;
use super::ggrs_mirror::{self, MirrorInput, MirrorStatus};
use crate::addr::PeerAddr;
use crate::transport::{HELD_REPORTS, InputTap};
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

/// A socket that hands over one batch per receive, then nothing.
struct Batches(std::collections::VecDeque<Vec<(PeerAddr, Message)>>);

impl NonBlockingSocket<PeerAddr> for Batches {
    fn send_to(&mut self, _: &Message, _: &PeerAddr) {}
    fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
        self.0.pop_front().unwrap_or_default()
    }
}

fn report(frame: i32) -> Message {
    let body = ggrs_mirror::MirrorChecksum {
        checksum: u128::from(frame.unsigned_abs()) * 31,
        frame,
    };
    ggrs_mirror::checksum_message(7, body).expect("a GGRS message")
}

fn input() -> Message {
    ggrs_mirror::input_message(7, dropped_news()).expect("a GGRS message")
}

/// The frames of the checksum reports in `got`, and whether each other
/// message was an input, in order.
fn seen(got: &[(PeerAddr, Message)]) -> Vec<Option<i32>> {
    got.iter()
        .map(|(_, m)| match ggrs_mirror::read(m) {
            ggrs_mirror::Read::Checksum(c) => Some(c.frame),
            _ => None,
        })
        .collect()
}

#[test]
fn a_checksum_report_reaches_ggrs_after_the_next_input_of_its_sender() {
    let (a, b) = (PeerAddr::Sim(0), PeerAddr::Sim(1));
    let batches = vec![
        vec![(a, report(10)), (b, input())],
        vec![(a, input()), (b, report(20))],
        vec![(b, input())],
    ];
    let mut tap = InputTap::new(Batches(batches.into()), SeatInputs::default());
    // `a`'s report waits: `b`'s input says nothing of `a`.
    assert_eq!(seen(&tap.receive_all_messages()), vec![None]);
    // `a`'s input brings its report; `b`'s report waits.
    assert_eq!(seen(&tap.receive_all_messages()), vec![None, Some(10)]);
    assert_eq!(seen(&tap.receive_all_messages()), vec![None, Some(20)]);
}

#[test]
fn reports_of_a_peer_that_sends_no_more_inputs_never_reach_ggrs() {
    let a = PeerAddr::Sim(0);
    let mut batches: Vec<Vec<(PeerAddr, Message)>> =
        (1..=10).map(|i| vec![(a, report(10 * i))]).collect();
    batches.push(vec![(a, input())]);
    let mut tap = InputTap::new(Batches(batches.into()), SeatInputs::default());
    for _ in 1..=10 {
        assert_eq!(seen(&tap.receive_all_messages()), Vec::<Option<i32>>::new());
    }
    // Held: the newest few only, given once an input follows.
    let mut expected = vec![None];
    expected.extend((7..=10).map(|i| Some(10 * i)));
    assert_eq!(expected.len(), 1 + HELD_REPORTS);
    assert_eq!(seen(&tap.receive_all_messages()), expected);
}

/// Peer 0's news that it dropped player 1 after `last_frame`.
fn drop_of_1_after(last_frame: i32) -> Message {
    let mut input = dropped_news();
    input.peer_connect_status[1] = MirrorStatus {
        disconnected: true,
        last_frame,
    };
    input.peer_connect_status[2].disconnected = false;
    ggrs_mirror::input_message(7, input).expect("a GGRS message")
}

#[test]
fn a_drop_before_the_frame_ggrs_confirmed_is_shown_connected() {
    let a = PeerAddr::Sim(0);
    let batches = vec![
        vec![(a, drop_of_1_after(3))],
        vec![(a, drop_of_1_after(8))],
        vec![(a, drop_of_1_after(9))],
    ];
    let mut tap = InputTap::new(Batches(batches.into()), SeatInputs::default());
    let shown_dropped = |got: Vec<(PeerAddr, Message)>| -> Vec<bool> {
        got.iter()
            .filter_map(|(_, m)| ggrs_mirror::read_input(m))
            .map(|(_, i)| i.peer_connect_status[1].disconnected)
            .collect()
    };
    // Before this player sent anything, GGRS confirmed nothing: shown.
    assert_eq!(shown_dropped(tap.receive_all_messages()), vec![true]);
    // GGRS sends inputs whose statuses say it confirmed frame 9 (the lowest
    // last frame of a connected player; seat 2 is disconnected).
    let ours = ggrs_mirror::input_message(7, dropped_news()).expect("a GGRS message");
    tap.send_to(&ours, &a);
    // A drop after 8 means a rollback to 9, the confirmed frame: bevy_ggrs
    // may hold no snapshot of it. Not shown.
    assert_eq!(shown_dropped(tap.receive_all_messages()), vec![false]);
    // After 9: a rollback to 10.
    assert_eq!(shown_dropped(tap.receive_all_messages()), vec![true]);
}

#[test]
fn a_drop_is_judged_at_the_lowest_last_frame_any_peer_gave_ggrs() {
    let (a, b) = (PeerAddr::Sim(0), PeerAddr::Sim(1));
    // `b` once said it held player 1's inputs up to frame 5 only.
    let mut stale = dropped_news();
    stale.peer_connect_status[1].last_frame = 5;
    stale.peer_connect_status[2].disconnected = false;
    let stale = ggrs_mirror::input_message(7, stale).expect("a GGRS message");
    let batches = vec![vec![(b, stale)], vec![(a, drop_of_1_after(9))]];
    let mut tap = InputTap::new(Batches(batches.into()), SeatInputs::default());
    let ours = ggrs_mirror::input_message(7, dropped_news()).expect("a GGRS message");
    tap.send_to(&ours, &a); // GGRS confirmed frame 9
    tap.receive_all_messages();
    // After 9 alone would be playable; GGRS would drop it after 5.
    let got = tap.receive_all_messages();
    let (_, input) = ggrs_mirror::read_input(&got[0].1).expect("input");
    assert!(!input.peer_connect_status[1].disconnected);
}

#[test]
fn a_player_that_sent_no_input_yet_counts_at_frame_minus_1() {
    let (a, b) = (PeerAddr::Sim(0), PeerAddr::Sim(1));
    let batches = vec![vec![(a, drop_of_1_after(9))], vec![(a, drop_of_1_after(9))]];
    let seats = SeatInputs::default();
    let mut tap = InputTap::new(Batches(batches.into()), seats.clone());
    let ours = ggrs_mirror::input_message(7, dropped_news()).expect("a GGRS message");
    tap.send_to(&ours, &a); // GGRS confirmed frame 9
    let dropped = |got: Vec<(PeerAddr, Message)>| {
        let (_, input) = ggrs_mirror::read_input(&got[0].1).expect("input");
        input.peer_connect_status[1].disconnected
    };
    assert!(dropped(tap.receive_all_messages()), "only `a` is known");
    // GGRS also plays with `b`, which sent nothing: its endpoint says -1.
    seats.set_players([a, b]);
    assert!(!dropped(tap.receive_all_messages()));
}
