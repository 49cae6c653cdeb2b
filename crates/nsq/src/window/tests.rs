//! The window's unit tests: nsqd's window rule replayed against the accounting (exact N,
//! shares, rebalancing, the byte bound), without sockets.

use super::*;

fn window(n: u64, shares: &[(u64, u64)]) -> Window {
    let s = Window::new(n, shares.len(), u64::MAX);
    {
        let mut a = s.lock();
        for (i, (cap, share)) in shares.iter().enumerate() {
            a.conns[i] = ConnAcct {
                alive: true,
                cap: *cap,
                share: *share,
                ..ConnAcct::default()
            };
        }
    }
    s
}

/// Simulates nsqd on one connection: it sends while in-flight < RDY, commands applied
/// in order. Checks the invariant the whole design rests on.
#[test]
fn one_connection_never_gets_more_than_n() {
    for (n, cap, batch) in [
        (37u64, 1000u64, 5u64),
        (100, 10, 3),
        (5, 2500, 1),
        (1000, 64, 64),
    ] {
        let s = window(n, &[(cap, n)]);
        let mut rdy = s.rdy_change(0, 0, 0).unwrap_or(0);
        let mut nsqd_inflight = 0u64;
        let mut held = 0u64;
        let mut delivered = 0u64;
        let queue = 10 * n;
        for _ in 0..100_000 {
            // nsqd sends as much as the window allows.
            while nsqd_inflight < rdy && delivered < queue {
                nsqd_inflight += 1;
                delivered += 1;
                match s.admit(0, 0) {
                    Admission::Admitted { .. } => held += 1,
                    Admission::OverLimit => panic!("over-delivery with n={n} cap={cap}"),
                }
            }
            if held == 0 {
                break;
            }
            // The client settles a batch: RDY first, then the FINs.
            let k = held.min(batch);
            held -= k;
            if let Some(r) = s.rdy_change(0, k, 0) {
                rdy = r;
            }
            nsqd_inflight -= k;
        }
        assert_eq!(delivered, n, "n={n} cap={cap} batch={batch}");
        assert_eq!(s.received.load(Ordering::Relaxed), n);
        assert_eq!(rdy, 0);
    }
}

#[test]
fn rdy_respects_cap_and_stop() {
    let s = window(10_000, &[(100, 5_000), (100, 5_000)]);
    assert_eq!(s.rdy_change(0, 0, 0), Some(100));
    assert_eq!(s.rdy_change(0, 0, 0), None, "unchanged RDY is not resent");
    s.lock().stopped = true;
    assert_eq!(s.rdy_change(0, 0, 0), Some(0));
    assert_eq!(s.admit(0, 0), Admission::OverLimit);
}

#[test]
fn the_nth_arrival_reports_the_limit_and_later_ones_are_over() {
    let s = window(2, &[(10, 1), (10, 1)]);
    assert_eq!(
        s.admit(0, 0),
        Admission::Admitted {
            limit_reached: false
        }
    );
    // Connection 0 had a share of 1 only: a second arrival there takes connection 1's.
    assert_eq!(
        s.admit(0, 0),
        Admission::Admitted {
            limit_reached: true
        }
    );
    assert_eq!(s.lock().conns[1].share, 0);
    assert_eq!(s.admit(1, 0), Admission::OverLimit);
    assert_eq!(s.over_limit.load(Ordering::Relaxed), 1);
}

#[test]
fn rearm_opens_exactly_n_more_over_the_live_connections() {
    let s = window(4, &[(10, 2), (10, 2)]);
    assert_eq!(s.rdy_change(0, 0, 0), Some(2));
    assert_eq!(s.rdy_change(1, 0, 0), Some(2));
    for i in 0..4 {
        let _ = s.admit(i % 2, 0);
    }
    assert_eq!(
        s.admit(0, 0),
        Admission::OverLimit,
        "the first batch is done"
    );
    assert_eq!(s.rdy_change(0, 2, 0), Some(0), "N arrived: RDY 0");
    assert_eq!(s.rdy_change(1, 2, 0), Some(0));
    s.stop();
    assert_eq!(s.rdy_change(0, 0, 0), None, "paused: still 0");
    assert_eq!(s.admit(1, 0), Admission::OverLimit, "paused: past N");
    let _ = s.connection_lost(1);
    let _ = s.take_rewrites();

    s.rearm(3, &[(0, None), (1, None)]);
    let (rewrites, done) = s.take_rewrites();
    assert_eq!((rewrites, done), (vec![0], false), "the live one only");
    assert_eq!(
        s.rdy_change(0, 0, 0),
        Some(3),
        "all of the new N on the live one"
    );
    for k in 1..=3 {
        assert_eq!(
            s.admit(0, 0),
            Admission::Admitted {
                limit_reached: k == 3
            }
        );
    }
    assert_eq!(s.admit(0, 0), Admission::OverLimit, "exactly N again");
    assert_eq!(s.rdy_change(0, 0, 0), Some(0));
}

#[test]
fn idle_connections_give_their_share_to_busy_ones() {
    let s = window(100, &[(50, 34), (50, 33), (50, 33)]);
    let t0 = Instant::now();
    {
        let mut a = s.lock();
        a.conns[0].last_active = Some(t0);
        a.conns[1].last_active = Some(t0);
        a.conns[2].last_active = Some(t0);
    }
    assert_eq!(s.rdy_change(1, 0, 0), Some(33));
    let _ = s.admit(0, 0);
    assert_eq!(
        s.plan_rebalance(t0),
        Some((vec![], vec![])),
        "nobody idle yet"
    );
    let later = Instant::now() + REBALANCE_IDLE;
    s.lock().conns[0].last_active = Some(later);
    let (donors, receivers) = s.plan_rebalance(later).unwrap();
    assert_eq!((donors, receivers), (vec![1, 2], vec![0]));
    let a = s.lock();
    assert_eq!(a.conns[0].share, 33 + 66);
    assert_eq!(
        a.conns[0].share + a.conns[0].inflight,
        100,
        "shares still add up to what is wanted"
    );
    assert_eq!((a.conns[1].share, a.conns[2].share), (0, 0));
    drop(a);
    assert_eq!(s.rdy_change(1, 0, 0), Some(0));
    s.lock().stopped = true;
    assert_eq!(
        s.plan_rebalance(later),
        None,
        "nothing to move after a stop"
    );
}

#[test]
fn a_lost_connection_hands_its_share_on() {
    let s = window(10, &[(10, 5), (10, 5)]);
    let _ = s.admit(0, 0);
    s.connection_lost(0);
    let a = s.lock();
    assert_eq!(a.conns[1].share, 9);
    assert_eq!(a.conns[0].inflight, 0);
    assert!(!a.conns[0].alive);
    drop(a);
    assert_eq!(
        s.take_rewrites(),
        (vec![1], false),
        "the heir's RDY is raised"
    );
    assert_eq!(s.take_rewrites(), (vec![], false), "taken once");
}

#[test]
fn the_nth_arrival_asks_for_every_window_to_close() {
    let s = window(2, &[(10, 1), (10, 1)]);
    let _ = s.admit(0, 0);
    assert_eq!(s.take_rewrites(), (vec![], false));
    let _ = s.admit(1, 0);
    assert_eq!(s.take_rewrites(), (vec![0, 1], true));
    assert_eq!((s.rdy_change(0, 0, 0), s.rdy_change(1, 0, 0)), (None, None));
}

#[test]
fn n_is_split_by_depth_when_every_depth_is_known() {
    // N = 1 over two nsqd, the message on the second: the share goes there.
    assert_eq!(split_shares(1, &[Some(0), Some(1)]), vec![0, 1]);
    // They hold less than N: each its own, the rest evenly.
    assert_eq!(split_shares(10, &[Some(0), Some(3)]), vec![4, 6]);
    // They hold more: proportionally, adding up to N.
    assert_eq!(split_shares(30, &[Some(50), Some(0)]), vec![30, 0]);
    assert_eq!(
        split_shares(10, &[Some(1), Some(1), Some(1)]),
        vec![4, 3, 3]
    );
    let shares = split_shares(100, &[Some(70), Some(20), Some(10)]);
    assert_eq!(shares, vec![70, 20, 10]);
    let shares = split_shares(7, &[Some(1_000), Some(999), Some(1)]);
    assert_eq!(shares.iter().sum::<u64>(), 7);
    assert!(
        shares[0] >= shares[1] && shares[1] >= shares[2],
        "{shares:?}"
    );
    assert_eq!(
        split_shares(u64::MAX, &[Some(u64::MAX), Some(1)])
            .iter()
            .sum::<u64>(),
        u64::MAX
    );
}

#[test]
fn n_is_split_evenly_when_a_depth_is_unknown() {
    assert_eq!(split_shares(31, &[Some(100), None]), vec![16, 15]);
    assert_eq!(split_shares(5, &[None]), vec![5]);
    assert!(split_shares(5, &[]).is_empty());
}

/// A window with a byte bound: one connection, N and cap large.
fn bounded(max_bytes: u64, conns: usize) -> Window {
    let w = Window::new(1_000_000, conns, max_bytes);
    {
        let mut a = w.lock();
        for c in &mut a.conns {
            *c = ConnAcct {
                alive: true,
                cap: 1000,
                share: 1_000_000 / conns as u64,
                ..ConnAcct::default()
            };
        }
    }
    w
}

#[test]
fn the_byte_bound_holds_rdy_back() {
    const MIB: u64 = 1024 * 1024;
    let w = bounded(32 * MIB, 1);
    // Before any message: reckoned at 1 MiB each, so 32.
    assert_eq!(w.rdy_change(0, 0, 0), Some(32));
    // Small messages: the first size seen opens the window to the cap at once.
    let _ = w.admit(0, 100);
    assert_eq!(
        w.take_rewrites().0,
        vec![0],
        "rewritten without a settlement"
    );
    assert_eq!(w.rdy_change(0, 1, 100), Some(1000));
}

#[test]
fn the_window_is_as_many_messages_as_fit_in_the_bound() {
    let w = bounded(10_000, 1);
    // Reckoned at 1 MiB before any arrived, which is over the bound: one.
    assert_eq!(w.rdy_change(0, 0, 0), Some(1));
    let _ = w.admit(0, 1000);
    assert_eq!(
        w.rdy_change(0, 0, 0),
        Some(10),
        "1 in hand + 9000 bytes of 1000"
    );
    for _ in 0..9 {
        let _ = w.admit(0, 1000);
    }
    assert_eq!(
        w.rdy_change(0, 0, 0),
        None,
        "full: 10 in hand, RDY 10, none more"
    );
    assert_eq!(
        w.rdy_change(0, 4, 4000),
        None,
        "6 in hand + 4 more: still 10"
    );
    // A bigger message is the new reckoning: the window narrows.
    let _ = w.admit(0, 4000);
    assert_eq!(
        w.rdy_change(0, 0, 0),
        Some(7),
        "7 in hand, 10 000 bytes: none more"
    );
    assert_eq!(w.rdy_change(0, 7, 10_000), Some(2), "10 000 bytes of 4000");
}

#[test]
fn a_message_bigger_than_the_bound_still_comes() {
    let w = bounded(1000, 1);
    let _ = w.admit(0, 5000);
    assert_eq!(
        w.rdy_change(0, 0, 0),
        Some(1),
        "the one in hand, nothing more"
    );
    assert_eq!(
        w.rdy_change(0, 1, 5000),
        None,
        "none in hand: one may come, RDY stays 1"
    );
}

#[test]
fn bytes_freed_on_one_connection_reopen_another_shut_one() {
    let w = bounded(2000, 2);
    let _ = w.admit(0, 1000);
    let _ = w.take_rewrites();
    let _ = w.admit(0, 1000);
    // Connection 1 is shut by the bound: 2000 of 2000 in flight on connection 0.
    assert_eq!(w.rdy_change(1, 0, 0), None, "RDY 0 was never raised");
    assert_eq!(w.take_rewrites().0, Vec::<usize>::new());
    // Connection 0 settles; connection 1, with nothing to settle, is marked.
    let _ = w.rdy_change(0, 2, 2000);
    assert_eq!(w.take_rewrites().0, vec![1]);
    assert_eq!(w.rdy_change(1, 0, 0), Some(1));
}

#[test]
fn the_byte_bound_never_breaks_exact_n() {
    // The window simulation of `one_connection_never_gets_more_than_n` with a bound.
    let w = Window::new(500, 1, 64 * 1024);
    w.open(&[(0, true, 2500, None)], 1000);
    let mut rdy = w.rdy_change(0, 0, 0).unwrap_or(0);
    let (mut nsqd_inflight, mut held, mut delivered) = (0u64, Vec::new(), 0u64);
    for round in 0..100_000u64 {
        while nsqd_inflight < rdy && delivered < 5000 {
            let size = 100 + (delivered * 7919) % 20_000;
            nsqd_inflight += 1;
            delivered += 1;
            assert!(
                matches!(w.admit(0, size), Admission::Admitted { .. }),
                "past N"
            );
            held.push(size);
        }
        let _ = w.take_rewrites();
        if held.is_empty() {
            break;
        }
        let k = held.len().min(1 + (round % 7) as usize);
        let bytes: u64 = held.drain(..k).sum();
        if let Some(r) = w.rdy_change(0, k as u64, bytes) {
            rdy = r;
        }
        nsqd_inflight -= k as u64;
    }
    assert_eq!(delivered, 500);
    assert_eq!(rdy, 0);
}
