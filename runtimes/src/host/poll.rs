//! How long a Preview 1 `poll_oneoff` would block, read from the guest's subscriptions before
//! the call is made. Wall-time limits cannot reach into a host call (neither epochs nor fuel),
//! so the embedded runtimes shadow `poll_oneoff`: a clock-only poll that would wake after the
//! case's deadline sleeps until the deadline and ends the guest there as a timeout, and the
//! guest's store is freed as after any other ending, instead of being left to a watchdog.
//!
//! Preview 1 layout (wasi-libc's `wasi/api.h`, `__wasi_subscription_t`): a subscription is 48
//! bytes, userdata u64 @0, tag u8 @8 (0 = clock), clock id u32 @16, timeout u64 @24, precision
//! u64 @32, flags u16 @40 (bit 0 = absolute).

use std::time::{Duration, Instant};

pub const SUBSCRIPTION_BYTES: usize = 48;
const REALTIME: u32 = 0;
const MONOTONIC: u32 = 1;

/// The wait of a poll on `subs` (`n` subscriptions, the guest's bytes from the subscriptions'
/// address on): the earliest clock's, when every subscription is a clock the implementation
/// sleeps on. `now(clock id)` gives the guest's current reading of a clock, in ns, for an
/// absolute subscription; it is asked only then, and `None` (a clock it cannot read, or one the
/// implementation does not sleep on when absolute) leaves the call to the implementation.
/// `None` also for a descriptor subscription (it may return at once or block on I/O, the
/// watchdog's case) and for bytes that do not hold `n` subscriptions.
pub fn clock_wait(
    subs: &[u8],
    n: usize,
    mut now: impl FnMut(u32) -> Option<u64>,
) -> Option<Duration> {
    if n == 0 {
        return None;
    }
    let mut wait: Option<Duration> = None;
    for i in 0..n {
        let at = i.checked_mul(SUBSCRIPTION_BYTES)?;
        let s = subs.get(at..at.checked_add(SUBSCRIPTION_BYTES)?)?;
        if s[8] != 0 {
            return None;
        }
        let id = u32::from_le_bytes(s[16..20].try_into().ok()?);
        let timeout = u64::from_le_bytes(s[24..32].try_into().ok()?);
        let absolute = s[40] & 1 == 1;
        let ns = match (absolute, id) {
            (false, REALTIME | MONOTONIC) => timeout,
            // A lone relative sleep is a plain thread sleep on any clock id.
            (false, _) if n == 1 => timeout,
            (true, REALTIME | MONOTONIC) => timeout.saturating_sub(now(id)?),
            _ => return None,
        };
        let w = Duration::from_nanos(ns);
        wait = Some(wait.map_or(w, |x| x.min(w)));
    }
    wait
}

/// Whether a poll that would block for `wait` ([`clock_wait`]) wakes after `deadline`. If so,
/// the guest has slept until the deadline when this returns, and the caller ends it there as a
/// timeout; if not, nothing happened and the call is the implementation's.
pub fn slept_to_deadline(wait: Option<Duration>, deadline: Instant) -> bool {
    let left = deadline.saturating_duration_since(Instant::now());
    match wait {
        Some(wait) if wait > left => {
            std::thread::sleep(left);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(tag: u8, id: u32, timeout: u64, absolute: bool) -> Vec<u8> {
        let mut s = vec![0u8; SUBSCRIPTION_BYTES];
        s[8] = tag;
        s[16..20].copy_from_slice(&id.to_le_bytes());
        s[24..32].copy_from_slice(&timeout.to_le_bytes());
        s[40] = absolute as u8;
        s
    }

    #[test]
    fn the_earliest_clock_decides_and_anything_else_is_left_to_the_implementation() {
        let never = |_| -> Option<u64> { panic!("no absolute subscription here") };
        let two = [sub(0, 1, 5_000, false), sub(0, 0, 2_000, false)].concat();
        assert_eq!(
            clock_wait(&two, 2, never),
            Some(Duration::from_nanos(2_000))
        );
        // A descriptor among the clocks: unknown.
        let fd = [sub(0, 1, 5_000, false), sub(1, 0, 0, false)].concat();
        assert_eq!(clock_wait(&fd, 2, never), None);
        // A cputime clock sleeps only alone.
        assert_eq!(
            clock_wait(&sub(0, 2, 7, false), 1, never),
            Some(Duration::from_nanos(7))
        );
        let cpu = [sub(0, 2, 7, false), sub(0, 1, 9, false)].concat();
        assert_eq!(clock_wait(&cpu, 2, never), None);
        // Fewer bytes than subscriptions, or none asked for.
        assert_eq!(clock_wait(&sub(0, 1, 1, false), 2, never), None);
        assert_eq!(clock_wait(&[], 0, never), None);
    }

    #[test]
    fn an_absolute_deadline_is_measured_from_the_guests_own_clock() {
        let s = sub(0, 1, 10_000, true);
        assert_eq!(
            clock_wait(&s, 1, |id| (id == 1).then_some(4_000)),
            Some(Duration::from_nanos(6_000))
        );
        // Past: no wait. Unreadable: unknown.
        assert_eq!(clock_wait(&s, 1, |_| Some(20_000)), Some(Duration::ZERO));
        assert_eq!(clock_wait(&s, 1, |_| None), None);
    }

    #[test]
    fn only_a_wait_past_the_deadline_sleeps_and_only_until_the_deadline() {
        let start = Instant::now();
        let deadline = start + Duration::from_millis(50);
        assert!(!slept_to_deadline(None, deadline));
        assert!(!slept_to_deadline(
            Some(Duration::from_millis(10)),
            deadline
        ));
        assert!(start.elapsed() < Duration::from_millis(50), "slept");
        assert!(slept_to_deadline(Some(Duration::from_secs(3600)), deadline));
        assert!(Instant::now() >= deadline);
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
