//! `nearplay-rendezvous`: the rendezvous server (work in progress).

fn main() {}
